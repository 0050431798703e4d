// PatchCamelyon memory and speed: iterates and decodes every patch of a 262,144-patch train split (the size of
// the official one) from a gzip-compressed HDF5 file in the official layout. Reports the reader's peak
// resident memory, which must stay under 1 GiB, and patches per second against two references measured in
// the same run on the same file by the same 256-patch slices: h5wasm's slice reads alone (no dataset layer),
// and h5py through Debian's /usr/bin/python3 (python3-h5py). Never quote one absolute rate: the machine is
// shared; quote the ratios.
//
//   pnpm exec tsx --conditions=@medssl/source bench/pcam-memory.ts [patches]
//
// Three processes: a child writes the synthetic file block by block (compressible patterns: about 0.7 GiB on
// disk, 7.2 GB of pixels) under os.tmpdir(); a second child iterates it, so its peak memory is the reader's
// alone; this process runs the references and deletes the file at the end. The second child runs on plain
// Node with h5wasm imported before tsx's loader: under tsx, importing h5wasm's 4 MB single-file build costs
// about 600 MiB by itself (measured and printed below), which built code run by Node never pays.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pcam } from '@medssl/dataset-pcam';
import { loadHdf5 } from '../packages/dataset-pcam/src/hdf5.js';
import { writePcamSplit, type PcamBlock } from '../packages/dataset-pcam/src/write-pcam.js';

const PATCH_BYTES = 96 * 96 * 3;
const SLICE = 256;
const MIB = 1024 ** 2;

/** A texture twice a patch long; patch p is a window into it at an offset set by p, with p in bytes 0..3. */
function texture(): Uint8Array {
  const pixels = new Uint8Array(2 * PATCH_BYTES);
  let noise = 1;
  for (let byte = 0; byte < pixels.length; byte++) {
    noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
    const pixel = Math.floor(byte / 3) % (96 * 96);
    pixels[byte] = (Math.floor(pixel / 96) * 2 + (pixel % 96) + (byte % 3) * 70 + (noise >>> 29)) & 255;
  }
  return pixels;
}
const offsetOf = (patch: number) => (patch * 1031) % PATCH_BYTES;
const labelOf = (patch: number) => (patch % 3 === 0 ? 1 : 0);

function* syntheticBlocks(count: number): Generator<PcamBlock> {
  const source = texture();
  for (let start = 0; start < count; start += SLICE) {
    const rows = Math.min(SLICE, count - start);
    const patches = new Uint8Array(rows * PATCH_BYTES);
    const labels = new Uint8Array(rows);
    const view = new DataView(patches.buffer);
    for (let row = 0; row < rows; row++) {
      const patch = start + row;
      patches.set(source.subarray(offsetOf(patch), offsetOf(patch) + PATCH_BYTES), row * PATCH_BYTES);
      view.setUint32(row * PATCH_BYTES, patch, true);
      labels[row] = labelOf(patch);
    }
    yield { patches, labels };
  }
}

async function generate(root: string, count: number): Promise<void> {
  await writePcamSplit({ root, official: 'train', count, blocks: syntheticBlocks(count), gzipLevel: 1, chunkRows: 32 });
  for (const official of ['valid', 'test'] as const) {
    await writePcamSplit({ root, official, count: SLICE, blocks: syntheticBlocks(SLICE), gzipLevel: 1, chunkRows: 32 });
  }
}

interface Measurement {
  readonly patches: number;
  readonly tumours: number;
  readonly seconds: number;
  readonly peakBytes: number;
  readonly loadedBytes: number;
}

const peakRss = () => process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB

