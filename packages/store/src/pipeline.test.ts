import { existsSync, readFileSync } from 'node:fs';
import type { Preprocessing, Sample } from '@medssl/spec';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { expect, it } from 'vitest';
import { decodeImageFile } from '@medssl/core/node';
import { preprocess } from '@medssl/core';
import { fileDataset, identityEmbedder, pcamFiles } from './__fixtures__/test-kit.js';
import { createPipelineStats, embedBatches } from './pipeline.js';
import { createPreprocessPool } from './preprocess-pool.js';

const preprocessing: Preprocessing = {
  resize: { size: 64, interpolation: 'bicubic' },
  centerCrop: 56,
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  channels: 3,
};

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describeWithSharedData('embedBatches', ['pcam/data/train'], () => {
  it.each([
    ['decoded here', false],
    ['decoded by the workers from their files', true],
  ])('feeds inference exactly what preprocess() makes, in order, from worker threads (images %s)', async (_how, encoded) => {
    // PCam JPEG patches (RGB 96x96), ChestX-ray14 PNGs (64x64, RGB and RGBA) and two 512x512 grey X-rays.
    const files = [
      ...pcamFiles('valid').slice(0, 9),
      ...['00000001_000.png', '00000002_000.png', '00000003_001.png'].map((name, index) => ({
        path: sharedData('chestxray14', 'images', name),
        label: index % 2,
        id: name,
      })),
      ...['00000001_000.png', '00027426_000.png'].map((name, index) => ({ path: sharedData('xray-samples', name), label: index, id: `big-${name}` })),
    ].filter((file) => existsSync(file.path));
    const samples = await collect(fileDataset(files, 'test-1', { encoded }).samples('train'));
    const groups = [samples.slice(0, 3), samples.slice(3, 4), samples.slice(4, 9), samples.slice(9)];
    const stats = createPipelineStats();
    const embedder = identityEmbedder(56, 56);
    const batches = await collect(embedBatches({ embedder, preprocessing, batches: groups, batchSize: 5, workers: 2, depth: 2, stats }));
    expect(batches.map((batch) => batch.samples.map((sample) => sample.id))).toEqual(groups.map((group) => group.map((sample) => sample.id)));
    expect(stats).toMatchObject({ batches: 4, images: files.length });
    let row = 0;
    for (const batch of batches) {
      for (let index = 0; index < batch.samples.length; index++, row++) {
        const expected = preprocess(await decodeImageFile(files[row]!.path), preprocessing).data;
        const actual = batch.features.subarray(index * expected.length, (index + 1) * expected.length);
        expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer)), files[row]!.path).toBe(true);
      }
    }
  });

  it('reports a failing image at its batch, after the batches before it, and stops the workers', async () => {
    const files = pcamFiles('valid').slice(0, 6);
    const samples = await collect(fileDataset(files).samples('train'));
    const missing: Sample = { ...samples[4]!, source: '/nowhere/missing.jpg', decode: () => decodeImageFile('/nowhere/missing.jpg') };
    const groups = [samples.slice(0, 2), samples.slice(2, 4), [missing, samples[5]!]];
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const batch of embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: groups, batchSize: 2, workers: 1 })) {
          seen.push(...batch.samples.map((sample) => sample.id));
        }
      })(),
    ).rejects.toThrow(/\/nowhere\/missing\.jpg: cannot read image file \(ENOENT\)/);
    expect(seen).toEqual(samples.slice(0, 4).map((sample) => sample.id));

    // A damaged file decoded by a worker is named too.
    const damaged: Sample = {
      ...samples[0]!,
      source: '/data/damaged.png',
      encoded: async () => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    };
    await expect(collect(embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: [[damaged]], batchSize: 1, workers: 1 }))).rejects.toThrow(
      /^\/data\/damaged\.png: cannot decode image \(truncated PNG: the chunk at byte 8 is cut off/,
    );

    // A sample's pixel limit (its dataset's maxPixels) holds where a worker decodes its file (96x96 patches here).
    const [fileSample] = await collect(fileDataset(files, 'test-1', { encoded: true }).samples('train'));
    const limited: Sample = { ...fileSample!, maxPixels: 9215 };
    await expect(collect(embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: [[limited]], batchSize: 1, workers: 1 }))).rejects.toThrow(
      /patch\d+\.jpg: cannot decode image \(too large JPEG: 96x96 is 9216 pixels, above the limit of 9215; raise the maxPixels option/,
    );
    expect(
      await collect(
        embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: [[{ ...limited, maxPixels: 9216 }]], batchSize: 1, workers: 1 }),
      ),
    ).toHaveLength(1);

    // An image that does not end up the backbone's size is named with both sizes.
    const uncropped: Preprocessing = { resize: { size: 60, interpolation: 'bilinear' }, channels: 3 };
    await expect(
      collect(embedBatches({ embedder: identityEmbedder(56, 56), preprocessing: uncropped, batches: [samples.slice(0, 1)], batchSize: 1, workers: 1 })),
    ).rejects.toThrow(/patch\d+\.jpg: a 96x96 image preprocesses to 60x60, the backbone takes 56x56/);
    const encodedSamples = await collect(fileDataset(files, 'test-1', { encoded: true }).samples('train'));
    await expect(
      collect(embedBatches({ embedder: identityEmbedder(56, 56), preprocessing: uncropped, batches: [encodedSamples.slice(0, 1)], batchSize: 1, workers: 1 })),
    ).rejects.toThrow(/patch\d+\.jpg: a 96x96 image preprocesses to 60x60, the backbone takes 56x56/);
  });

  it('reads the source no further than its depth ahead, and stops cleanly when left early', async () => {
    const files = pcamFiles('valid').slice(0, 12);
    const samples = await collect(fileDataset(files).samples('train'));
    let pulled = 0;
    function* groups() {
      for (let start = 0; start < samples.length; start += 2) {
        pulled++;
        yield samples.slice(start, start + 2);
      }
    }
    const iterator = embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: groups(), batchSize: 2, workers: 1, depth: 2 })[
      Symbol.asyncIterator
    ]();
    await iterator.next();
    // One batch consumed, two slots filling: at most one more group pulled while the producer waits for a slot.
    expect(pulled).toBeLessThanOrEqual(4);
    await iterator.return?.(undefined);
    expect(pulled).toBeLessThan(6);
  });

  it('takes over a pool started beforehand, and refuses one that does not fit, naming why', async () => {
    const files = pcamFiles('valid').slice(0, 4);
    const samples = await collect(fileDataset(files, 'test-1', { encoded: true }).samples('train'));
    const poolFor = (settings: { preprocessing?: Preprocessing; slotImages?: number; size?: number }) => {
      const size = settings.size ?? 56;
      return createPreprocessPool({
        workers: 1,
        preprocessing: settings.preprocessing ?? preprocessing,
        slots: 2,
        slotImages: settings.slotImages ?? 2,
        imageValues: 3 * size * size,
        inputSize: [size, size],
      });
    };
    const pool = poolFor({});
    const batches = await collect(
      embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: [samples.slice(0, 2), samples.slice(2)], batchSize: 2, pool }),
    );
    expect(batches.flatMap((batch) => batch.samples.map((sample) => sample.id))).toEqual(samples.map((sample) => sample.id));
    const expected = preprocess(await decodeImageFile(files[3]!.path), preprocessing).data;
    expect(Array.from(batches[1]!.features.subarray(expected.length))).toEqual(Array.from(expected));
    // Closed once the pipeline is done with it.
    await expect(pool.preprocess(0, 0, await samples[0]!.encoded!(), 'after')).rejects.toThrow(/closed/);

    for (const [settings, reason] of [
      [{ size: 48 }, /its images hold 6912 values, the embedder's 9408; it checks images against 48x48, the embedder takes 56x56/],
      [{ slotImages: 1 }, /its batches hold 1 images, the pipeline's 2/],
      [{ preprocessing: { ...preprocessing, centerCrop: 56, resize: { size: 60, interpolation: 'bilinear' } } }, /its preprocessing .* is not /],
    ] as const) {
      const unfit = poolFor(settings);
      await expect(
        collect(embedBatches({ embedder: identityEmbedder(56, 56), preprocessing, batches: [samples.slice(0, 2)], batchSize: 2, pool: unfit })),
      ).rejects.toThrow(reason);
      await expect(unfit.preprocess(0, 0, await samples[0]!.encoded!(), 'after')).rejects.toThrow(/closed/);
    }
  });

  it('lets the waiting thread prepare the first images while the workers start, then leaves the rest to them', async () => {
    const files = pcamFiles('valid').slice(0, 3);
    const pool = createPreprocessPool({ workers: 1, preprocessing, slots: 1, slotImages: 4, imageValues: 3 * 56 * 56, inputSize: [56, 56] });
    try {
      const jobs = files.map((file, index) => pool.preprocess(0, index, new Uint8Array(readFileSync(file.path)), file.path));
      const damaged = pool.preprocess(0, 3, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), '/data/damaged.png');
      damaged.catch(() => undefined); // checked below
      // Starting a worker takes turns of the event loop: the jobs wait, and this thread runs the first itself.
      expect(await pool.helpOne()).toBe(true);
      await jobs[0];
      // Nothing else helps: the other jobs are done by the worker once it has started.
      await Promise.all(jobs);
      await expect(damaged).rejects.toThrow(/^\/data\/damaged\.png: cannot decode image \(truncated PNG/);
      for (const [index, file] of files.entries()) {
        const expected = preprocess(await decodeImageFile(file.path), preprocessing).data;
        expect(Array.from(pool.slotView(0).subarray(index * expected.length, (index + 1) * expected.length)), file.path).toEqual(Array.from(expected));
      }
      const later = pool.preprocess(0, 0, new Uint8Array(readFileSync(files[0]!.path)), files[0]!.path);
      expect(await pool.helpOne()).toBe(false);
      await later;
    } finally {
      await pool.close();
    }
    // With nothing to do yet, it waits for a job, unless what it helps towards is settled.
    const idle = createPreprocessPool({ workers: 1, preprocessing, slots: 1, slotImages: 1, imageValues: 3 * 56 * 56 });
    try {
      expect(await idle.helpOne(Promise.resolve())).toBe(false);
    } finally {
      await idle.close();
    }
  });
});
