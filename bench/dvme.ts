// Training time per epoch of @medssl/dvme (TensorFlow.js, wasm backend) against the equivalent PyTorch
// module (bench/dvme_reference.py, Debian's torch 1.13 CPU), on the same data, in one run: 10,000
// training rows from 3 backbones (2048, 2048 and 1536 dimensions, as SimCLR, SwAV and DINO ViT-S/16
// embeddings), 2 classes, batch 256, the default DVME configuration (512 wide, 1 block, 8 heads, MLP
// ratio 4, dropout 0.1), AdamW with warm-up + cosine. An epoch is the training steps over every row plus
// scoring the 2,500-row validation split, in both.
//
//   cd bench && pnpm exec tsx --conditions=@medssl/source dvme.ts [--kinds dvme,dme,concat] [--epochs 4]
//     [--rows 10000] [--val-rows 2500] [--dimensions 2048,2048,1536] [--batch 256] [--threads 1] [--no-torch]
//
// Threads: tfjs-wasm runs on one thread in Node (its threaded build needs cross-origin isolation and
// workers), so PyTorch gets torch.set_num_threads(1) by default. The first epoch of each is a warm-up
// (allocation, XNNPACK weight packing, the JIT); the medians are over the epochs after it. The machine is
// shared and noisy: compare the numbers of one run, and prefer CPU time over wall time.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@medssl/core';
import { writeNpyFile } from '@medssl/arrays/node';
import { DEFAULT_ARCHITECTURE, DEFAULT_TRAINING, TFJS_CORE_VERSION, fitFusion, type FusionKind } from '@medssl/dvme';
import { useTfjsBackend } from '@medssl/runtime-tfjs';
import type { FeatureSet, Task } from '@medssl/spec';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const KINDS = argument('kinds', 'dvme').split(',') as FusionKind[];
const EPOCHS = Number(argument('epochs', '4'));
const ROWS = Number(argument('rows', '10000'));
const VAL_ROWS = Number(argument('val-rows', '2500'));
const DIMENSIONS = argument('dimensions', '2048,2048,1536').split(',').map(Number);
const BATCH = Number(argument('batch', '256'));
const THREADS = Number(argument('threads', '1'));
const RUN_TORCH = !process.argv.includes('--no-torch');
const task: Task = { type: 'binary', classes: ['normal', 'abnormal'], primaryMetric: 'auc' };

/**
 * Non-negative, right-skewed features (softplus of Gaussians, as pooled post-ReLU activations are) with
 * a weak class signal along a random direction per backbone: learnable, but not in one epoch.
 */
function featureSets(split: 'train' | 'val', rows: number, seed: number): FeatureSet[] {
  const rng = createRng(seed);
  const classes = Int32Array.from({ length: rows }, () => (rng.next() < 0.5 ? 1 : 0));
  return DIMENSIONS.map((dimension, source) => {
    const world = createRng(1000 + source);
    const direction = Float32Array.from({ length: dimension }, () => world.normal() * 0.02);
    const features = new Float32Array(rows * dimension);
    for (let row = 0; row < rows; row++) {
      const shift = classes[row]! === 1 ? 1 : -1;
      for (let column = 0; column < dimension; column++) {
        const value = rng.normal() + shift * direction[column]! - 0.5;
        features[row * dimension + column] = Math.log1p(Math.exp(value));
      }
    }
    return {
      features: { data: features, shape: [rows, dimension] },
      targets: { type: 'class', data: classes, shape: [rows] },
      ids: Array.from({ length: rows }, (_, row) => `${split}-${row}`),
      manifest: {
        format: 'medssl.features/v1',
        dataset: { id: 'bench:dvme', version: '1' },
        task,
        split,
        backbone: `synthetic:backbone-${source}`,
        weightsSha256: String(source).repeat(64),
        preprocessing: { channels: 3 },
        runtime: { id: 'synthetic', provider: 'cpu', precision: 'float32' },
        count: rows,
        dimension,
        created: '1970-01-01T00:00:00.000Z',
      },
    } satisfies FeatureSet;
  });
}

/** Multiply-adds of one forward pass per sample, split into the backbone projections and the rest. */
function forwardMacs(kind: FusionKind): { projections: number; rest: number } {
  const { projection: width, blocks, mlpRatio } = DEFAULT_ARCHITECTURE;
  const sources = DIMENSIONS.length;
  const inputs = DIMENSIONS.reduce((sum, dimension) => sum + dimension, 0);
  if (kind === 'concat') return { projections: inputs * 2, rest: 0 };
  const head = width * 2;
  if (kind === 'dme') return { projections: inputs * width, rest: sources * width + head };
  const block = sources * (4 * width * width + 2 * width * width * mlpRatio) + 2 * sources * sources * width;
  return { projections: inputs * width, rest: blocks * block + sources * width * width + head };
}

/** FLOPs of an epoch: training (projections: forward + weight gradient; the rest: forward + both gradients) and scoring the validation split. */
function epochFlops(kind: FusionKind): number {
  const { projections, rest } = forwardMacs(kind);
  return 2 * (ROWS * (2 * projections + 3 * rest) + VAL_ROWS * (projections + rest));
}

