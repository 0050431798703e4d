// Issue 6: the streaming extraction pipeline end to end (decode + preprocess + infer + write a durable,
// checksummed feature set) against the same embedder's raw inference on pre-made tensors, in one run, for
// ResNet-50 at 224 from 1024x1024 greyscale PNGs (chest-X-ray-like, generated here) and from 96x96 PCam
// patches (the official HDF5 layout, generated here). Then peak RSS of a whole extraction in a child process
// per size, 1k and 10k patches, to show memory stays flat as the image count grows. Medians of repeats, and
// ratios measured in the same run: never quote one absolute rate (the machine is shared).
//
//   pnpm --filter @medssl/bench pipeline [--images 256] [--patches 512] [--repeats 3] [--threads N] [--workers N] [--depth N] [--together 3] [--no-rss]
//
// Goal: end to end >= 90 % of raw inference throughput; peak RSS flat from 1k to 10k images. Also, with
// --together N (default 3; 1 skips it): N ResNet-50s that preprocess alike (as supervised, SwAV and random do)
// extracted in one pass, each PNG decoded once, against the N models' raw inference.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { supervised } from '@medssl/backbone-supervised';
import { preprocessInto } from '@medssl/core';
import { createPipelineStats, defaultWorkerCount, extractFeatures, extractFeatureSets, type FeatureModel, type PipelineStats } from '@medssl/store';
import { decodeImage, decodeImageFile } from '@medssl/core/node';
import { folder } from '@medssl/dataset-folder';
import { pcam } from '@medssl/dataset-pcam';
import { onnxRuntime } from '@medssl/runtime-onnx';
import type { Dataset, Embedder, Preprocessing } from '@medssl/spec';
import { randomCanonicalWeights } from '@medssl/weights';
import sharp from 'sharp';
import { writePcamSplit, type PcamBlock } from '../packages/dataset-pcam/src/write-pcam.js';

const MIB = 1024 ** 2;
const BATCH = 16;
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
/** CPU seconds this process has used, all its threads together (libuv's pool, workers, onnxruntime's threads). */
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/** A 1024x1024 8-bit grey "chest X-ray": a bright body, two darker lungs, ribs, a spine, a gradient and sensor noise. */
function chestXray(seed: number): Uint8Array {
  const size = 1024;
  const pixels = new Uint8Array(size * size);
  let noise = (seed * 2654435761) >>> 0 || 1;
  const shift = (seed % 17) * 3;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x - 512 - shift) / 512;
      const v = (y - 540) / 512;
      let value = 30 + 25 * (y / size);
      const body = 1 - (u * u) / 0.75 - (v * v) / 0.95;
      if (body > 0) value += 150 * Math.min(1, body * 3);
      for (const side of [-1, 1]) {
        const lu = (u - side * 0.38) / 0.27;
        const lv = (v + 0.08) / 0.55;
        const lung = 1 - lu * lu - lv * lv;
        if (lung > 0) value -= 95 * Math.min(1, lung * 2.5) * (0.8 + 0.2 * Math.cos(v * 9 + seed));
      }
      value += 18 * Math.max(0, Math.cos(v * 26 - Math.abs(u) * 6)) * (Math.abs(u) < 0.7 ? 1 : 0);
      value += 60 * Math.exp(-(u * u) / 0.004);
      noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
      value += ((noise >>> 24) % 7) - 3;
      pixels[y * size + x] = value < 0 ? 0 : Math.min(value, 255);
    }
  }
  return pixels;
}

function* pcamBlocks(count: number): Generator<PcamBlock> {
  const patchBytes = 96 * 96 * 3;
  for (let start = 0; start < count; start += 256) {
    const rows = Math.min(256, count - start);
    const patches = new Uint8Array(rows * patchBytes);
    const labels = new Uint8Array(rows);
    for (let row = 0; row < rows; row++) {
      const patch = start + row;
      let noise = (patch * 2246822519 + 1) >>> 0;
      for (let pixel = 0; pixel < 96 * 96; pixel++) {
        const y = Math.floor(pixel / 96);
        const x = pixel % 96;
        noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
        const cell = 40 * Math.sin((x + patch) / 7) * Math.cos((y - patch) / 9);
        const offset = row * patchBytes + pixel * 3;
        patches[offset] = 180 + cell + ((noise >>> 27) - 16);
        patches[offset + 1] = 120 + cell * 0.8 + ((noise >>> 22) & 15);
        patches[offset + 2] = 200 - cell * 0.5 + ((noise >>> 18) & 15);
      }
      labels[row] = patch % 3 === 0 ? 1 : 0;
    }
    yield { patches, labels };
  }
}

