// Images per second of @medssl/runtime-onnx against PyTorch on the CPU, in one run: ResNet-50 and
// ViT-S/16 (DINO layout; also with attention as onnxruntime's fused `Attention` contrib operator) at
// 224x224, batch 16, 2 intra-op threads on both sides. Prints medians over
// repeats after a warm-up and their ratios (never quote one absolute number: the machine is shared and
// noisy). onnxruntime is measured before and after PyTorch, and both halves are pooled.
//
//   pnpm exec tsx --conditions=@medssl/source bench/onnx-runtime.ts
//
// PyTorch runs in Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14) twice: as
// installed, and with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` plus channels_last for the ResNet (on the
// 2-core Debian machines this repo is developed on, the default allocator makes PyTorch 1.13 several
// times slower). The ViT is the module in packages/parity/fixtures/make_fixtures.py. Weights are
// random on both sides: speed does not depend on them.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Backbone, Embedder } from '@medssl/spec';
import { fixedBatch, median, secondsPerBatch } from './inference-timing.js';
import { onnxRuntime } from '@medssl/runtime-onnx';
import { dino } from '@medssl/backbone-dino';
import { supervised } from '@medssl/backbone-supervised';
import { randomCanonicalWeights } from '@medssl/weights';

const BATCH = 16;
const THREADS = 2;
const SIZE = 224;
const WARM_UP = 2;
const REPEATS = 8;
const PYTHON_WARM_UP = 1;
const PYTHON_REPEATS = 5;
const python = '/usr/bin/python3';

type ModelName = 'resnet50' | 'vits16' | 'vits16-fused';
/** Each onnxruntime model and the PyTorch model it is compared with. */
const models: Record<ModelName, { label: string; backbone: Backbone; fusedAttention?: boolean; pytorch: 'resnet50' | 'vits16' }> = {
  resnet50: { label: 'ResNet-50', backbone: supervised(), pytorch: 'resnet50' },
  vits16: { label: 'ViT-S/16', backbone: dino(), pytorch: 'vits16' },
  'vits16-fused': { label: 'ViT-S/16, fused Attention operator', backbone: dino(), fusedAttention: true, pytorch: 'vits16' },
};

const loadBefore = loadavg()[0]!;
const batch = fixedBatch(BATCH, SIZE);
const embedders = new Map<ModelName, Embedder>();
for (const name of Object.keys(models) as ModelName[]) {
  const { backbone, fusedAttention } = models[name];
  const embedder = await onnxRuntime({ fusedAttention: fusedAttention ?? false }).createEmbedder(
    backbone,
    await randomCanonicalWeights(backbone.architecture, 0),
    { threads: THREADS },
  );
  await secondsPerBatch(embedder, batch, WARM_UP);
  embedders.set(name, embedder);
}
const onnxTimes = new Map<ModelName, number[]>();
async function measureOnnx(): Promise<void> {
  for (const [name, embedder] of embedders) onnxTimes.set(name, [...(onnxTimes.get(name) ?? []), ...(await secondsPerBatch(embedder, batch, REPEATS / 2))]);
}
await measureOnnx();

const fixtures = fileURLToPath(new URL('../packages/parity/fixtures/', import.meta.url));
const pythonScript = `
import json, sys, time
import torch, torchvision
sys.path.insert(0, ${JSON.stringify(fixtures)})
from make_fixtures import vit_small
channels_last = sys.argv[1] == "channels_last"
torch.set_num_threads(${THREADS})
torch.manual_seed(0)
images = torch.randn(${BATCH}, 3, ${SIZE}, ${SIZE})
results = {}
for name, model in (("resnet50", torchvision.models.resnet50()), ("vits16", vit_small(16))):
    model.eval()
    inputs = images
    if channels_last and name == "resnet50":
        model = model.to(memory_format=torch.channels_last)
        inputs = images.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(${PYTHON_WARM_UP}):
            model(inputs)
        times = []
        for _ in range(${PYTHON_REPEATS}):
            started = time.perf_counter()
            model(inputs)
            times.append(time.perf_counter() - started)
    results[name] = times
print(json.dumps(results))
`;

const pytorchRuns: { label: string; times: Record<'resnet50' | 'vits16', number[]> }[] = [];
if (!existsSync(python)) {
  console.log(`no ${python}: PyTorch not measured`);
} else {
  const configurations = [
    { label: 'PyTorch 1.13, default allocator', environment: {}, layout: 'contiguous' },
    {
      label: 'PyTorch 1.13, hugetlb malloc (+ channels_last for ResNet-50)',
      environment: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
      layout: 'channels_last',
    },
  ];
  for (const configuration of configurations) {
    try {
      const output = execFileSync(python, ['-c', pythonScript, configuration.layout], {
        encoding: 'utf8',
        env: { ...process.env, ...configuration.environment },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      pytorchRuns.push({ label: configuration.label, times: JSON.parse(output.trim().split('\n').at(-1)!) as Record<'resnet50' | 'vits16', number[]> });
    } catch (error) {
      console.log(`${configuration.label}: not measured: ${(error as Error).message.split('\n')[0]}`);
    }
  }
}
await measureOnnx();
for (const embedder of embedders.values()) await embedder.dispose();

const imagesPerSecond = (times: readonly number[]) => BATCH / median(times);
console.log(
  `batch ${BATCH}, ${SIZE}x${SIZE}, ${THREADS} threads; images/s as medians (onnxruntime: ${REPEATS} runs, PyTorch: ${PYTHON_REPEATS} runs, after warm-up)`,
);
// Other work on a shared machine slows both sides, not evenly: read the ratios together with the load.
console.log(`1-minute load average: ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
for (const name of Object.keys(models) as ModelName[]) {
  const ours = imagesPerSecond(onnxTimes.get(name)!);
  const lines = [`${models[name].label}: @medssl/runtime-onnx ${ours.toFixed(1)} img/s (provider ${embedders.get(name)!.provider})`];
  for (const run of pytorchRuns) {
    const theirs = imagesPerSecond(run.times[models[name].pytorch]);
    lines.push(`  ${run.label}: ${theirs.toFixed(1)} img/s, onnx/pytorch ratio ${(ours / theirs).toFixed(2)}`);
  }
  console.log(lines.join('\n'));
}