interface TorchResult {
  seconds: number[];
  cpuSeconds: number[];
  losses: number[];
  validation: number[];
  threads: number;
  torch: string;
  parameters: number;
}

function runTorch(kind: FusionKind, folder: string): TorchResult | string {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return 'no /usr/bin/python3';
  const config = {
    kind,
    dimensions: DIMENSIONS,
    outputs: 2,
    ...DEFAULT_ARCHITECTURE,
    learningRate: DEFAULT_TRAINING.learningRate,
    weightDecay: DEFAULT_TRAINING.weightDecay,
    warmupFraction: DEFAULT_TRAINING.warmupFraction,
    batchSize: BATCH,
    epochs: EPOCHS,
    scheduleEpochs: EPOCHS,
    threads: THREADS,
    seed: 0,
  };
  try {
    const output = execFileSync(python, [join(import.meta.dirname, 'dvme_reference.py'), folder, JSON.stringify(config)], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(output.trim().split('\n').pop()!) as TorchResult;
  } catch (error) {
    return (error as Error).message.split('\n').slice(0, 3).join(' ');
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const list = (values: number[]) => values.map((value) => value.toFixed(1)).join(', ');

const backend = await useTfjsBackend('wasm');
const generationStarted = performance.now();
const train = featureSets('train', ROWS, 1);
const val = featureSets('val', VAL_ROWS, 2);
console.log(
  `${ROWS} training rows × [${DIMENSIONS.join(', ')}] features, ${VAL_ROWS} validation rows, 2 classes, batch ${BATCH}, ${EPOCHS} epochs ` +
    `(the first a warm-up); tfjs-core ${TFJS_CORE_VERSION} on ${backend} (1 thread), PyTorch on ${THREADS} thread${THREADS === 1 ? '' : 's'} ` +
    `(data made in ${((performance.now() - generationStarted) / 1000).toFixed(1)} s)`,
);

let folder: string | undefined;
if (RUN_TORCH) {
  folder = mkdtempSync(join(tmpdir(), 'medssl-bench-dvme-'));
  for (const [split, sets] of [
    ['train', train],
    ['val', val],
  ] as const) {
    for (const [source, set] of sets.entries())
      await writeNpyFile(join(folder, `${split}_${source}.npy`), { dtype: 'float32', shape: [...set.features.shape], data: set.features.data });
    await writeNpyFile(join(folder, `${split}_targets.npy`), { dtype: 'int32', shape: [sets[0]!.targets.shape[0]], data: sets[0]!.targets.data as Int32Array });
  }
}

try {
  for (const kind of KINDS) {
    const cpu: number[] = [];
    let cpuMark = process.cpuUsage();
    const report = await fitFusion({ task, train, val, test: val, seed: 0 }, kind, {
      epochs: EPOCHS,
      patience: EPOCHS + 1,
      batchSize: BATCH,
      onEpoch: () => {
        const used = process.cpuUsage(cpuMark);
        cpu.push((used.user + used.system) / 1e6);
        cpuMark = process.cpuUsage();
      },
    });
    const wall = report.history.map((record) => record.seconds);
    const flops = epochFlops(kind);
    const oursWall = median(wall.slice(1));
    const oursCpu = median(cpu.slice(1));
    console.log(`\n${kind}: ${report.parameterCount.toLocaleString('en')} parameters, ${(flops / 1e9).toFixed(0)} GFLOP per epoch (matrix products)`);
    console.log(
      `  medssl (tfjs ${report.backend}): ${oursWall.toFixed(1)} s per epoch wall, ${oursCpu.toFixed(1)} s CPU (median of epochs 2-${EPOCHS}; ` +
        `wall ${list(wall)}; CPU ${list(cpu)}), ${(flops / oursCpu / 1e9).toFixed(1)} GFLOP/s of CPU time; ` +
        `loss ${report.history.map((record) => record.trainLoss.toFixed(3)).join(' ')}, val AUC ${report.history.map((record) => record.validation.toFixed(3)).join(' ')}`,
    );
    if (!folder) continue;
    const reference = runTorch(kind, folder);
    if (typeof reference === 'string') {
      console.log(`  PyTorch not measured: ${reference}`);
      continue;
    }
    const theirsWall = median(reference.seconds.slice(1));
    const theirsCpu = median(reference.cpuSeconds.slice(1));
    console.log(
      `  PyTorch ${reference.torch} (${reference.threads} thread${reference.threads === 1 ? '' : 's'}, ${reference.parameters.toLocaleString('en')} parameters): ${theirsWall.toFixed(1)} s per epoch wall, ` +
        `${theirsCpu.toFixed(1)} s CPU (wall ${list(reference.seconds)}; CPU ${list(reference.cpuSeconds)}), ${(flops / theirsCpu / 1e9).toFixed(1)} GFLOP/s of CPU time; ` +
        `loss ${reference.losses.map((value) => value.toFixed(3)).join(' ')}, val AUC ${reference.validation.map((value) => value.toFixed(3)).join(' ')}`,
    );
    console.log(
      `  ratio: medssl takes ${(oursWall / theirsWall).toFixed(2)}x PyTorch's wall time per epoch, ${(oursCpu / theirsCpu).toFixed(2)}x its CPU time`,
    );
  }
} finally {
  if (folder) rmSync(folder, { recursive: true, force: true });
}
