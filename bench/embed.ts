// `medssl embed` end to end (decode + preprocess + infer + gather) against the same runtime's raw inference
// on pre-made tensors, and against PyTorch doing the same end to end (PIL decode, torchvision transforms,
// ResNet-50 in eval mode) at its best settings here (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, channels_last,
// 2 threads), all in one run on the same images. Prints medians and ratios; never quote one absolute rate.
//
//   pnpm --filter @medssl/bench embed [images] [workers]
//
// Goal (issue 4): ResNet-50 end to end at >= 90 % of raw onnxruntime throughput, and >= 1.5x PyTorch.
// Since issue 6, embedSplit runs the streaming pipeline: image files decoded and preprocessed in worker
// threads (JPEG through sharp, common PNGs with Node's zlib), inference on this thread. Also printed: the CPU time decoding and preprocessing take per image, and
// the ceiling that leaves on this machine's cores once inference takes what it uses at its raw rate.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { supervised } from '@medssl/backbone-supervised';
import { embedSplit } from '@medssl/experiment';
import { preprocessInto } from '@medssl/core';
import { createPipelineStats, defaultWorkerCount } from '@medssl/store';
import { decodeImage } from '@medssl/core/node';
import { folder } from '@medssl/dataset-folder';
import { onnxRuntime } from '@medssl/runtime-onnx';
import { randomCanonicalWeights } from '@medssl/weights';
import sharp from 'sharp';

const IMAGES = Number(process.argv[2] ?? 64);
const WORKERS = Number(process.argv[3] ?? defaultWorkerCount());
const BATCH = 16;
const THREADS = 2;
const REPEATS = 3;
const python = '/usr/bin/python3';
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
/** CPU seconds this process has used, all its threads together (libuv's pool, workers, onnxruntime's threads). */
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