/** Iterates and decodes every train patch, checking each against what was written. */
async function measure(root: string): Promise<Measurement> {
  await loadHdf5();
  const loadedBytes = peakRss();
  const source = texture();
  const started = performance.now();
  const dataset = await pcam({ root, sliceSize: SLICE });
  let patches = 0;
  let tumours = 0;
  for await (const sample of dataset.samples('train')) {
    const pixels = (await sample.decode()).data as Uint8Array;
    const stamped = new DataView(pixels.buffer, pixels.byteOffset).getUint32(0, true);
    if (stamped !== patches || pixels[5000] !== source[offsetOf(patches) + 5000] || sample.target !== labelOf(patches)) {
      throw new Error(`${sample.id}: decoded patch ${stamped}, pixel ${pixels[5000]}, label ${String(sample.target)}: not what was written`);
    }
    tumours += sample.target;
    patches++;
  }
  return { patches, tumours, seconds: (performance.now() - started) / 1000, peakBytes: peakRss(), loadedBytes };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 262_144);
  const script = fileURLToPath(import.meta.url);
  const folder = mkdtempSync(join(tmpdir(), 'medssl-bench-pcam-'));
  try {
    let started = performance.now();
    execFileSync(process.execPath, [...process.execArgv, script, '--generate', folder, String(count)], { stdio: 'inherit' });
    const xPath = join(folder, 'camelyonpatch_level_2_split_train_x.h5');
    console.log(
      `wrote ${count} synthetic patches (gzip level 1, chunks of 32 patches): ${(statSync(xPath).size / MIB).toFixed(0)} MiB on disk, ` +
        `${((count * PATCH_BYTES) / MIB).toFixed(0)} MiB of pixels, in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );

    const h5wasmUrl = pathToFileURL(realpathSync(fileURLToPath(new URL('../packages/dataset-pcam/node_modules/h5wasm/dist/node/hdf5_hl.js', import.meta.url))));
    const preload = `data:text/javascript,await import(${encodeURIComponent(JSON.stringify(h5wasmUrl.href))})`;
    const measured = JSON.parse(
      execFileSync(
        process.execPath,
        ['--conditions=@medssl/source', '--import', preload, '--import', import.meta.resolve('tsx'), script, '--measure', folder],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      ),
    ) as Measurement;
    if (measured.patches !== count) throw new Error(`decoded ${measured.patches} patches, expected ${count}`);
    const oursRate = measured.patches / measured.seconds;
    console.log(
      `medssl pcam: decoded ${measured.patches} patches (${measured.tumours} tumour), each checked, in ${measured.seconds.toFixed(1)} s: ${oursRate.toFixed(0)} patches/s`,
    );
    console.log(
      `peak RSS of the reading process ${(measured.peakBytes / MIB).toFixed(0)} MiB (${(measured.loadedBytes / MIB).toFixed(0)} MiB once Node and h5wasm were loaded), ` +
        `limit 1024 MiB: ${measured.peakBytes < 1024 * MIB ? 'under' : 'OVER'}`,
    );

    // Reference 1, in this process (under tsx): h5wasm's slice reads alone.
    const before = peakRss();
    const hdf5 = await loadHdf5();
    console.log(`(importing h5wasm under tsx's loader raised this process's peak RSS by ${((peakRss() - before) / MIB).toFixed(0)} MiB)`);
    started = performance.now();
    const file = new hdf5.h5wasm.File(xPath, 'r');
    const x = file.get('x') as InstanceType<typeof hdf5.h5wasm.Dataset>;
    let checksum = 0;
    for (let start = 0; start < count; start += SLICE) checksum += (x.slice([[start, Math.min(count, start + SLICE)]]) as Uint8Array)[1]!;
    file.close();
    const rawRate = count / ((performance.now() - started) / 1000);
    console.log(`h5wasm slices alone: ${rawRate.toFixed(0)} patches/s (checksum ${checksum}); ratio: medssl pcam at ${(oursRate / rawRate).toFixed(2)}x`);

    // Reference 2: h5py on native HDF5 and zlib.
    const python = '/usr/bin/python3';
    if (!existsSync(python)) {
      console.log('no /usr/bin/python3: h5py reference not measured');
      return;
    }
    const reader = `
import h5py, json, time, resource
started = time.perf_counter()
checksum = 0
with h5py.File(${JSON.stringify(xPath)}, "r") as f:
    x = f["x"]
    for start in range(0, ${count}, ${SLICE}):
        checksum += int(x[start:start + ${SLICE}][0, 0, 0, 1])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "checksum": checksum, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
`;
    try {
      const reference = JSON.parse(execFileSync(python, ['-c', reader], { encoding: 'utf8' })) as { seconds: number; checksum: number; peak_kib: number };
      const h5pyRate = count / reference.seconds;
      console.log(
        `h5py slices: ${h5pyRate.toFixed(0)} patches/s, peak RSS ${((reference.peak_kib * 1024) / MIB).toFixed(0)} MiB (checksum ${reference.checksum})`,
      );
      console.log(`ratio: medssl pcam decodes at ${(oursRate / h5pyRate).toFixed(2)}x h5py's rate`);
    } catch (error) {
      console.log(`h5py reference not measured: ${(error as Error).message.split('\n')[0]}`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--generate') await generate(process.argv[3]!, Number(process.argv[4]));
else if (process.argv[2] === '--measure') console.log(JSON.stringify(await measure(process.argv[3]!)));
else await main();
