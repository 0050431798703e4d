// @medssl/dataset-medmnist reading a MedMNIST+-sized split (224x224 RGB) row by row, against numpy reading
// the same npz in the same run, and against a raw inflate of the member (node:zlib, no row handling). Each
// mode runs in its own process so that its peak memory (max RSS) is its own.
//
//   pnpm exec tsx --conditions=@medssl/source bench/dataset-medmnist.ts [rows]
//
// The file is synthetic (smooth noise, about as compressible as real patches) and written by numpy's
// np.savez_compressed when Debian's /usr/bin/python3 has numpy; without it only our timings print.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { readZipDirectory, byteSourceFromBytes } from '@medssl/arrays';
import { medmnist } from '@medssl/dataset-medmnist';

const python = '/usr/bin/python3';
const REPEATS = 3;
const self = fileURLToPath(import.meta.url);

interface Measurement {
  seconds: number;
  maxRssMiB: number;
  checksum: number;
  access?: string;
}

async function runMode(mode: string, file: string): Promise<Measurement> {
  const started = performance.now();
  let checksum = 0;
  let access: string | undefined;
  if (mode === 'raw-inflate') {
    const bytes = readFileSync(file);
    const entry = (await readZipDirectory(byteSourceFromBytes(bytes), file)).find((candidate) => candidate.fileName === 'train_images.npy')!;
    const view = new DataView(bytes.buffer, bytes.byteOffset + entry.localHeaderOffset, 30);
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    const member = inflateRawSync(bytes.subarray(start, start + entry.compressedSize));
    for (let offset = member.length - 1; offset >= 0; offset -= 150_528) checksum = (checksum + member[offset]!) % 1_000_003;
  } else if (mode === 'baseline') {
    // Node, tsx and the package loaded, the file opened, no row read: what every mode pays anyway.
    const dataset = await medmnist({ flag: 'pathmnist', file, size: 224 });
    checksum = await dataset.size('train');
  } else {
    const options = { maxInMemoryBytes: mode === 'streamed' ? 0 : Number.MAX_SAFE_INTEGER };
    const dataset = await medmnist({ flag: 'pathmnist', file, size: 224, ...options });
    access = dataset.rowAccess.train;
    for await (const sample of dataset.samples('train')) {
      const image = await sample.decode();
      checksum = (checksum + image.data[image.data.length - 1]!) % 1_000_003;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, checksum, ...(access === undefined ? {} : { access }) };
}

if (process.argv[2] === '--mode') {
  console.log(JSON.stringify(await runMode(process.argv[3]!, process.argv[4]!)));
  process.exit(0);
}

const rows = Number(process.argv[2] ?? 2000);
if (!existsSync(python)) {
  console.log('no /usr/bin/python3 with numpy: cannot write the npz nor measure the reference');
  process.exit(0);
}
const folder = mkdtempSync(join(tmpdir(), 'medssl-bench-medmnist-'));
const file = join(folder, 'pathmnist_224.npz');
try {
  const write = `
import numpy as np
rng = np.random.default_rng(0)
n = ${rows}
base = rng.integers(0, 256, size=(n, 56, 56, 3), dtype=np.uint8)
# Upsampled noise plus a little fine noise: compresses about 1.3x, like real 224x224 patches.
train = (np.repeat(np.repeat(base, 4, axis=1), 4, axis=2) + rng.integers(0, 8, size=(n, 224, 224, 3), dtype=np.uint8)).astype(np.uint8)
small = lambda m: rng.integers(0, 256, size=(m, 224, 224, 3), dtype=np.uint8)
np.savez_compressed(${JSON.stringify(file)}, train_images=train, train_labels=rng.integers(0, 9, size=(n, 1), dtype=np.uint8),
  val_images=small(4), val_labels=np.zeros((4, 1), np.uint8), test_images=small(4), test_labels=np.zeros((4, 1), np.uint8))
`;
  execFileSync(python, ['-c', write]);
  const memberMiB = (rows * 224 * 224 * 3) / 1024 / 1024;
  console.log(`synthetic pathmnist_224.npz: ${rows} train rows, images member ${memberMiB.toFixed(0)} MiB inflated`);

  // The machine is shared and noisy: each measurement is the median of REPEATS fresh processes.
  const medianOf = (runs: Measurement[]): Measurement => {
    const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
    return { ...sorted[Math.floor(sorted.length / 2)]!, maxRssMiB: Math.max(...runs.map((run) => run.maxRssMiB)) };
  };
  const measure = (mode: string): Measurement =>
    medianOf(
      Array.from(
        { length: REPEATS },
        () =>
          JSON.parse(
            execFileSync(process.execPath, [...process.execArgv, self, '--mode', mode, file], { encoding: 'utf8' })
              .trim()
              .split('\n')
              .at(-1)!,
          ) as Measurement,
      ),
    );
  const measureReference = (): Measurement =>
    JSON.parse(
      execFileSync(
        python,
        [
          '-c',
          `
import json, resource, time, numpy as np
started = time.perf_counter()
images = np.load(${JSON.stringify(file)})['train_images']
checksum = 0
for row in images:
    checksum = (checksum + int(row[-1, -1, -1])) % 1000003
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "checksum": checksum}))
`,
        ],
        { encoding: 'utf8' },
      ),
    ) as Measurement;
  const reference = medianOf(Array.from({ length: REPEATS }, measureReference));
  const modes = ['streamed', 'in-memory', 'raw-inflate'].map((mode) => [mode, measure(mode)] as const);
  const baseline = measure('baseline');
  console.log(`median of ${REPEATS} runs each; max RSS is the largest of them`);
  console.log(`numpy np.load(...)['train_images'] + row loop: ${reference.seconds.toFixed(2)} s, max RSS ${reference.maxRssMiB.toFixed(0)} MiB`);
  for (const [mode, result] of modes) {
    const label = mode === 'raw-inflate' ? 'raw inflateRawSync of the member (no rows)' : `medssl ${mode} (${result.access})`;
    console.log(
      `${label}: ${result.seconds.toFixed(2)} s, max RSS ${result.maxRssMiB.toFixed(0)} MiB, checksum ${result.checksum === reference.checksum || mode === 'raw-inflate' ? 'ok' : 'DIFFERS'}`,
    );
  }
  console.log(`baseline (package loaded, file opened, no rows read): max RSS ${baseline.maxRssMiB.toFixed(0)} MiB`);
  for (const [mode, result] of modes) {
    if (mode === 'raw-inflate') continue;
    console.log(`${mode}: ${(result.maxRssMiB - baseline.maxRssMiB).toFixed(0)} MiB above the baseline for a ${memberMiB.toFixed(0)} MiB member`);
    console.log(
      `ratio ${mode}: time ${(result.seconds / reference.seconds).toFixed(2)}x numpy's, peak memory ${(result.maxRssMiB / reference.maxRssMiB).toFixed(2)}x numpy's`,
    );
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
