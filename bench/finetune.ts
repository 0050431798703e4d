// Finetuning (@medssl/protocol-finetune) of ResNet-50 on tfjs-wasm, in one run:
//  1. the time estimate `medssl eval finetune` prints (a few timed steps, multiplied out) against the time
//     the run then takes;
//  2. a training step against PyTorch's (Debian's torch 1.13 on the CPU, torchvision's ResNet-50, AdamW), same
//     input size, batch and thread count;
//  3. the training loss, validation AUC per epoch and test AUC on the real PCam samples in ../shared/data/pcam
//     (300 / 100 / 100 JPEG patches, 96x96).
//
//   cd bench && pnpm finetune [--size 64] [--batch 16] [--epochs 4] [--limit N] [--frozen-stages -1]
//     [--backbone-lr 1e-4] [--head-lr 1e-3] [--threads 1] [--no-torch]
//
// random:resnet50 weights (seeded): nothing to download. tfjs-wasm runs on one thread in Node, so PyTorch gets
// torch.set_num_threads(1) by default. The machine is shared and noisy: compare the numbers of one run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { random, randomWeights } from '@medssl/backbone-supervised';
import { folder } from '@medssl/dataset-folder';
import { estimateSeconds, formatSeconds, measureThroughput, runFinetune, type ImageSplit } from '@medssl/protocol-finetune';
import type { TrainableBackboneFactory } from '@medssl/training';
import { createTfjsModel, useTfjsBackend } from '@medssl/runtime-tfjs';
import type { Dataset, Preprocessing, RawImage, Sample } from '@medssl/spec';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const SIZE = Number(argument('size', '64'));
const BATCH = Number(argument('batch', '16'));
const EPOCHS = Number(argument('epochs', '4'));
const LIMIT = Number(argument('limit', '0'));
const FROZEN_STAGES = Number(argument('frozen-stages', '-1'));
const BACKBONE_LR = Number(argument('backbone-lr', '1e-4'));
const HEAD_LR = Number(argument('head-lr', '1e-3'));
const THREADS = Number(argument('threads', '1'));
const RUN_TORCH = !process.argv.includes('--no-torch');
const PCAM = join(import.meta.dirname, '../../shared/data/pcam/data');

if (!existsSync(PCAM)) {
  console.error(`the PCam samples are not at ${PCAM}; see ../shared/data/README.md`);
  process.exit(1);
}

async function imageSplit(dataset: Dataset, split: string): Promise<ImageSplit> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples(split)) samples.push(sample);
  const chosen =
    LIMIT > 0 && LIMIT < samples.length ? Array.from({ length: LIMIT }, (_, index) => samples[Math.floor((index * samples.length) / LIMIT)]!) : samples;
  const images: RawImage[] = await Promise.all(chosen.map((sample) => sample.decode()));
  return {
    ids: chosen.map((sample) => sample.id),
    targets: { type: 'class', data: Int32Array.from(chosen, (sample) => sample.target as number), shape: [chosen.length] },
    image: async (row) => images[row]!,
  };
}

/** Median seconds of a ResNet-50 training step in PyTorch (forward, cross-entropy, backward, AdamW). */
function torchStepSeconds(): number {
  const script = `
import time, torch, torchvision
torch.set_num_threads(${THREADS})
torch.manual_seed(0)
model = torchvision.models.resnet50(num_classes=2)
${
  FROZEN_STAGES >= 0
    ? `for module in [model.conv1, model.bn1] + [getattr(model, f'layer{i}') for i in range(1, ${FROZEN_STAGES + 1})]:
    module.eval()
    for parameter in module.parameters(): parameter.requires_grad_(False)`
    : ''
}
model.train()
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.01)
images = torch.randn(${BATCH}, 3, ${SIZE}, ${SIZE})
targets = torch.randint(0, 2, (${BATCH},))
times = []
for step in range(4):
    started = time.perf_counter()
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(images), targets)
    loss.backward()
    optimizer.step()
    times.append(time.perf_counter() - started)
print(sorted(times[1:])[1])
`;
  return Number(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' }).trim());
}

await useTfjsBackend('wasm');
const backbone = random({ architecture: 'resnet50' });
const weights = await randomWeights(backbone, 0);
const createBackbone: TrainableBackboneFactory = async (tensors) =>
  createTfjsModel(backbone, tensors ? { ...weights, tensors } : weights, FROZEN_STAGES >= 0 ? { frozenStages: FROZEN_STAGES } : {});
const preprocessing: Preprocessing = { ...backbone.preprocessing, resize: { size: SIZE, interpolation: 'bilinear' }, centerCrop: SIZE };
const dataset = await folder({ root: PCAM, classes: ['0', '1'] });
const [train, val, test] = await Promise.all(['train', 'val', 'test'].map((split) => imageSplit(dataset, split)));
console.log(
  `PCam samples: ${train!.ids.length} train, ${val!.ids.length} val, ${test!.ids.length} test; ResNet-50 (random weights) at ${SIZE}x${SIZE}, batch ${BATCH}, ${EPOCHS} epochs, frozen stages ${FROZEN_STAGES}`,
);

const sample = await Promise.all(Array.from({ length: BATCH }, (_, row) => train!.image(row)));
const throughput = await measureThroughput({
  backbone: createBackbone,
  preprocessing,
  task: dataset.task,
  images: sample,
  modality: 'pathology',
  batchSize: BATCH,
});
const predicted = estimateSeconds(throughput, { trainRows: [train!.ids.length], val: val!.ids.length, test: test!.ids.length, epochs: EPOCHS });
console.log(
  `estimate: ${(throughput.trainSecondsPerImage * 1000).toFixed(0)} ms per training image (AdamW ${throughput.optimizerSecondsPerStep.toFixed(2)} s per step), ` +
    `${(throughput.evaluationSecondsPerImage * 1000).toFixed(0)} ms per scored image: the run should take ${formatSeconds(predicted)}`,
);

const started = performance.now();
const result = await runFinetune(
  { task: dataset.task, train: train!, val: val!, test: test!, seed: 0 },
  {
    backbone: createBackbone,
    preprocessing,
    modality: 'pathology',
    epochs: EPOCHS,
    patience: EPOCHS,
    batchSize: BATCH,
    backboneLearningRate: BACKBONE_LR,
    headLearningRate: HEAD_LR,
    onEpoch: (record) =>
      console.log(
        `  epoch ${record.epoch + 1}: loss ${record.loss.toFixed(4)}, val auc ${record.validation.auc!.toFixed(4)}${record.best ? ' (best)' : ''}, ${record.seconds.toFixed(1)} s`,
      ),
  },
);
const actual = (performance.now() - started) / 1000;
console.log(
  `run: ${formatSeconds(actual)} (estimate / actual = ${(predicted / actual).toFixed(2)}); test auc ${result.metrics.auc!.toFixed(4)} with epoch ${result.bestEpoch + 1}'s weights`,
);

if (RUN_TORCH) {
  const torchSeconds = torchStepSeconds();
  const tfjsStep = throughput.trainSecondsPerImage * BATCH;
  console.log(
    `training step, batch ${BATCH} at ${SIZE}x${SIZE}, ${THREADS} thread(s): tfjs-wasm ${tfjsStep.toFixed(2)} s, PyTorch ${torchSeconds.toFixed(2)} s (tfjs / PyTorch = ${(tfjsStep / torchSeconds).toFixed(2)})`,
  );
}
