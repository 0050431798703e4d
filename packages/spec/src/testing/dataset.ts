import type { Dataset, Sample, SplitName } from '../dataset.js';
import type { RawImage } from '../image.js';
import { check, isPositiveInteger } from './assert.js';
import { checkTarget, checkTask } from './task.js';

export interface DatasetExpectations {
  /** Exact number of samples per split. */
  readonly counts?: Readonly<Record<string, number>>;
  /** Exact number of samples per class name (positives per label for multilabel) per split. */
  readonly classCounts?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** How many samples per split to decode (the first ones, and the last); default 3. */
  readonly decodePerSplit?: number;
}

export interface ConformanceCheck<Subject, Expectations> {
  readonly name: string;
  run(subject: Subject, expectations: Expectations): Promise<void>;
}

async function collect(iterable: AsyncIterable<Sample>): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of iterable) samples.push(sample);
  return samples;
}

export function checkRawImage(image: RawImage, where: string): void {
  check(
    isPositiveInteger(image.width) && isPositiveInteger(image.height),
    `${where}: width and height must be positive integers, got ${image.width}x${image.height}`,
  );
  check([1, 3, 4].includes(image.channels), `${where}: channels must be 1, 3 or 4, got ${image.channels}`);
  check(image.data instanceof Uint8Array || image.data instanceof Uint16Array, `${where}: pixel data must be a Uint8Array or Uint16Array`);
  const expected = image.width * image.height * image.channels;
  check(image.data.length === expected, `${where}: ${image.width}x${image.height}x${image.channels} needs ${expected} values, got ${image.data.length}`);
}

