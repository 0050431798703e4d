// Do the larger ViTs run at the same share of the machine's compute as ViT-S/16? Images per second and
// multiply-adds per second of @medssl/runtime-onnx for DINO's ViT-S/16, DINOv2's ViT-B/14 and MAE's ViT-L/16
// at 224x224 (batch 8, 2 intra-op threads), against PyTorch running the same architectures in the same run.
// Prints medians over repeats after a warm-up, the onnx/PyTorch ratio per model, and each model's
// multiply-adds per second relative to ViT-S/16's (1.00 = the same share of the compute).
//
//   pnpm --filter @medssl/bench vit-sizes
//
// PyTorch: Debian's /usr/bin/python3 (python3-torch 1.13) with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (see
// onnx-runtime.ts), running packages/parity/fixtures/make_fixtures.py's VisionTransformer built from the
// very architecture objects the backbones declare. Weights are random on both sides.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dino } from '@medssl/backbone-dino';
import { dinov2 } from '@medssl/backbone-dinov2';
import { mae } from '@medssl/backbone-mae';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { Backbone } from '@medssl/spec';
import { fixedBatch, median, secondsPerBatch } from './inference-timing.js';
import { multiplyAdds, randomCanonicalWeights } from '@medssl/weights';

const BATCH = 8;
const THREADS = 2;
const SIZE = 224;
const WARM_UP = 1;
const REPEATS = 6;
const PYTHON_REPEATS = 4;
const python = '/usr/bin/python3';

const models: { label: string; backbone: Backbone }[] = [
  { label: 'ViT-S/16 (dino:vits16)', backbone: dino() },
  { label: 'ViT-B/14 (dinov2:vitb14)', backbone: dinov2({ variant: 'vitb14' }) },
  { label: 'ViT-L/16 (mae:vitl16)', backbone: mae({ variant: 'vitl16' }) },
];

const batch = fixedBatch(BATCH, SIZE);

const loadBefore = loadavg()[0]!;
// One model in memory at a time (ViT-L/16 is 1.2 GB of weights); onnxruntime is measured before and after
// PyTorch, and both halves are pooled.
const onnxTimes: number[][] = models.map(() => []);
async function measureOnnx(): Promise<void> {
  for (const [index, { backbone }] of models.entries()) {
    const embedder = await onnxRuntime().createEmbedder(backbone, await randomCanonicalWeights(backbone.architecture, 0), { threads: THREADS });
    await secondsPerBatch(embedder, batch, WARM_UP);
    onnxTimes[index]!.push(...(await secondsPerBatch(embedder, batch, REPEATS / 2)));
    await embedder.dispose();
  }
}
await measureOnnx();

const fixtures = fileURLToPath(new URL('../packages/parity/fixtures/', import.meta.url));
const pythonScript = `
import json, sys, time
import torch
sys.path.insert(0, ${JSON.stringify(fixtures)})
from make_fixtures import VisionTransformer
torch.set_num_threads(${THREADS})
torch.manual_seed(0)
images = torch.randn(${BATCH}, 3, ${SIZE}, ${SIZE})
results = []
for architecture in json.loads(sys.argv[1]):
    model = VisionTransformer(architecture).eval()
    with torch.inference_mode():
        model(images)
        times = []
        for _ in range(${PYTHON_REPEATS}):
            started = time.perf_counter()
            model(images)
            times.append(time.perf_counter() - started)
    results.append(times)
    del model
print(json.dumps(results))
`;
let pytorchTimes: number[][] | undefined;
if (!existsSync(python)) console.log(`no ${python}: PyTorch not measured`);
else {
  const output = execFileSync(python, ['-c', pythonScript, JSON.stringify(models.map(({ backbone }) => backbone.architecture))], {
    encoding: 'utf8',
    env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  pytorchTimes = JSON.parse(output.trim().split('\n').at(-1)!) as number[][];
}
await measureOnnx();

console.log(`batch ${BATCH}, ${SIZE}x${SIZE}, ${THREADS} threads; medians (onnxruntime: ${REPEATS} batches, PyTorch 1.13: ${PYTHON_REPEATS}, after warm-up)`);
console.log(`1-minute load average: ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
const rate = (times: readonly number[], index: number) => {
  const imagesPerSecond = BATCH / median(times);
  return { imagesPerSecond, multiplyAddsPerSecond: imagesPerSecond * multiplyAdds(models[index]!.backbone.architecture, SIZE, SIZE)! };
};
const ours = onnxTimes.map(rate);
const theirs = pytorchTimes?.map(rate);
for (const [index, { label, backbone }] of models.entries()) {
  const cost = multiplyAdds(backbone.architecture, SIZE, SIZE)! / 1e9;
  const share = (rates: readonly { multiplyAddsPerSecond: number }[]) => (rates[index]!.multiplyAddsPerSecond / rates[0]!.multiplyAddsPerSecond).toFixed(2);
  const lines = [
    `${label}, ${cost.toFixed(1)} G multiply-adds per image:`,
    `  @medssl/runtime-onnx ${ours[index]!.imagesPerSecond.toFixed(2)} img/s, ${(ours[index]!.multiplyAddsPerSecond / 1e9).toFixed(1)} G multiply-adds/s, ${share(ours)} of ViT-S/16's rate`,
  ];
  if (theirs) {
    lines.push(
      `  PyTorch               ${theirs[index]!.imagesPerSecond.toFixed(2)} img/s, ${(theirs[index]!.multiplyAddsPerSecond / 1e9).toFixed(1)} G multiply-adds/s, ${share(theirs)} of ViT-S/16's rate`,
      `  onnx/pytorch ratio ${(ours[index]!.imagesPerSecond / theirs[index]!.imagesPerSecond).toFixed(2)}`,
    );
  }
  console.log(lines.join('\n'));
}
