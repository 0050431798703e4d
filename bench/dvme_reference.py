"""The PyTorch modules equivalent to @medssl/dvme's (DVME, DME, concatenation), and a timed training run.

Layer for layer what packages/dvme/src/model.ts computes: nn.Linear projections per backbone, pre-norm
Transformer blocks over the K backbone tokens (separate query/key/value/output projections, exact-erf
GELU MLP, LayerNorm eps 1e-5), final norm, concatenation, projection, then GELU, dropout and the
classifier; DME's softmax over backbones of a . p_k; concatenation's single linear layer. Parameter names
map one to one onto the TypeScript module's (packages/dvme/src/__fixtures__/make_fixtures.py writes
parity fixtures from these classes).

Run by bench/dvme.ts (Debian's /usr/bin/python3, torch 1.13):
    /usr/bin/python3 dvme_reference.py FOLDER CONFIG_JSON
FOLDER holds train_<k>.npy / val_<k>.npy features and train_targets.npy / val_targets.npy; the features
are standardised by the training rows' statistics when loaded (as the TypeScript module does per batch).
CONFIG_JSON gives the sizes, training options, threads and epochs. Prints one JSON line: wall and CPU
seconds per epoch (training steps plus scoring the validation split), losses, validation AUC per epoch.
"""
import json
import math
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.output = nn.Linear(width, width)

    def forward(self, x):
        batch, sources, width = x.shape
        head_width = width // self.heads

        def split(t):
            return t.reshape(batch, sources, self.heads, head_width).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probabilities = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(head_width), dim=-1)
        mixed = (probabilities @ v).transpose(1, 2).reshape(batch, sources, width)
        return self.output(mixed), probabilities


class Mlp(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.hidden = nn.Linear(width, hidden)
        self.output = nn.Linear(hidden, width)


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio, dropout):
        super().__init__()
        self.attentionNorm = nn.LayerNorm(width, eps=1e-5)
        self.attention = Attention(width, heads)
        self.mlpNorm = nn.LayerNorm(width, eps=1e-5)
        self.mlp = Mlp(width, width * mlp_ratio)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        attended, probabilities = self.attention(self.attentionNorm(x))
        x = x + self.dropout(attended)
        hidden = self.dropout(F.gelu(self.mlp.hidden(self.mlpNorm(x))))
        x = x + self.dropout(self.mlp.output(hidden))
        return x, probabilities


class Dvme(nn.Module):
    def __init__(self, dimensions, outputs, projection=512, blocks=1, heads=8, mlp_ratio=4, dropout=0.1, source_embeddings=False):
        super().__init__()
        self.projections = nn.ModuleList([nn.Linear(d, projection) for d in dimensions])
        self.sourceEmbedding = nn.Parameter(torch.randn(len(dimensions), projection) * 0.02) if source_embeddings else None
        self.blocks = nn.ModuleList([Block(projection, heads, mlp_ratio, dropout) for _ in range(blocks)])
        self.finalNorm = nn.LayerNorm(projection, eps=1e-5)
        self.fuse = nn.Linear(len(dimensions) * projection, projection)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(projection, outputs)
        initialise(self)

    def forward(self, inputs):
        tokens = torch.stack([project(x) for project, x in zip(self.projections, inputs)], dim=1)
        if self.sourceEmbedding is not None:
            tokens = tokens + self.sourceEmbedding
        attention = []
        for block in self.blocks:
            tokens, probabilities = block(tokens)
            attention.append(probabilities)
        fused = self.fuse(self.finalNorm(tokens).flatten(1))
        return self.classifier(self.dropout(F.gelu(fused))), attention


