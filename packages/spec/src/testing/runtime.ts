import type { Backbone, CanonicalWeights } from '../backbone.js';
import type { Tensor } from '../image.js';
import type { Embedder, Runtime, RuntimeOptions } from '../runtime.js';
import { check, describeShape, expectFailure, seededUniform } from './assert.js';
import type { ConformanceCheck } from './dataset.js';

export interface RuntimeSubject {
  readonly runtime: Runtime;
  readonly backbone: Backbone;
  readonly weights: CanonicalWeights;
  readonly options?: RuntimeOptions;
}

export interface RuntimeExpectations {
  /** Largest absolute difference tolerated between two runs of the same image (batching, threads). */
  readonly tolerance?: number;
  /** Images per test batch; small by default to keep suites quick. */
  readonly batchSize?: number;
}

function randomBatch(count: number, shape: readonly [number, number, number], seed: number): Tensor {
  const uniform = seededUniform(seed);
  const data = new Float32Array(count * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = uniform() * 4 - 2;
  return { data, shape: [count, ...shape] };
}

function row(matrix: { data: Float32Array; shape: readonly [number, number] }, index: number): Float32Array {
  return matrix.data.subarray(index * matrix.shape[1], (index + 1) * matrix.shape[1]);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
  return largest;
}

async function withEmbedder(subject: RuntimeSubject, use: (embedder: Embedder) => Promise<void>): Promise<void> {
  const embedder = await subject.runtime.createEmbedder(subject.backbone, subject.weights, subject.options);
  try {
    await use(embedder);
  } finally {
    await embedder.dispose();
  }
}

export const runtimeChecks: readonly ConformanceCheck<RuntimeSubject, RuntimeExpectations>[] = [
  {
    name: 'creates an embedder that reports what really runs',
    async run(subject) {
      const { runtime, backbone } = subject;
      check(runtime.specificationVersion === 'medssl/v1', `specificationVersion must be 'medssl/v1', got ${JSON.stringify(runtime.specificationVersion)}`);
      await withEmbedder(subject, async (embedder) => {
        check(embedder.backboneId === backbone.id, `${runtime.id}: embedder.backboneId should be ${backbone.id}, got ${embedder.backboneId}`);
        check(embedder.runtimeId === runtime.id, `${runtime.id}: embedder.runtimeId should be ${runtime.id}, got ${embedder.runtimeId}`);
        check(
          typeof embedder.provider === 'string' && embedder.provider.length > 0,
          `${runtime.id}: embedder.provider must name the active execution provider or backend`,
        );
        check(
          embedder.dimension === backbone.embedding.dimension,
          `${runtime.id}: embedder.dimension ${embedder.dimension} differs from ${backbone.id}'s ${backbone.embedding.dimension}`,
        );
        check(embedder.inputShape[0] === 3, `${runtime.id}: input must have 3 channels, got ${describeShape(embedder.inputShape)}`);
      });
    },
  },
  {
    name: 'embeds a batch into finite [n, dimension] rows, the same on a second call',
    async run(subject, expectations) {
      const tolerance = expectations.tolerance ?? 1e-5;
      await withEmbedder(subject, async (embedder) => {
        const count = expectations.batchSize ?? 3;
        const batch = randomBatch(count, embedder.inputShape, 1);
        const first = await embedder.embed(batch);
        check(
          describeShape(first.shape) === describeShape([count, embedder.dimension]),
          `${subject.runtime.id}: expected embeddings ${describeShape([count, embedder.dimension])}, got ${describeShape(first.shape)}`,
        );
        check(
          first.data.length === count * embedder.dimension,
          `${subject.runtime.id}: embeddings hold ${first.data.length} values for shape ${describeShape(first.shape)}`,
        );
        check(first.data.every(Number.isFinite), `${subject.runtime.id}: embeddings contain NaN or infinite values`);
        const second = await embedder.embed(batch);
        const difference = maxDifference(first.data, second.data);
        check(difference <= tolerance, `${subject.runtime.id}: the same batch embedded twice differs by ${difference} (tolerance ${tolerance})`);
        let spread = 0;
        for (let i = 1; i < count; i++) spread = Math.max(spread, maxDifference(row(first, 0), row(first, i)));
        check(count < 2 || spread > tolerance, `${subject.runtime.id}: different images gave identical embeddings`);
      });
    },
  },
  {
    name: 'gives an image the same embedding alone as inside a batch',
    async run(subject, expectations) {
      const tolerance = expectations.tolerance ?? 1e-5;
      await withEmbedder(subject, async (embedder) => {
        const count = expectations.batchSize ?? 3;
        const batch = randomBatch(count, embedder.inputShape, 2);
        const together = await embedder.embed(batch);
        const imageSize = batch.data.length / count;
        const last = count - 1;
        const alone = await embedder.embed({ data: batch.data.slice(last * imageSize), shape: [1, ...embedder.inputShape] });
        const difference = maxDifference(row(together, last), row(alone, 0));
        const scale = Math.max(1, ...Array.from(row(alone, 0), Math.abs));
        check(
          difference <= tolerance * scale,
          `${subject.runtime.id}: image ${last} alone and in a batch of ${count} differ by ${difference} (tolerance ${tolerance * scale}); batch statistics leak between images`,
        );
      });
    },
  },
  {
    name: 'refuses an input of the wrong shape, naming expected and actual shapes',
    async run(subject) {
      await withEmbedder(subject, async (embedder) => {
        const [channels, height, width] = embedder.inputShape;
        const wrong: Tensor = { data: new Float32Array(channels * (height + 1) * width), shape: [1, channels, height + 1, width] };
        await expectFailure(
          () => embedder.embed(wrong),
          new RegExp(`${height + 1}`),
          `${subject.runtime.id}: embedding a [1, ${channels}, ${height + 1}, ${width}] input`,
        );
      });
    },
  },
];