async function writePcam(root: string, count: number): Promise<void> {
  mkdirSync(root, { recursive: true });
  await writePcamSplit({ root, official: 'train', count, blocks: pcamBlocks(count), gzipLevel: 1, chunkRows: 32 });
  for (const official of ['valid', 'test'] as const) await writePcamSplit({ root, official, count: 32, blocks: pcamBlocks(32), gzipLevel: 1, chunkRows: 32 });
}

/** The embedder already made, as a FeatureModel: extraction time then excludes building the model. */
function readyModel(embedder: Embedder, preprocessing: Preprocessing, weightsSha256: string): FeatureModel {
  return {
    backboneId: embedder.backboneId,
    embedding: `pooled/${embedder.dimension}`,
    weightsSha256,
    preprocessing,
    runtimeId: embedder.runtimeId,
    precision: embedder.precision,
    open: async () => ({ ...embedder, embed: (batch) => embedder.embed(batch), dispose: async () => undefined }),
  };
}

/**
 * CPU seconds that decoding and preprocessing take per image, one at a time on this thread, no inference: what
 * the pipeline must fit beside inference. Decoded as the pipeline does (a file's bytes through decodeImage where
 * the sample has them); the median over images after a warm-up, so that a moment of contention does not count.
 */
async function preparationCpuSeconds(dataset: Dataset, preprocessing: Preprocessing, count: number): Promise<number> {
  const input = new Float32Array(3 * 224 * 224);
  const times: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for await (const sample of dataset.samples('train', { end: count })) {
      const cpu = cpuSeconds();
      const image = sample.encoded ? await decodeImage(await sample.encoded(), sample.id) : await sample.decode();
      preprocessInto(image, preprocessing, input, 0);
      if (pass === 1) times.push(cpuSeconds() - cpu);
    }
  }
  return median(times);
}

/**
 * End to end against raw inference, for one model or several that preprocess alike (extracted together, each
 * image decoded once): raw is then all the models' inference on the same batches, one after another.
 */
