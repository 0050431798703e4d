// The suites run against small but real plugins written here, and must catch plugins that break the rules.
import { describe, expect, it } from 'vitest';
import type { Backbone, CanonicalWeights, StateDict } from '../backbone.js';
import type { Dataset, Sample, SampleOptions } from '../dataset.js';
import type { Matrix, Tensor } from '../image.js';
import type { Protocol, ProtocolInput } from '../protocol.js';
import type { Runtime } from '../runtime.js';
import type { BinaryTask } from '../task.js';
import { backboneChecks } from './backbone.js';
import { datasetChecks } from './dataset.js';
import { describeBackbone, describeDataset, describeProtocol, describeRuntime } from './describe.js';
import { protocolChecks } from './protocol.js';
import { runtimeChecks } from './runtime.js';
import { seededUniform } from './assert.js';

const binary: BinaryTask = { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' };

interface MemoryDatasetFaults {
  duplicateId?: boolean;
  sizeOffByOne?: boolean;
  ignoresStart?: boolean;
  badTarget?: boolean;
  shortPixels?: boolean;
}

/** An in-memory dataset of tiny grey images: split `train` has 6 rows, `test` 4. */
function memoryDataset(faults: MemoryDatasetFaults = {}): Dataset {
  const rows = { train: 6, test: 4 } as Record<string, number>;
  const sampleAt = (split: string, row: number): Sample => ({
    id: faults.duplicateId && row === 1 ? `${split}-0` : `${split}-${row}`,
    target: faults.badTarget && row === 2 ? 5 : row % 2,
    group: `patient-${split}-${Math.floor(row / 2)}`,
    async decode() {
      const data = new Uint8Array(faults.shortPixels ? 15 : 16).fill(row * 10);
      return { data, width: 4, height: 4, channels: 1 };
    },
  });
  return {
    specificationVersion: 'medssl/v1',
    id: 'memory',
    version: '1',
    task: binary,
    splits: ['train', 'test'],
    async size(split) {
      return rows[split]! + (faults.sizeOffByOne ? 1 : 0);
    },
    async *samples(split, options: SampleOptions = {}) {
      const start = faults.ignoresStart ? 0 : (options.start ?? 0);
      const end = options.end ?? rows[split]!;
      for (let row = start; row < end; row++) {
        options.signal?.throwIfAborted();
        yield sampleAt(split, row);
      }
    },
  };
}

describeDataset('memory dataset', () => memoryDataset(), {
  counts: { train: 6, test: 4 },
  classCounts: { train: { normal: 3, tumour: 3 }, test: { normal: 2, tumour: 2 } },
});

async function failures(dataset: Dataset): Promise<string[]> {
  const messages: string[] = [];
  for (const conformance of datasetChecks) {
    await conformance.run(dataset, { counts: { train: 6, test: 4 } }).catch((error: Error) => messages.push(error.message));
  }
  return messages;
}

describe('dataset checks catch broken datasets', () => {
  it.each([
    ['duplicateId', /id "train-0" also appears in split train/],
    ['sizeOffByOne', /size\(\) says 7, iteration yielded 6/],
    ['ignoresStart', /samples\(\{ start: 2, end: 4 \}\) gave 4 rows that differ/],
    ['badTarget', /row 2 \(train-2\): class index 5 is outside 0\.\.1/],
    ['shortPixels', /4x4x1 needs 16 values, got 15/],
  ] as const)('%s', async (fault, pattern) => {
    const messages = await failures(memoryDataset({ [fault]: true }));
    expect(messages.join('\n')).toMatch(pattern);
  });

  it('passes a correct dataset', async () => {
    expect(await failures(memoryDataset())).toEqual([]);
  });
});

// A tiny vision transformer's patch embedding: enough architecture for a real backbone/runtime pair.
const patch = 4;
const width = 8;
function patchBackbone(options: { ignoresShape?: boolean } = {}): Backbone {
  const expected = new Map<string, readonly number[]>([
    ['patch_embed.weight', [width, 3, patch, patch]],
    ['patch_embed.bias', [width]],
  ]);
  return {
    specificationVersion: 'medssl/v1',
    id: 'toy:patch8',
    method: 'toy',
    variant: 'patch8',
    architecture: {
      family: 'vit',
      patchSize: patch,
      embedDim: width,
      depth: 1,
      heads: 2,
      mlp: { kind: 'gelu', hidden: 4 * width },
      layerScale: false,
      registers: 0,
      layerNormEpsilon: 1e-6,
      positions: { grid: 2, resampling: { mode: 'bicubic', offset: 0.1, antialias: false } },
    },
    preprocessing: { resize: { size: 8, interpolation: 'bilinear' }, centerCrop: 8, channels: 3 },
    embedding: { kind: 'tokens', classTokens: 1, patchMean: false, tokenNorm: 'final', outputNorm: 'none', dimension: width },
    pretraining: { supervision: 'none', data: 'none', domain: 'natural' },
    weightSource: 'seed',
    checkpoints: [],
    expectedTensors: () => expected,
    fromStateDict(stateDict: StateDict, provenance): CanonicalWeights {
      const tensors = new Map<string, Tensor>();
      for (const [name, shape] of expected) {
        const key = `module.${name.replace('patch_embed.', 'patch_embed.proj.')}`;
        const tensor = stateDict.get(key);
        if (!tensor) throw new Error(`checkpoint key ${key} is missing`);
        if (!options.ignoresShape && tensor.shape.join() !== shape.join()) {
          throw new Error(`checkpoint key ${key}: expected [${shape.join(', ')}], got [${tensor.shape.join(', ')}]`);
        }
        tensors.set(name, tensor);
      }
      return { architecture: this.architecture, tensors, ...provenance };
    },
  };
}

function officialStateDict(): StateDict {
  const uniform = seededUniform(5);
  const weight = Float32Array.from({ length: width * 3 * patch * patch }, () => uniform() - 0.5);
  return new Map<string, Tensor>([
    ['module.patch_embed.proj.weight', { data: weight, shape: [width, 3, patch, patch] }],
    ['module.patch_embed.proj.bias', { data: new Float32Array(width).fill(0.1), shape: [width] }],
    ['module.head.weight', { data: new Float32Array(4), shape: [4] }], // unused by the backbone
  ]);
}

describeBackbone('toy patch backbone', () => patchBackbone(), { officialStateDict, embeddingDimension: 8 });

describe('backbone checks catch a backbone that accepts wrong shapes', () => {
  it('reports it', async () => {
    const check = backboneChecks.find((candidate) => candidate.name.startsWith('names the checkpoint key'))!;
    await expect(check.run(patchBackbone({ ignoresShape: true }), { officialStateDict })).rejects.toThrow(
      /a tensor of the wrong shape was accepted for every key/,
    );
  });
});

/** Mean over patches of the patch projection: batch-independent, deterministic. */
function patchRuntime(options: { batchLeak?: boolean } = {}): Runtime {
  return {
    specificationVersion: 'medssl/v1',
    id: 'toy-js',
    async createEmbedder(backbone, weights) {
      const kernel = weights.tensors.get('patch_embed.weight')!.data;
      const bias = weights.tensors.get('patch_embed.bias')!.data;
      const size = 8;
      return {
        backboneId: backbone.id,
        runtimeId: 'toy-js',
        provider: 'javascript',
        precision: 'float32',
        inputShape: [3, size, size],
        dimension: width,
        async embed(batch: Tensor): Promise<Matrix> {
          const [count, channels, height, widthPixels] = batch.shape as [number, number, number, number];
          if (channels !== 3 || height !== size || widthPixels !== size) {
            throw new Error(`expected input [n, 3, ${size}, ${size}], got [${batch.shape.join(', ')}]`);
          }
          const out = new Float32Array(count * width);
          const batchMean = options.batchLeak ? batch.data.reduce((a, b) => a + b, 0) / batch.data.length : 0;
          for (let image = 0; image < count; image++) {
            for (let feature = 0; feature < width; feature++) {
              let sum = 0;
              for (let py = 0; py < size; py += patch) {
                for (let px = 0; px < size; px += patch) {
                  let value = bias[feature]!;
                  for (let c = 0; c < 3; c++) {
                    for (let y = 0; y < patch; y++) {
                      for (let x = 0; x < patch; x++) {
                        const pixel = batch.data[((image * 3 + c) * size + py + y) * size + px + x]! - batchMean;
                        value += pixel * kernel[((feature * 3 + c) * patch + y) * patch + x]!;
                      }
                    }
                  }
                  sum += value;
                }
              }
              out[image * width + feature] = sum / ((size / patch) * (size / patch));
            }
          }
          return { data: out, shape: [count, width] };
        },
        async dispose() {},
      };
    },
  };
}

const toyWeights = () => patchBackbone().fromStateDict(officialStateDict(), { sha256: 'a'.repeat(64), source: 'toy' });
describeRuntime('toy runtime', () => ({ runtime: patchRuntime(), backbone: patchBackbone(), weights: toyWeights() }));

describe('runtime checks catch batch statistics leaking between images', () => {
  it('reports it', async () => {
    const check = runtimeChecks.find((candidate) => candidate.name.startsWith('gives an image the same embedding'))!;
    await expect(check.run({ runtime: patchRuntime({ batchLeak: true }), backbone: patchBackbone(), weights: toyWeights() }, {})).rejects.toThrow(
      /batch statistics leak between images/,
    );
  });
});

/** Nearest class centroid; scores are the difference of distances. */
function centroidProtocol(options: { ignoresTrainRows?: boolean } = {}): Protocol {
  return {
    specificationVersion: 'medssl/v1',
    id: 'centroid',
    supports: ['binary'],
    async evaluate(input: ProtocolInput) {
      const dimension = input.train.features.shape[1];
      for (const split of ['val', 'test'] as const) {
        const other = input[split].features.shape[1];
        if (other !== dimension) throw new Error(`train features are ${dimension}-d, ${split} features ${other}-d`);
      }
      const rows =
        options.ignoresTrainRows || !input.trainRows ? Array.from({ length: input.train.features.shape[0] }, (_, row) => row) : Array.from(input.trainRows);
      const centroids = [new Float64Array(dimension), new Float64Array(dimension)];
      const counts = [0, 0];
      for (const row of rows) {
        const target = input.train.targets.data[row]!;
        counts[target]!++;
        for (let column = 0; column < dimension; column++) centroids[target]![column]! += input.train.features.data[row * dimension + column]!;
      }
      centroids.forEach((centroid, target) => centroid.forEach((value, column) => (centroid[column] = value / counts[target]!)));
      const auc = (set: typeof input.test) => {
        const scores = Array.from({ length: set.features.shape[0] }, (_, row) => {
          let distance0 = 0;
          let distance1 = 0;
          for (let column = 0; column < dimension; column++) {
            const value = set.features.data[row * dimension + column]!;
            distance0 += (value - centroids[0]![column]!) ** 2;
            distance1 += (value - centroids[1]![column]!) ** 2;
          }
          return distance0 - distance1;
        });
        let wins = 0;
        let pairs = 0;
        scores.forEach((positive, i) => {
          if (set.targets.data[i] !== 1) return;
          scores.forEach((negative, j) => {
            if (set.targets.data[j] !== 0) return;
            pairs++;
            wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
          });
        });
        return wins / pairs;
      };
      return { metrics: { auc: auc(input.test) }, validation: { auc: auc(input.val) }, selected: {} };
    },
  };
}

describeProtocol('nearest-centroid protocol', () => centroidProtocol());

describe('protocol checks catch a protocol that ignores trainRows', () => {
  it('reports it', async () => {
    const check = protocolChecks.find((candidate) => candidate.name.startsWith('learns from trainRows only'))!;
    await expect(check.run(centroidProtocol({ ignoresTrainRows: true }), {})).rejects.toThrow(/rows outside trainRows must not be used/);
  });
});