class Dme(nn.Module):
    def __init__(self, dimensions, outputs, projection=512, dropout=0.1):
        super().__init__()
        self.projections = nn.ModuleList([nn.Linear(d, projection) for d in dimensions])
        self.attention = nn.Linear(projection, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(projection, outputs)
        initialise(self)

    def forward(self, inputs):
        projected = torch.stack([project(x) for project, x in zip(self.projections, inputs)], dim=1)
        weights = torch.softmax(self.attention(projected).squeeze(-1), dim=1)
        fused = (projected * weights.unsqueeze(-1)).sum(1)
        return self.classifier(self.dropout(F.gelu(fused))), weights


class Concatenation(nn.Module):
    def __init__(self, dimensions, outputs):
        super().__init__()
        self.classifier = nn.Linear(sum(dimensions), outputs)
        initialise(self)

    def forward(self, inputs):
        return self.classifier(torch.cat(list(inputs), dim=1)), None


def initialise(module):
    """Xavier-uniform weights and zero biases, as the TypeScript module initialises (from its own seeded stream)."""
    for child in module.modules():
        if isinstance(child, nn.Linear):
            nn.init.xavier_uniform_(child.weight)
            if child.bias is not None:
                nn.init.zeros_(child.bias)


def parameter_groups(module, weight_decay):
    """Weight decay on the weights of linear layers only (not biases, norms or source embeddings)."""
    decay, other = [], []
    for name, parameter in module.named_parameters():
        is_linear_weight = parameter.dim() >= 2 and name != 'sourceEmbedding'
        (decay if is_linear_weight else other).append(parameter)
    return [{'params': decay, 'weight_decay': weight_decay}, {'params': other, 'weight_decay': 0.0}]


def schedule_factor(step, total_steps, warmup_steps):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1 + math.cos(math.pi * progress))


def build(kind, dimensions, outputs, config):
    if kind == 'dvme':
        return Dvme(dimensions, outputs, config['projection'], config['blocks'], config['heads'], config['mlpRatio'], config['dropout'], config['sourceEmbeddings'])
    if kind == 'dme':
        return Dme(dimensions, outputs, config['projection'], config['dropout'])
    return Concatenation(dimensions, outputs)


def auc(targets, scores):
    order = torch.argsort(scores)
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    positives = targets == 1
    count = int(positives.sum())
    return float((ranks[positives].sum() - count * (count + 1) / 2) / (count * (len(scores) - count)))


def main():
    import numpy as np

    folder, config = sys.argv[1], json.loads(sys.argv[2])
    torch.set_num_threads(config['threads'])
    torch.manual_seed(config['seed'])
    sources = len(config['dimensions'])
    train = [torch.from_numpy(np.load(f'{folder}/train_{k}.npy')) for k in range(sources)]
    val = [torch.from_numpy(np.load(f'{folder}/val_{k}.npy')) for k in range(sources)]
    for k in range(sources):
        mean, deviation = train[k].mean(0), train[k].std(0, unbiased=False).clamp_min(1e-12)
        train[k], val[k] = (train[k] - mean) / deviation, (val[k] - mean) / deviation
    train_targets = torch.from_numpy(np.load(f'{folder}/train_targets.npy')).long()
    val_targets = torch.from_numpy(np.load(f'{folder}/val_targets.npy')).long()
    model = build(config['kind'], config['dimensions'], config['outputs'], config)
    optimizer = torch.optim.AdamW(parameter_groups(model, config['weightDecay']), lr=config['learningRate'], betas=(0.9, 0.999), eps=1e-8)
    rows, batch_size, epochs = len(train_targets), config['batchSize'], config['epochs']
    steps_per_epoch = math.ceil(rows / batch_size)
    total_steps = steps_per_epoch * config['scheduleEpochs']
    warmup_steps = max(1, round(config['warmupFraction'] * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule_factor(step, total_steps, warmup_steps))
    seconds, cpu_seconds, losses, validation = [], [], [], []
    for _ in range(epochs):
        started, cpu_started = time.perf_counter(), time.process_time()
        model.train()
        order = torch.randperm(rows)
        loss_sum = 0.0
        for start in range(0, rows, batch_size):
            rows_of_batch = order[start:start + batch_size]
            logits, _ = model([x[rows_of_batch] for x in train])
            loss = F.cross_entropy(logits, train_targets[rows_of_batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss) * len(rows_of_batch)
        model.eval()
        with torch.no_grad():
            scores = torch.cat([model([x[start:start + 1024] for x in val])[0] for start in range(0, len(val_targets), 1024)])
        validation.append(auc(val_targets, scores[:, 1] - scores[:, 0]))
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
        losses.append(loss_sum / rows)
    print(json.dumps({
        'seconds': seconds,
        'cpuSeconds': cpu_seconds,
        'losses': losses,
        'validation': validation,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'parameters': sum(p.numel() for p in model.parameters()),
    }))


if __name__ == '__main__':
    main()
