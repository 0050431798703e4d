// One training step of ResNet-50 and ViT-S/16 at batch 16, 224x224, on @medssl/runtime-tfjs's wasm
// backend against PyTorch CPU doing the same step, in one run: train-mode forward, the loss
// sum(embedding ⊙ R) / batch, backward through every weight, one AdamW update. PyTorch runs at its best
// settings here (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, channels_last for ResNet-50) on all threads;
// tfjs-wasm runs on one thread (Node has no threaded wasm backend). The run also measures tfjs-wasm's
// matrix-product ceiling, to say how much of it a step reaches.
//
//   pnpm --filter @medssl/bench tfjs-train-step [--models resnet50,vits16] [--repeats 2] [--batch 16] [--no-pytorch]
//
// The machine is shared and noisy: compare numbers of one run (medians over repeats after a warm-up
// step), never absolute times across runs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createTfjsModel, useTfjsBackend } from '@medssl/runtime-tfjs';
import { AdamW } from '@medssl/training';
import type { Backbone } from '@medssl/spec';
import { architectures, classTokenEmbedding, pooledEmbedding, randomCanonicalWeights, withDimension } from '@medssl/weights';
import * as tf from '@tensorflow/tfjs-core';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const MODELS = argument('models', 'resnet50,vits16').split(',') as ('resnet50' | 'vits16')[];
const REPEATS = Number(argument('repeats', '2'));
const BATCH = Number(argument('batch', '16'));
const SIZE = 224;
const THREADS = cpus().length;
const python = '/usr/bin/python3';
const reference = fileURLToPath(new URL('./tfjs_train_step_reference.py', import.meta.url));
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Multiply-accumulates of one forward pass of one 224x224 image (the usual counts: convolutions and products). */
const FORWARD_MACS = { resnet50: 4.09e9, vits16: 4.6e9 };

/** `sum(x ⊙ projection) / batch` with its gradient (tfjs-core registers no gradient for mul and sum by itself). */
function linearLoss(x: tf.Tensor, projection: tf.Tensor): tf.Scalar {
  return tf.customGrad((input: tf.Tensor | tf.GradSaveFunc) => ({
    value: tf.div(tf.sum(tf.mul(input as tf.Tensor, projection)), BATCH) as tf.Scalar,
    gradFunc: (dy: tf.Scalar) => tf.mul(dy, tf.div(projection, BATCH)),
  }))(x);
}

function backbone(name: 'resnet50' | 'vits16'): Pick<Backbone, 'id' | 'architecture' | 'embedding'> {
  const architecture = architectures[name];
  return name === 'resnet50'
    ? { id: 'random:resnet50', architecture, embedding: withDimension(architecture, pooledEmbedding) }
    : { id: 'random:vits16', architecture, embedding: withDimension(architecture, classTokenEmbedding(4)) };
}

/** Seconds of each timed step (after one warm-up step) of tfjs on the active backend. */
async function tfjsSteps(name: 'resnet50' | 'vits16'): Promise<{ seconds: number[]; peakMebibytes: number }> {
  const source = backbone(name);
  const model = createTfjsModel(source, await randomCanonicalWeights(source.architecture, 0));
  const parameters = model.trainableVariables.map((variable) => ({ variable, decay: variable.rank > 1 }));
  const optimizer = new AdamW([{ parameters, learningRate: 1e-4, weightDecay: 0.05 }]);
  const images = tf.randomNormal([BATCH, 3, SIZE, SIZE], 0, 1, 'float32', 1) as tf.Tensor4D;
  const projection = tf.randomNormal([BATCH, model.dimension], 0, 1, 'float32', 2);
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => linearLoss(model.embed(images, true), projection), optimizer.variables);
    optimizer.step(grads);
    await value.data(); // the step is done once its results are read
    tf.dispose([value, ...Object.values(grads)]);
  };
  // The warm-up step, profiled for its peak of tensor memory (wasm's heap is at most 4 GiB).
  const { peakBytes } = await tf.profile(step);
  const seconds: number[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const started = performance.now();
    await step();
    seconds.push((performance.now() - started) / 1000);
  }
  tf.dispose([images, projection]);
  optimizer.dispose();
  model.dispose();
  return { seconds, peakMebibytes: peakBytes / 2 ** 20 };
}

