import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset, Preprocessing } from '@medssl/spec';
import { haveSharedData, sharedDataTitle } from '@medssl/test-data';
import { afterAll, describe, expect, it } from 'vitest';
import { readFeatureSet } from './feature-files.js';
import { fileDataset, gridMeanEmbedder, pcamFiles } from './__fixtures__/test-kit.js';
import { extractFeatures, extractFeatureSets, InterruptedExtractionError, type ExtractionEvent, type FeatureModel } from './extract.js';
import { mergeFeatureSets, verifyStoreEntry } from './merge.js';
import { chunkFile } from './store.js';

const havePcam = haveSharedData('feature-store tests on real images', 'pcam/data/train');

const scratch = mkdtempSync(join(tmpdir(), 'medssl-extract-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const fresh = (name: string) => join(scratch, `${name}-${folders++}`);

const preprocessing: Preprocessing = {
  resize: { size: 40, interpolation: 'bilinear' },
  centerCrop: 32,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

/** The grid-mean embedder as a FeatureModel, counting how often it is opened. */
function gridModel(transform: Preprocessing = preprocessing, grid = 4): FeatureModel & { opened: number } {
  const backboneId = grid === 4 ? 'test:grid-mean' : `test:grid-mean-${grid}`;
  const model = {
    backboneId,
    embedding: `grid-mean/${3 * grid * grid}`,
    weightsSha256: '0'.repeat(64),
    preprocessing: transform,
    runtimeId: 'test',
    precision: 'float32' as const,
    opened: 0,
    async open() {
      model.opened++;
      return gridMeanEmbedder(transform, grid, backboneId);
    },
  };
  return model;
}

const dataset = havePcam ? fileDataset(pcamFiles('train').slice(0, 37)) : undefined!;
const common = { split: 'train', chunkRows: 8, batchSize: 3, workers: 1 } as const;
const bytesOf = (folder: string, name = 'features.npy') => readFileSync(join(folder, name));

describe.skipIf(!havePcam)(sharedDataTitle('extractFeatures and the feature store', havePcam), () => {
  let reference: string;

  it('computes once, then reuses the stored features and says so; another transform is another key', async () => {
    const store = fresh('store');
    const model = gridModel();
    const events: ExtractionEvent[] = [];
    const first = await extractFeatures({ ...common, dataset, model, store, onEvent: (event) => events.push(event) });
    expect(first).toMatchObject({ reused: false, rowsComputed: 37, rows: { start: 0, end: 37 } });
    expect(events.filter((event) => event.type === 'chunk-written')).toHaveLength(5);
    const set = await readFeatureSet(first.folder);
    expect(set.features.shape).toEqual([37, 48]);
    expect(set.ids).toEqual(
      pcamFiles('train')
        .slice(0, 37)
        .map((file) => file.id),
    );
    expect(set.manifest).toMatchObject({
      key: first.key,
      dataset: { id: 'test-files', version: 'test-1' },
      count: 37,
      runtime: { id: 'test', provider: 'javascript' },
    });
    expect(readdirSync(first.folder).sort()).toEqual(['features.npy', 'ids.json', 'manifest.json', 'targets.npy']);
    reference = first.folder;

    const again: ExtractionEvent[] = [];
    const second = await extractFeatures({ ...common, dataset, model, store, batchSize: 5, onEvent: (event) => again.push(event) });
    expect(second).toMatchObject({ reused: true, rowsComputed: 0, folder: first.folder, key: first.key });
    expect(again.map((event) => event.type)).toEqual(['reused']);
    expect(model.opened).toBe(1);

    const cropped = await extractFeatures({ ...common, dataset, model: gridModel({ ...preprocessing, centerCrop: 24 }), store });
    expect(cropped.key).not.toBe(first.key);
    expect(cropped.reused).toBe(false);
  });

  it('resumes an interrupted run from its durable chunks, recomputes damaged ones, and ends byte-identical', async () => {
    const store = fresh('store');
    const stop = new AbortController();
    const model = gridModel();
    await expect(
      extractFeatures({
        ...common,
        dataset,
        model,
        store,
        signal: stop.signal,
        onEvent: (event) => {
          if (event.type === 'chunk-written') stop.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    const entry = readdirSync(store).map((name) => join(store, name))[0]!;
    const check = await verifyStoreEntry(entry);
    expect(check.problems).toEqual([]);
    expect(check).toMatchObject({ inProgress: { chunksTotal: 5 } });
    const durable = (check as { inProgress: { chunksDone: number } }).inProgress.chunksDone;
    expect(durable).toBeGreaterThanOrEqual(2);

    await expect(extractFeatures({ ...common, dataset, model, store, interrupted: 'refuse' })).rejects.toThrow(InterruptedExtractionError);

    // Damage: a flipped byte in chunk 0, chunk 1 cut short, a temporary file a killed write left behind.
    const flipped = readFileSync(chunkFile(entry, 0));
    flipped[200]! ^= 0x40;
    writeFileSync(chunkFile(entry, 0), flipped);
    writeFileSync(chunkFile(entry, 1), readFileSync(chunkFile(entry, 1)).subarray(0, 300));
    writeFileSync(join(entry, '.extraction', 'chunks', '.000004.npy.0000.tmp'), 'partial');
    const damaged = await verifyStoreEntry(entry);
    expect(damaged.problems.join('\n')).toMatch(/chunk 0 \(rows 0\.\.7\): .*000000\.npy has SHA-256 [0-9a-f]{64}, its journal record says/);
    expect(damaged.problems.join('\n')).toMatch(/chunk 1 \(rows 8\.\.15\): .*000001\.npy has 300 bytes/);

    const events: ExtractionEvent[] = [];
    const resumed = await extractFeatures({ ...common, dataset, model, store, onEvent: (event) => events.push(event) });
    expect(events.filter((event) => event.type === 'chunk-invalid').map((event) => (event as { chunk: number }).chunk)).toEqual([0, 1]);
    const resuming = events.find((event) => event.type === 'resuming') as Extract<ExtractionEvent, { type: 'resuming' }>;
    expect(resuming).toMatchObject({ chunksDone: durable - 2, chunksTotal: 5 });
    expect(resumed.rowsComputed).toBe(37 - resuming.rowsDone);
    expect(resumed.rowsComputed).toBeGreaterThanOrEqual(16);
    expect(bytesOf(resumed.folder).equals(bytesOf(reference))).toBe(true);
    expect(bytesOf(resumed.folder, 'ids.json').equals(bytesOf(reference, 'ids.json'))).toBe(true);
    expect(bytesOf(resumed.folder, 'targets.npy').equals(bytesOf(reference, 'targets.npy'))).toBe(true);

    // A finished set whose features were damaged afterwards is detected and computed again.
    const features = bytesOf(resumed.folder);
    features[features.length - 5]! ^= 0x01;
    writeFileSync(join(resumed.folder, 'features.npy'), features);
    const after: ExtractionEvent[] = [];
    const recomputed = await extractFeatures({ ...common, dataset, model, store, onEvent: (event) => after.push(event) });
    expect(after[0]).toMatchObject({ type: 'stored-damaged' });
    expect(recomputed.reused).toBe(false);
    expect(bytesOf(recomputed.folder).equals(bytesOf(reference))).toBe(true);
  });

  it('cuts shards on the chunk grid; merged, they equal one unsharded run and carry its key', async () => {
    const store = fresh('store');
    const model = gridModel();
    const shards = [];
    for (let index = 0; index < 3; index++) {
      shards.push(await extractFeatures({ ...common, dataset, model, store, shard: { index, count: 3 }, out: fresh(`shard-${index}`) }));
    }
    expect(shards.map((shard) => [shard.rows.start, shard.rows.end])).toEqual([
      [0, 8],
      [8, 24],
      [24, 37],
    ]);
    expect(new Set(shards.map((shard) => shard.key)).size).toBe(3);
    const merged = await mergeFeatureSets(
      shards.map((shard) => shard.outFolder),
      { out: fresh('merged') },
    );
    expect(bytesOf(merged.folder).equals(bytesOf(reference))).toBe(true);
    expect(bytesOf(merged.folder, 'ids.json').equals(bytesOf(reference, 'ids.json'))).toBe(true);
    expect(merged.key).toBe(JSON.parse(readFileSync(join(reference, 'manifest.json'), 'utf8')).key);

    // Merged into the store, an unsharded run finds it there.
    await mergeFeatureSets(
      shards.map((shard) => shard.folder),
      { store },
    );
    const unsharded = await extractFeatures({ ...common, dataset, model, store });
    expect(unsharded.reused).toBe(true);

    await expect(mergeFeatureSets([shards[0]!.folder, shards[2]!.folder], { out: fresh('bad') })).rejects.toThrow(
      /rows 8\.\.23 are missing: no input holds them/,
    );
    await expect(mergeFeatureSets([shards[0]!.folder, shards[1]!.folder, shards[1]!.outFolder, shards[2]!.folder], { out: fresh('bad') })).rejects.toThrow(
      /shard 1\/3 appears twice, in \S+ and \S+shard-1/,
    );
    const firstTen = await extractFeatures({ ...common, dataset, model, store, limit: 10 });
    const unshardedFolder = (await extractFeatures({ ...common, dataset, model, store })).folder;
    await expect(mergeFeatureSets([firstTen.folder, unshardedFolder], { out: fresh('bad') })).rejects.toThrow(/rows 0\.\.9 appear twice/);
    const otherCrop = await extractFeatures({
      ...common,
      dataset,
      model: gridModel({ ...preprocessing, centerCrop: 24 }),
      store,
      shard: { index: 1, count: 3 },
    });
    await expect(mergeFeatureSets([shards[0]!.folder, otherCrop.folder, shards[2]!.folder], { out: fresh('bad') })).rejects.toThrow(
      /different extractions \(preprocessing: /,
    );
  });

  it('embeds several models in one pass: each image decoded once, each set stored, reused and resumed on its own', async () => {
    const store = fresh('store');
    const [grid4, grid2, grid3] = [gridModel(), gridModel(preprocessing, 2), gridModel(preprocessing, 3)];
    // The 2x2 model alone, interrupted after its first durable chunk.
    const stop = new AbortController();
    await expect(
      extractFeatures({ ...common, dataset, model: grid2, store, signal: stop.signal, onEvent: (event) => event.type === 'chunk-written' && stop.abort() }),
    ).rejects.toThrow(/abort/i);

    const counting = countingDataset(dataset);
    const events: [ExtractionEvent['type'], number][] = [];
    const together = await extractFeatureSets({
      ...common,
      dataset: counting,
      models: [grid4, grid2],
      store,
      onEvent: (event, model) => events.push([event.type, model]),
    });
    expect(counting.decoded).toBe(37);
    expect(events).toContainEqual(['resuming', 1]);
    expect(events.filter(([type]) => type === 'started')).toEqual([
      ['started', 0],
      ['started', 1],
    ]);
    expect(events.filter(([type, model]) => type === 'progress' && model === 0)).toHaveLength(Math.ceil(8 / 3) * 4 + Math.ceil(5 / 3));
    expect(together[0]).toMatchObject({ reused: false, rowsComputed: 37 });
    expect(together[1]!.rowsComputed).toBeLessThan(37);
    expect(bytesOf(together[0]!.folder).equals(bytesOf(reference))).toBe(true);
    const alone = await extractFeatures({ ...common, dataset, model: gridModel(preprocessing, 2), store: fresh('store') });
    expect(bytesOf(together[1]!.folder).equals(bytesOf(alone.folder))).toBe(true);
    expect(together[1]!.manifest.dimension).toBe(12);

    // Again: both reused, nothing decoded or opened. With a new model: only that one is opened and computed.
    const again = await extractFeatureSets({ ...common, dataset: counting, models: [grid4, grid2], store });
    expect(again.map((result) => result.reused)).toEqual([true, true]);
    const mixed = await extractFeatureSets({ ...common, dataset: counting, models: [grid3, grid4], store });
    expect(mixed.map((result) => result.reused)).toEqual([false, true]);
    expect(counting.decoded).toBe(74);
    expect([grid4.opened, grid2.opened, grid3.opened]).toEqual([1, 2, 1]);

    await expect(extractFeatureSets({ ...common, dataset, models: [grid4, gridModel({ ...preprocessing, centerCrop: 24 }, 2)], store })).rejects.toThrow(
      /test:grid-mean-2 preprocesses as .*"centerCrop":24.*, test:grid-mean as .*; models that preprocess differently are extracted apart/,
    );
    await expect(extractFeatureSets({ ...common, dataset, models: [grid3, gridModel(preprocessing, 3)], store: fresh('store') })).rejects.toThrow(
      /test:grid-mean-3 \(model 1\) makes the same features as model 0/,
    );
  });
});

/** The dataset, counting the images decoded. */
function countingDataset(source: Dataset): Dataset & { decoded: number } {
  const counting: Dataset & { decoded: number } = {
    ...source,
    decoded: 0,
    async *samples(split, options) {
      for await (const sample of source.samples(split, options)) {
        yield {
          ...sample,
          decode: () => {
            counting.decoded++;
            return sample.decode();
          },
        };
      }
    },
  };
  return counting;
}