async function compare(
  name: string,
  dataset: Dataset,
  count: number,
  models: readonly { embedder: Embedder; weightsSha256: string }[],
  preprocessing: Preprocessing,
  settings: { repeats: number; workers: number; depth: number; store: string },
) {
  const batch = { data: new Float32Array(BATCH * 3 * 224 * 224).map((_, index) => Math.sin(index)), shape: [BATCH, 3, 224, 224] };
  for (const { embedder } of models) await embedder.embed(batch);
  const raw: number[] = [];
  const rawCores: number[] = [];
  const endToEnd: number[] = [];
  const steady: number[] = [];
  const endToEndCpu: number[] = [];
  const stats: PipelineStats[] = [];
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    let started = performance.now();
    const cpu = cpuSeconds();
    for (let done = 0; done < count; done += BATCH) for (const { embedder } of models) await embedder.embed(batch);
    const rawSeconds = (performance.now() - started) / 1000;
    raw.push(count / rawSeconds);
    rawCores.push((cpuSeconds() - cpu) / rawSeconds);
    const store = join(settings.store, `${name}-${repeat}`);
    const run = createPipelineStats();
    started = performance.now();
    const cpuBefore = cpuSeconds();
    const results = await extractFeatureSets({
      dataset,
      split: 'train',
      models: models.map(({ embedder, weightsSha256 }) => readyModel(embedder, preprocessing, weightsSha256)),
      store,
      limit: count,
      batchSize: BATCH,
      workers: settings.workers,
      depth: settings.depth,
      stats: run,
    });
    const seconds = (performance.now() - started) / 1000;
    endToEndCpu.push((cpuSeconds() - cpuBefore) / count);
    for (const result of results) if (result.manifest.count !== count) throw new Error(`${name}: extracted ${result.manifest.count} rows, expected ${count}`);
    endToEnd.push(count / seconds);
    // Without the wait for the first batch (starting the workers, filling the pipeline), during which
    // nothing is inferred: what a long split runs at.
    steady.push(count / (seconds - run.firstBatchSeconds));
    stats.push(run);
    rmSync(store, { recursive: true, force: true });
  }
  const preparation = await preparationCpuSeconds(dataset, preprocessing, Math.min(count, 48));
  const rawRate = median(raw);
  const rate = median(endToEnd);
  const middle = stats[endToEnd.indexOf(rate)]!;
  const wall = count / rate;
  // On an otherwise idle machine, inference at its raw rate uses rawCores of the cores; decoding and
  // preprocessing need preparation * rate more: the rate at which both fit is the ceiling.
  const cores = availableParallelism();
  const ceiling = Math.min(1, cores / (median(rawCores) + preparation * rawRate));
  // CPU time per image is what other processes on a shared machine disturb least: when inference alone
  // saturates the cores, end-to-end throughput is raw throughput times this ratio.
  const rawCpu = median(rawCores) / rawRate;
  const cpuRatio = rawCpu / median(endToEndCpu);
  console.log(
    `${name.padEnd(22)} raw ${rawRate.toFixed(1).padStart(6)} img/s | end to end ${rate.toFixed(1).padStart(6)} img/s = ${((100 * rate) / rawRate).toFixed(0).padStart(3)} % of raw ` +
      `| inference busy ${((100 * middle.inferenceSeconds) / wall).toFixed(0)} %, waited for input ${middle.waitSeconds.toFixed(2)} s (${middle.firstBatchSeconds.toFixed(2)} s of it for the first batch) ` +
      `| raw inference uses ${median(rawCores).toFixed(2)} cores; decode+preprocess ${(preparation * 1000).toFixed(1)} CPU-ms/img, so a ${cores}-core ceiling of ${(100 * ceiling).toFixed(0)} %`,
  );
  console.log(
    `${''.padEnd(22)} without the first batch's wait (workers starting, pipeline filling): ${median(steady).toFixed(1)} img/s = ${((100 * median(steady)) / rawRate).toFixed(0)} % of raw`,
  );
  console.log(
    `${''.padEnd(22)} CPU per image: raw inference ${(rawCpu * 1000).toFixed(1)} ms, end to end ${(median(endToEndCpu) * 1000).toFixed(1)} ms: ` +
      `with inference saturating the cores, end to end runs at ${(100 * cpuRatio).toFixed(0)} % of raw`,
  );
  return { rawRate, rate };
}