/** tfjs-wasm's matrix-product rate, GFLOP/s (2048³, median of 3). */
async function matMulCeiling(): Promise<number> {
  const a = tf.randomNormal([2048, 2048]);
  const b = tf.randomNormal([2048, 2048]);
  const rates: number[] = [];
  for (let repeat = 0; repeat < 4; repeat++) {
    const started = performance.now();
    const product = tf.matMul(a, b);
    await product.data();
    product.dispose();
    if (repeat > 0) rates.push((2 * 2048 ** 3) / ((performance.now() - started) / 1000) / 1e9);
  }
  tf.dispose([a, b]);
  return median(rates);
}

function pytorchSteps(name: string): number[] | string {
  if (process.argv.includes('--no-pytorch')) return 'not run (--no-pytorch)';
  if (!existsSync(python)) return `not run: ${python} is missing (apt-get install -y python3-torch python3-torchvision)`;
  try {
    const output = execFileSync(python, [reference, name, String(BATCH), String(REPEATS), String(THREADS)], {
      encoding: 'utf8',
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
      maxBuffer: 1 << 20,
    });
    return (JSON.parse(output.trim().split('\n').pop()!) as { seconds: number[] }).seconds;
  } catch (error) {
    return `failed: ${(error as Error).message.split('\n')[0]}`;
  }
}

await useTfjsBackend('wasm');
const ceiling = await matMulCeiling();
console.log(`load average ${loadavg()[0]!.toFixed(1)} (${THREADS} cores); batch ${BATCH} at ${SIZE}x${SIZE}; ${REPEATS} timed steps after a warm-up, medians`);
console.log(`tfjs-wasm (1 thread, SIMD) matrix-product ceiling: ${ceiling.toFixed(1)} GFLOP/s (2048³)`);
for (const name of MODELS) {
  const tfjs = await tfjsSteps(name);
  const tfjsSeconds = median(tfjs.seconds);
  // A training step costs about three forward passes (forward, gradients of activations and of weights).
  const rate = (3 * 2 * FORWARD_MACS[name] * BATCH) / tfjsSeconds / 1e9;
  console.log(
    `${name}: tfjs-wasm ${tfjsSeconds.toFixed(2)} s/step (${(BATCH / tfjsSeconds).toFixed(2)} img/s; ~${rate.toFixed(1)} GFLOP/s = ${((100 * rate) / ceiling).toFixed(0)} % of the ceiling; peak tensor memory ${tfjs.peakMebibytes.toFixed(0)} MiB)`,
  );
  const pytorch = pytorchSteps(name);
  if (typeof pytorch === 'string') {
    console.log(`${name}: PyTorch ${pytorch}`);
    continue;
  }
  const pytorchSeconds = median(pytorch);
  console.log(
    `${name}: PyTorch CPU (${THREADS} threads) ${pytorchSeconds.toFixed(2)} s/step (${(BATCH / pytorchSeconds).toFixed(2)} img/s) -> tfjs-wasm takes ${(tfjsSeconds / pytorchSeconds).toFixed(2)}x PyTorch's time`,
  );
}
console.log(
  "Limits: tfjs-wasm runs on one thread in Node (tfjs disables its threaded build there; forced on, it fails to start), while PyTorch uses every core; XNNPACK's products and convolutions reach about the ceiling above, but tfjs-wasm moves data (transposes, slices, padding, tfjs' copies of saved tensors) and runs reductions and elementwise passes in plain loops, and the gradients need layout rewrites (transposed operands, batch-as-channel convolutions) because its own gradient kernels are missing or 10x slower.",
);
