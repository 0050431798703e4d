"""Writes parity.json: small DVME, DME and concatenation modules in PyTorch (the classes of
bench/dvme_reference.py), their inputs, outputs, losses and parameter gradients, and a few AdamW steps
with the warm-up + cosine schedule. model.test.ts loads the same parameters into the TypeScript modules
and compares.

    /usr/bin/python3 packages/dvme/src/__fixtures__/make_fixtures.py   (torch 1.13, Debian's python3-torch)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', '..', '..', 'bench'))
from dvme_reference import Concatenation, Dme, Dvme, parameter_groups, schedule_factor  # noqa: E402

DIMENSIONS = [5, 4, 6]
ROWS = 7


def tensor(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.detach().reshape(-1)]}


def case(seed, model, outputs, task):
    torch.manual_seed(seed)
    # Initial biases are 0 and norm gains 1: perturb every parameter so that the fixture checks each is used.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    inputs = [torch.randn(ROWS, d).requires_grad_() for d in DIMENSIONS]
    model.eval()  # dropout off: the fixtures compare deterministic passes
    logits, inspected = model(inputs)
    if task == 'multilabel':
        targets = (torch.rand(ROWS, outputs) < 0.5).float()
        loss = F.binary_cross_entropy_with_logits(logits, targets)
        target_list = [int(v) for v in targets.reshape(-1)]
    else:
        targets = torch.randint(0, outputs, (ROWS,))
        loss = F.cross_entropy(logits, targets)
        target_list = [int(v) for v in targets]
    loss.backward()
    result = {
        'task': task,
        'outputs': outputs,
        'dimensions': DIMENSIONS,
        'parameters': {n: tensor(p) for n, p in model.named_parameters()},
        'gradients': {n: tensor(p.grad) for n, p in model.named_parameters()},
        'inputs': [tensor(x) for x in inputs],
        'inputGradients': [tensor(x.grad) for x in inputs],
        'targets': target_list,
        'logits': tensor(logits),
        'loss': float(loss),
    }
    if isinstance(inspected, list):
        result['attention'] = [tensor(a) for a in inspected]
    elif inspected is not None:
        result['sourceWeights'] = tensor(inspected)
    return result


def adamw_case():
    torch.manual_seed(7)
    weight = torch.nn.Parameter(torch.randn(3, 2))
    bias = torch.nn.Parameter(torch.randn(2))
    initial = {'weight': tensor(weight), 'bias': tensor(bias)}
    optimizer = torch.optim.AdamW([{'params': [weight], 'weight_decay': 0.1}, {'params': [bias], 'weight_decay': 0.0}], lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    total, warmup = 6, 2
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule_factor(step, total, warmup))
    steps = []
    for _ in range(total):
        grad_weight, grad_bias = torch.randn(3, 2), torch.randn(2)
        factor = scheduler.get_last_lr()[0] / 0.05
        weight.grad, bias.grad = grad_weight, grad_bias
        optimizer.step()
        scheduler.step()
        steps.append({'gradients': {'weight': tensor(grad_weight), 'bias': tensor(grad_bias)}, 'factor': factor,
                      'weight': tensor(weight), 'bias': tensor(bias)})
    return {'learningRate': 0.05, 'weightDecay': 0.1, 'totalSteps': total, 'warmupSteps': warmup, 'initial': initial, 'steps': steps}


def main():
    torch.manual_seed(2021)
    fixtures = {
        'torch': torch.__version__,
        'dvme': case(1, Dvme(DIMENSIONS, 3, projection=8, blocks=2, heads=2, mlp_ratio=2, dropout=0.0, source_embeddings=True), 3, 'multiclass'),
        'dme': case(2, Dme(DIMENSIONS, 2, projection=8, dropout=0.0), 2, 'binary'),
        'concat': case(3, Concatenation(DIMENSIONS, 3), 3, 'multilabel'),
        'adamw': adamw_case(),
    }
    with open(os.path.join(here, 'parity.json'), 'w') as handle:
        json.dump(fixtures, handle)


if __name__ == '__main__':
    main()