async function rssChild(root: string, limit: number): Promise<void> {
  const backbone = supervised();
  const preprocessing: Preprocessing = { ...backbone.preprocessing, resize: { size: 64, interpolation: 'bilinear' }, centerCrop: 56 };
  const weights = await randomCanonicalWeights(backbone.architecture, 0);
  const embedder = await onnxRuntime({ spinning: false }).createEmbedder({ ...backbone, preprocessing }, weights, {});
  const dataset = await pcam({ root });
  const baseline = process.resourceUsage().maxRSS * 1024;
  const started = performance.now();
  const store = mkdtempSync(join(tmpdir(), 'medssl-bench-rss-'));
  try {
    const result = await extractFeatures({
      dataset,
      split: 'train',
      model: readyModel(embedder, preprocessing, weights.sha256),
      store,
      limit,
      batchSize: 64,
      chunkRows: 1024,
    });
    console.log(
      JSON.stringify({ images: result.manifest.count, seconds: (performance.now() - started) / 1000, baseline, peak: process.resourceUsage().maxRSS * 1024 }),
    );
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // Taken before this benchmark starts any work of its own.
  const loadBefore = loadavg()[0]!;
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '256' },
      patches: { type: 'string', default: '512' },
      repeats: { type: 'string', default: '3' },
      threads: { type: 'string' },
      workers: { type: 'string' },
      depth: { type: 'string', default: '3' },
      together: { type: 'string', default: '3' },
      'no-rss': { type: 'boolean', default: false },
    },
  });
  const images = Number(values.images);
  const patches = Number(values.patches);
  const repeats = Number(values.repeats);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const workers = values.workers === undefined ? defaultWorkerCount() : Number(values.workers);
  const depth = Number(values.depth);
  const together = Number(values.together);
  const root = mkdtempSync(join(tmpdir(), 'medssl-bench-pipeline-'));
  try {
    let started = performance.now();
    for (const label of ['normal', 'finding']) mkdirSync(join(root, 'png', label), { recursive: true });
    let pngBytes = 0;
    for (let index = 0; index < images; index++) {
      const path = join(root, 'png', index % 2 ? 'finding' : 'normal', `${String(index).padStart(5, '0')}.png`);
      // Without b-w, libvips reads one raw band as sRGB and writes an RGB PNG.
      await sharp(chestXray(index), { raw: { width: 1024, height: 1024, channels: 1 } })
        .toColourspace('b-w')
        .png({ adaptiveFiltering: true })
        .toFile(path);
      pngBytes += statSync(path).size;
    }
    await writePcam(join(root, 'pcam'), Math.max(patches, 10_000));
    console.log(
      `generated ${images} PNGs 1024x1024 grey (${(pngBytes / images / 1024).toFixed(0)} KiB each on average) and a PCam HDF5 split, in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );

    const backbone = supervised();
    // Seeded random weights; the others stand for SwAV's and random ResNet-50s, which preprocess alike.
    const models = [];
    for (let seed = 0; seed < Math.max(1, together); seed++) {
      const weights = await randomCanonicalWeights(backbone.architecture, seed);
      models.push({
        embedder: await onnxRuntime({ spinning: false }).createEmbedder(backbone, weights, threads ? { threads } : {}),
        weightsSha256: weights.sha256,
      });
    }
    const first = await decodeImageFile(join(root, 'png', 'normal', '00000.png'));
    console.log(
      `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}; ResNet-50 at 224, batch ${BATCH}, ` +
        `${threads ?? "onnxruntime's default"} inference threads, ${workers} preprocessing workers, depth ${depth}; ${repeats} repeats (medians); PNG decodes to ${first.width}x${first.height}x${first.channels}`,
    );
    if (loadBefore > availableParallelism())
      console.log(
        `warning: load average ${loadBefore.toFixed(1)} on ${availableParallelism()} cores before the run: other processes take CPU from these measurements, ratios are unreliable`,
      );
    const store = join(root, 'store');
    const settings = { repeats, workers, depth, store };
    const pngs = await folder({ root: join(root, 'png'), fractions: { train: 1, val: 0, test: 0 } });
    await compare('1024x1024 PNG', pngs, images, models.slice(0, 1), backbone.preprocessing, settings);
    const pcamDataset = await pcam({ root: join(root, 'pcam') });
    await compare('96x96 PCam (HDF5)', pcamDataset, patches, models.slice(0, 1), backbone.preprocessing, settings);
    if (models.length > 1) await compare(`PNG, ${models.length} ResNet-50s`, pngs, images, models, backbone.preprocessing, settings);
    for (const { embedder } of models) await embedder.dispose();

    if (!values['no-rss']) {
      // One child per size, so each peak is its own. h5wasm is imported before tsx's loader: under it, h5wasm
      // alone costs hundreds of MiB (see pcam-memory.ts), which built code never pays.
      const script = fileURLToPath(import.meta.url);
      const h5wasmUrl = pathToFileURL(
        realpathSync(fileURLToPath(new URL('../packages/dataset-pcam/node_modules/h5wasm/dist/node/hdf5_hl.js', import.meta.url))),
      );
      const preload = `data:text/javascript,await import(${encodeURIComponent(JSON.stringify(h5wasmUrl.href))})`;
      const peaks: { images: number; peak: number; baseline: number; seconds: number }[] = [];
      for (const limit of [1000, 10_000]) {
        started = performance.now();
        const output = execFileSync(
          process.execPath,
          [
            '--conditions=@medssl/source',
            '--import',
            preload,
            '--import',
            import.meta.resolve('tsx'),
            script,
            '--rss-child',
            join(root, 'pcam'),
            String(limit),
          ],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const measured = JSON.parse(output.trim().split('\n').at(-1)!) as { images: number; peak: number; baseline: number; seconds: number };
        peaks.push(measured);
        console.log(
          `peak RSS, ${measured.images} PCam patches (ResNet-50 at 56, batch 64): ${(measured.peak / MIB).toFixed(0)} MiB ` +
            `(${(measured.baseline / MIB).toFixed(0)} MiB once loaded), ${(measured.images / measured.seconds).toFixed(0)} img/s`,
        );
      }
      const growth = (peaks[1]!.peak - peaks[0]!.peak) / MIB;
      console.log(
        `peak RSS grows by ${growth.toFixed(0)} MiB from ${peaks[0]!.images} to ${peaks[1]!.images} images (${((100 * growth * MIB) / peaks[0]!.peak).toFixed(0)} %)`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--rss-child') await rssChild(process.argv[3]!, Number(process.argv[4]));
else await main();
