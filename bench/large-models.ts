// The ViTs past protobuf's 2 GiB limit on onnxruntime: MAE's ViT-H/14 (0.63 billion weights) and DINOv2's
// ViT-g/14 (1.1 billion, SwiGLU), built with their weights as ONNX external data, at 224x224. Prints, per
// model, the time to make random weights, to build and open the model, and to embed a batch of 2 (median
// of 3 after a warm-up), the peak resident memory, and that the embeddings are finite and differ per image.
// Needs about 4x the model's float32 size in memory (ViT-g/14: 4.5 GB of weights).
//
//   pnpm --filter @medssl/bench large-models [mae:vith14] [dinov2:vitg14]
import { dinov2 } from '@medssl/backbone-dinov2';
import { mae } from '@medssl/backbone-mae';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { Backbone } from '@medssl/spec';
import { multiplyAdds, randomCanonicalWeights } from '@medssl/weights';
import { fixedBatch, median, secondsPerBatch } from './inference-timing.js';

const BATCH = 2;
const SIZE = 224;
const THREADS = 2;
const known: Record<string, () => Backbone> = { 'mae:vith14': () => mae({ variant: 'vith14' }), 'dinov2:vitg14': () => dinov2({ variant: 'vitg14' }) };
const ids = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(known);
const seconds = (started: number) => ((performance.now() - started) / 1000).toFixed(1);

for (const id of ids) {
  const make = known[id];
  if (!make) throw new Error(`unknown model ${id}; known: ${Object.keys(known).join(', ')}`);
  const backbone = make();
  let started = performance.now();
  const weights = await randomCanonicalWeights(backbone.architecture, 0);
  const values = [...weights.tensors.values()].reduce((sum, tensor) => sum + tensor.data.length, 0);
  const made = seconds(started);
  started = performance.now();
  const embedder = await onnxRuntime().createEmbedder(backbone, weights, { threads: THREADS });
  const built = seconds(started);
  const batch = fixedBatch(BATCH, SIZE);
  batch.data.subarray(batch.data.length / 2).reverse(); // two different images
  const first = await embedder.embed(batch);
  const times = await secondsPerBatch(embedder, batch, 3);
  await embedder.dispose();
  const width = first.shape[1]!;
  const finite = first.data.every(Number.isFinite);
  const differ = first.data.subarray(0, width).some((value, index) => value !== first.data[width + index]);
  console.log(
    `${id}: ${(values / 1e9).toFixed(2)} G weights (${((values * 4) / 2 ** 30).toFixed(2)} GiB float32), ${(multiplyAdds(backbone.architecture, SIZE, SIZE)! / 1e9).toFixed(0)} G multiply-adds per image; ` +
      `random weights ${made} s, build and open ${built} s, ${(BATCH / median(times)).toFixed(2)} img/s at batch ${BATCH} (${THREADS} threads); ` +
      `embedding ${width}-d, finite ${finite}, differs per image ${differ}; peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(1)} GiB`,
  );
}
