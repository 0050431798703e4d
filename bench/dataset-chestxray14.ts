// ChestX-ray14 opening and decoding, against references measured in the same run on the same files:
//  - open: chestxray14() on NIH's full v2020 table (112,120 rows, gzipped) with official-style lists, i.e.
//    gunzip + CSV parse + label flags + patient split + image index; reference: Debian's /usr/bin/python3
//    doing gzip + csv.reader + the same label flags and patient grouping (what a plain Python loader does).
//  - decode: every sample of the 250-image sample through sample.decode() (sharp via @medssl/core), against
//    Pillow + numpy (np.asarray(Image.open(path))) on the same files.
// Rounds alternate medssl and the reference, so that load from other work on the machine hits both alike.
// Prints medians and ratios; never quote one absolute time, the machine is shared.
//
//   pnpm exec tsx --conditions=@medssl/source bench/dataset-chestxray14.ts
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chestxray14 } from '@medssl/dataset-chestxray14';

const sample = join(import.meta.dirname, '../../shared/data/chestxray14');
const TABLE = 'Data_Entry_2017_v2020.csv.gz';
const ROUNDS = 7;
const python = '/usr/bin/python3';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One round of the reference: a full open of the table and a decode of every image, timed inside Python. */
function referenceScript(folder: string): string {
  return `
import csv, gzip, json, time
labels = ['Atelectasis','Cardiomegaly','Effusion','Infiltration','Mass','Nodule','Pneumonia','Pneumothorax','Consolidation','Edema','Emphysema','Fibrosis','Pleural_Thickening','Hernia']
index = {name: position for position, name in enumerate(labels)}
started = time.perf_counter()
with gzip.open(${JSON.stringify(join(folder, TABLE))}, 'rt', newline='') as handle:
    reader = csv.reader(handle)
    header = next(reader)
    image, findings, patient = header.index('Image Index'), header.index('Finding Labels'), header.index('Patient ID')
    flags, patients = {}, {}
    for row in reader:
        row_flags = bytearray(14)
        if row[findings] != 'No Finding':
            for finding in row[findings].split('|'):
                row_flags[index[finding]] = 1
        flags[row[image]] = row_flags
        patients.setdefault(row[patient], []).append(row[image])
result = {"open_ms": (time.perf_counter() - started) * 1000}
try:
    import numpy as np
    from PIL import Image
    paths = open(${JSON.stringify(join(folder, 'paths.txt'))}).read().splitlines()
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as picture: np.asarray(picture)
    result["decode_ms"] = (time.perf_counter() - started) * 1000
except ImportError:
    pass
print(json.dumps(result))
`;
}

if (!existsSync(join(sample, TABLE))) {
  console.log(`no ${join(sample, TABLE)}: nothing to measure`);
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'medssl-bench-chestxray14-'));
try {
  mkdirSync(join(root, 'images'));
  for (const name of readdirSync(join(sample, 'images')).filter((file) => file.endsWith('.png'))) {
    symlinkSync(join(sample, 'images', name), join(root, 'images', name));
  }
  copyFileSync(join(sample, TABLE), join(root, TABLE));
  const rows = gunzipSync(readFileSync(join(sample, TABLE)))
    .toString('utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.split(','));
  writeFileSync(
    join(root, 'train_val_list.txt'),
    rows
      .filter((row) => Number(row[3]) % 5 !== 0)
      .map((row) => row[0])
      .join('\n'),
  );
  writeFileSync(
    join(root, 'test_list.txt'),
    rows
      .filter((row) => Number(row[3]) % 5 === 0)
      .map((row) => row[0])
      .join('\n'),
  );

  const warmUp = await chestxray14({ root });
  const paths: string[] = [];
  for (const split of warmUp.splits) for await (const item of warmUp.samples(split)) paths.push(item.source!);
  writeFileSync(join(root, 'paths.txt'), paths.join('\n'));
  const havePython = existsSync(python);
  if (!havePython) console.log(`no ${python}: references not measured`);

  const ours = { open: [] as number[], decode: [] as number[] };
  const reference = { open: [] as number[], decode: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now();
    const dataset = await chestxray14({ root });
    ours.open.push(performance.now() - started);
    started = performance.now();
    for (const split of dataset.splits) for await (const item of dataset.samples(split)) await item.decode();
    ours.decode.push(performance.now() - started);
    if (!havePython) continue;
    try {
      const measured = JSON.parse(execFileSync(python, ['-c', referenceScript(root)], { encoding: 'utf8' })) as { open_ms: number; decode_ms?: number };
      reference.open.push(measured.open_ms);
      if (measured.decode_ms !== undefined) reference.decode.push(measured.decode_ms);
    } catch (error) {
      console.log(`reference not measured: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  console.log(`medssl chestxray14(): open median ${median(ours.open).toFixed(0)} ms over ${ROUNDS} rounds (${rows.length} table rows, gzipped)`);
  console.log(`medssl sample.decode(): median ${median(ours.decode).toFixed(0)} ms for ${paths.length} images`);
  if (reference.open.length > 0) {
    console.log(`python gzip + csv.reader + flags + patients: median ${median(reference.open).toFixed(0)} ms`);
    console.log(`ratio (open): medssl takes ${(median(ours.open) / median(reference.open)).toFixed(2)}x the time of the Python reference`);
  }
  if (reference.decode.length > 0) {
    console.log(`Pillow + numpy decode: median ${median(reference.decode).toFixed(0)} ms`);
    console.log(`ratio (decode): medssl takes ${(median(ours.decode) / median(reference.decode)).toFixed(2)}x the time of Pillow`);
  } else if (havePython) {
    console.log('decode reference not measured: no Pillow or numpy for /usr/bin/python3');
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