export const datasetChecks: readonly ConformanceCheck<Dataset, DatasetExpectations>[] = [
  {
    name: 'states the contract version, an id, a data version, a valid task and its splits',
    async run(dataset) {
      check(dataset.specificationVersion === 'medssl/v1', `specificationVersion must be 'medssl/v1', got ${JSON.stringify(dataset.specificationVersion)}`);
      check(typeof dataset.id === 'string' && dataset.id.length > 0, 'id must be a non-empty string');
      check(
        typeof dataset.version === 'string' && dataset.version.length > 0,
        `${dataset.id}: version must be a non-empty string (feature caches are keyed on it)`,
      );
      checkTask(dataset.task, dataset.id);
      check(Array.isArray(dataset.splits) && dataset.splits.length > 0, `${dataset.id}: splits must name at least one split`);
      check(new Set(dataset.splits).size === dataset.splits.length, `${dataset.id}: split names must be unique, got ${dataset.splits.join(', ')}`);
    },
  },
  {
    name: 'yields as many samples as size() says, with the expected counts',
    async run(dataset, expectations) {
      for (const split of dataset.splits) {
        const size = await dataset.size(split);
        const samples = await collect(dataset.samples(split));
        check(samples.length === size, `${dataset.id}/${split}: size() says ${size}, iteration yielded ${samples.length}`);
        const expected = expectations.counts?.[split];
        if (expected !== undefined) check(size === expected, `${dataset.id}/${split}: expected ${expected} samples, got ${size}`);
      }
      for (const split of Object.keys(expectations.counts ?? {})) {
        check(dataset.splits.includes(split), `${dataset.id}: expected a split named ${split}, splits are ${dataset.splits.join(', ')}`);
      }
    },
  },
  {
    name: 'gives every sample a unique id and a target valid for the task',
    async run(dataset, expectations) {
      const seen = new Map<string, SplitName>();
      for (const split of dataset.splits) {
        const names = dataset.task.type === 'multilabel' ? dataset.task.labels : dataset.task.classes;
        const counts = new Map<string, number>(names.map((name) => [name, 0]));
        let row = 0;
        for await (const sample of dataset.samples(split)) {
          const where = `${dataset.id}/${split} row ${row}`;
          check(typeof sample.id === 'string' && sample.id.length > 0, `${where}: id must be a non-empty string`);
          const earlier = seen.get(sample.id);
          check(earlier === undefined, `${where}: id ${JSON.stringify(sample.id)} also appears in split ${earlier}`);
          seen.set(sample.id, split);
          checkTarget(dataset.task, sample.target, `${where} (${sample.id})`);
          if (sample.group !== undefined)
            check(typeof sample.group === 'string' && sample.group.length > 0, `${where}: group must be a non-empty string when given`);
          check(typeof sample.decode === 'function', `${where}: decode must be a function`);
          if (typeof sample.target === 'number') {
            const name = names[sample.target]!;
            counts.set(name, counts.get(name)! + 1);
          } else {
            sample.target.forEach((flag, label) => {
              if (flag === 1) counts.set(names[label]!, counts.get(names[label]!)! + 1);
            });
          }
          row++;
        }
        const expected = expectations.classCounts?.[split];
        if (expected) {
          for (const [name, count] of Object.entries(expected)) {
            check(counts.get(name) === count, `${dataset.id}/${split}: expected ${count} samples of ${name}, got ${counts.get(name) ?? 'no such class'}`);
          }
        }
      }
    },
  },
  {
    name: 'keeps groups inside one split',
    async run(dataset) {
      const groupSplit = new Map<string, SplitName>();
      for (const split of dataset.splits) {
        for await (const sample of dataset.samples(split)) {
          if (sample.group === undefined) continue;
          const other = groupSplit.get(sample.group);
          check(other === undefined || other === split, `${dataset.id}: group ${JSON.stringify(sample.group)} (${sample.id}) is in both ${other} and ${split}`);
          groupSplit.set(sample.group, split);
        }
      }
    },
  },
  {
    name: 'yields the same rows in the same order every time, and honours start and end',
    async run(dataset) {
      for (const split of dataset.splits) {
        const first = (await collect(dataset.samples(split))).map((sample) => sample.id);
        const second = (await collect(dataset.samples(split))).map((sample) => sample.id);
        check(first.join('\n') === second.join('\n'), `${dataset.id}/${split}: two iterations gave different orders`);
        if (first.length < 2) continue;
        const start = Math.floor(first.length / 3);
        const end = Math.min(first.length, start + Math.max(1, Math.floor(first.length / 3)));
        const window = (await collect(dataset.samples(split, { start, end }))).map((sample) => sample.id);
        check(
          window.join('\n') === first.slice(start, end).join('\n'),
          `${dataset.id}/${split}: samples({ start: ${start}, end: ${end} }) gave ${window.length} rows that differ from rows ${start}..${end - 1} of a full pass`,
        );
      }
    },
  },
  {
    name: 'stops iterating when the signal is aborted',
    async run(dataset) {
      const split = dataset.splits[0]!;
      const controller = new AbortController();
      controller.abort();
      let failure: unknown;
      try {
        for await (const _ of dataset.samples(split, { signal: controller.signal })) {
          // nothing: the first step must already fail
        }
      } catch (error) {
        failure = error;
      }
      check(
        failure instanceof Error && failure.name === 'AbortError',
        `${dataset.id}/${split}: iterating with an aborted signal must throw an AbortError, got ${failure === undefined ? 'no error' : String(failure)}`,
      );
    },
  },
  {
    name: 'decodes samples to valid interleaved pixels',
    async run(dataset, expectations) {
      const perSplit = expectations.decodePerSplit ?? 3;
      for (const split of dataset.splits) {
        const size = await dataset.size(split);
        if (size === 0) continue;
        const rows = new Set([...Array.from({ length: Math.min(perSplit, size) }, (_, row) => row), size - 1]);
        for (const row of rows) {
          for await (const sample of dataset.samples(split, { start: row, end: row + 1 })) {
            checkRawImage(await sample.decode(), `${dataset.id}/${split} ${sample.id}`);
          }
        }
      }
    },
  },
];