// Taken before this benchmark starts any work of its own.
const loadBefore = loadavg()[0]!;
const root = mkdtempSync(join(tmpdir(), 'medssl-bench-embed-'));
try {
  // 512x512 JPEG "photographs": smooth gradients plus noise, so the codec does real work.
  for (const label of ['a', 'b']) mkdirSync(join(root, 'train', label), { recursive: true });
  for (let index = 0; index < IMAGES; index++) {
    const pixels = new Uint8Array(512 * 512 * 3);
    for (let offset = 0; offset < pixels.length; offset++) pixels[offset] = ((offset % 1536) / 6 + ((offset * 2654435761) >>> 24)) & 255;
    await sharp(pixels, { raw: { width: 512, height: 512, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(root, 'train', index % 2 ? 'a' : 'b', `${index}.jpg`));
  }
  const backbone = supervised();
  const weights = await randomCanonicalWeights(backbone.architecture, 0);
  // Raw inference at its best: onnxruntime's default, idle threads spin. End to end as `medssl embed` runs
  // it: without spinning, which would take the cores from the decoding workers.
  const rawEmbedder = await onnxRuntime().createEmbedder(backbone, weights, { threads: THREADS });
  const embedder = await onnxRuntime({ spinning: false }).createEmbedder(backbone, weights, { threads: THREADS });
  const dataset = await folder({ root, fractions: { train: 1, val: 0, test: 0 } });
  const io = { stdout: () => undefined, stderr: () => undefined };

  const raw: number[] = [];
  const rawCores: number[] = [];
  const endToEnd: number[] = [];
  const endToEndCpu: number[] = [];
  const waits: number[] = [];
  const steady: number[] = [];
  const batch = { data: new Float32Array(BATCH * 3 * 224 * 224).map((_, index) => Math.sin(index)), shape: [BATCH, 3, 224, 224] };
  await rawEmbedder.embed(batch); // warm-up
  await embedder.embed(batch);
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    let started = performance.now();
    const cpu = cpuSeconds();
    for (let done = 0; done < IMAGES; done += BATCH) await rawEmbedder.embed(batch);
    const rawSeconds = (performance.now() - started) / 1000;
    raw.push(IMAGES / rawSeconds);
    rawCores.push((cpuSeconds() - cpu) / rawSeconds);
    const stats = createPipelineStats();
    started = performance.now();
    const cpuBefore = cpuSeconds();
    await embedSplit(dataset, 'train', embedder, backbone.preprocessing, { batchSize: BATCH, io, workers: WORKERS, stats });
    const seconds = (performance.now() - started) / 1000;
    endToEnd.push(IMAGES / seconds);
    // Without the wait for the first batch (starting the workers, loading sharp in them, filling the
    // pipeline), during which nothing is inferred: what a long split runs at.
    steady.push(IMAGES / (seconds - stats.firstBatchSeconds));
    endToEndCpu.push((cpuSeconds() - cpuBefore) / IMAGES);
    waits.push(stats.waitSeconds);
  }
  // Decoding and preprocessing alone, one image at a time: their CPU time per image, the median over images
  // after a warm-up pass, so that a moment of contention on this shared machine does not count.
  const input = new Float32Array(3 * 224 * 224);
  const preparationTimes: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for await (const sample of dataset.samples('train', { end: Math.min(IMAGES, 32) })) {
      const cpu = cpuSeconds();
      preprocessInto(await decodeImage(await sample.encoded!(), sample.id), backbone.preprocessing, input, 0);
      if (pass === 1) preparationTimes.push(cpuSeconds() - cpu);
    }
  }
  const preparation = median(preparationTimes);
  await embedder.dispose();
  await rawEmbedder.dispose();
  const cores = availableParallelism();
  const ceiling = Math.min(1, cores / (median(rawCores) + preparation * median(raw)));
  console.log(
    `load average ${loadavg()[0]!.toFixed(1)} (${cores} cores); ${IMAGES} JPEG images 512x512, batch ${BATCH}, ${THREADS} threads, ${WORKERS} preprocessing workers`,
  );
  console.log(`onnxruntime raw inference:   ${median(raw).toFixed(1)} img/s (median of ${REPEATS}), using ${median(rawCores).toFixed(2)} cores`);
  console.log(
    `medssl embed end to end:     ${median(endToEnd).toFixed(1)} img/s  -> ${((100 * median(endToEnd)) / median(raw)).toFixed(0)} % of raw (inference waited ${median(waits).toFixed(2)} s for input)`,
  );
  console.log(
    `  without the first batch's wait (workers starting): ${median(steady).toFixed(1)} img/s -> ${((100 * median(steady)) / median(raw)).toFixed(0)} % of raw`,
  );
  if (loadBefore > cores)
    console.log(
      `warning: load average ${loadBefore.toFixed(1)} on ${cores} cores before the run: other processes took CPU from these measurements, ratios are unreliable`,
    );
  console.log(
    `decode + preprocess:         ${(preparation * 1000).toFixed(1)} CPU-ms per image -> at most ${(100 * ceiling).toFixed(0)} % of raw on ${cores} cores`,
  );
  const rawCpu = median(rawCores) / median(raw);
  console.log(
    `CPU per image:               raw ${(rawCpu * 1000).toFixed(1)} ms, end to end ${(median(endToEndCpu) * 1000).toFixed(1)} ms -> ` +
      `with inference saturating the cores, end to end at ${((100 * rawCpu) / median(endToEndCpu)).toFixed(0)} % of raw`,
  );

  if (existsSync(python)) {
    const script = `
import glob, json, sys, time, torch, torchvision
from PIL import Image
from torchvision import transforms
torch.set_num_threads(${THREADS})
model = torchvision.models.resnet50().eval().to(memory_format=torch.channels_last)
features = torch.nn.Sequential(*list(model.children())[:-1])
prepare = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
files = sorted(glob.glob(sys.argv[1] + '/train/*/*.jpg'))
rates = []
with torch.no_grad():
    features(torch.zeros(${BATCH}, 3, 224, 224).to(memory_format=torch.channels_last))
    for _ in range(${REPEATS}):
        started = time.perf_counter()
        for start in range(0, len(files), ${BATCH}):
            batch = torch.stack([prepare(Image.open(f).convert('RGB')) for f in files[start:start + ${BATCH}]])
            features(batch.to(memory_format=torch.channels_last))
        rates.append(len(files) / (time.perf_counter() - started))
print(json.dumps(sorted(rates)[len(rates) // 2]))
`;
    try {
      const pytorch = Number(
        execFileSync(python, ['-c', script, root], { encoding: 'utf8', env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' } }),
      );
      console.log(
        `PyTorch end to end (best):   ${pytorch.toFixed(1)} img/s  -> medssl is ${(median(endToEnd) / pytorch).toFixed(2)}x (${(median(steady) / pytorch).toFixed(2)}x without its first batch's wait)`,
      );
    } catch (error) {
      console.log(`PyTorch not measured: ${(error as Error).message.split('\n')[0]}`);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
