// Whole models against PyTorch (float64) on one backend: one train- or eval-mode forward, the running
// estimates it leaves, and the gradients of sum(embedding ⊙ R) (see make_fixtures.py).
import { readFileSync } from 'node:fs';
import type { Architecture, CanonicalWeights, Tensor, VisionTransformerArchitecture } from '@medssl/spec';
import { DINO_POSITION_RESAMPLING, architectures, vitArchitecture } from '@medssl/weights';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTfjsBackend, type TfjsBackendName } from '../backend.js';
import { createTfjsModel } from '../model.js';
import { canonicalGradients, everyNth, fixturePath, formulaCanonicalWeights, formulaImages, formulaValues, readArrays, relativeError, testBackbone } from './reference.js';

interface CaseDescription {
  readonly gradients: Readonly<Record<string, { shape: readonly number[]; step: number }>>;
  readonly running: readonly string[];
  readonly train: boolean;
  readonly float32VersusFloat64RelativeError: Readonly<Record<string, number>>;
}

interface TrainingDescription {
  readonly images: number;
  readonly resnet: { readonly size: number; readonly images: string; readonly projection: string; readonly batchNormBiasOffset: number };
  readonly vit: { readonly architecture: { readonly patchSize: number; readonly embedDim: number; readonly depth: number; readonly heads: number; readonly mlpRatio: number; readonly imageSize: number }; readonly size: number; readonly projection: string };
  readonly cases: Readonly<Record<string, CaseDescription>>;
}

const description = JSON.parse(readFileSync(fixturePath('training.json'), 'utf8')) as TrainingDescription;

/** The ViT of the training fixtures: patch 16, width 192, depth 4, 3 heads, trained for 64x64. */
const { patchSize, embedDim, depth, heads, mlpRatio, imageSize } = description.vit.architecture;
export const smallVit: Architecture = vitArchitecture({
  patchSize,
  embedDim,
  depth,
  heads,
  mlp: { kind: 'gelu', hidden: embedDim * mlpRatio },
  positions: { grid: imageSize / patchSize, resampling: DINO_POSITION_RESAMPLING },
});

/** A float32 implementation cannot beat PyTorch's own float32 distance from float64: allow 4x that, at least 1e-4. */
export function trainingTolerance(float32Error: number): number {
  return Math.max(1e-4, 4 * float32Error);
}

/** The formula weights, with the ResNet's batch-norm biases raised as make_fixtures.py raises them. */
function fixtureWeights(architecture: Architecture): CanonicalWeights {
  const weights = formulaCanonicalWeights(architecture);
  if (architecture.family !== 'resnet') return weights;
  const tensors = new Map(weights.tensors);
  for (const [name, tensor] of tensors) {
    if (/(bn\d|downsample\.1)\.bias$/.test(name)) tensors.set(name, { data: tensor.data.map((value) => value + description.resnet.batchNormBiasOffset), shape: tensor.shape });
  }
  return { ...weights, tensors };
}

export interface TrainingCheckOptions {
  /** ResNet-50 cases in addition to the ViT ones (minutes on the cpu backend, seconds on wasm). */
  readonly resnet: boolean;
  /** Only these cases (by fixture name), where the backend is slow. */
  readonly cases?: readonly string[];
  readonly record: (line: string) => void;
}

export function describeTrainingChecks(backend: TfjsBackendName, options: TrainingCheckOptions): void {
  const vitArchitecture = smallVit;
  const cases = [
    ...(options.resnet
      ? [
          { name: 'resnet50_train', architecture: architectures.resnet50 as Architecture, frozenStages: -1, what: 'ResNet-50, batch norm in train mode' },
          { name: 'resnet50_frozen2', architecture: architectures.resnet50 as Architecture, frozenStages: 2, what: 'ResNet-50 with stem, layer1 and layer2 frozen' },
          { name: 'resnet50_eval', architecture: architectures.resnet50 as Architecture, frozenStages: -1, what: 'ResNet-50, batch norm in eval mode' },
        ]
      : []),
    { name: 'vit_train', architecture: vitArchitecture, frozenStages: -1, what: 'ViT with interpolated positions' },
    { name: 'vit_frozen2', architecture: vitArchitecture, frozenStages: 2, what: 'ViT with patch embedding and blocks 0-1 frozen' },
  ];

  describe(`training on ${backend} against PyTorch`, () => {
    let reference: ReadonlyMap<string, Tensor>;
    const weightsByArchitecture = new Map<string, CanonicalWeights>();
    beforeAll(async () => {
      await useTfjsBackend(backend);
      reference = await readArrays(fixturePath('training.npz'));
    });

    for (const { name, architecture, frozenStages, what } of cases.filter((candidate) => !options.cases || options.cases.includes(candidate.name))) {
      it(`${what}: embedding, running estimates and gradients`, async () => {
        const spec = description.cases[name]!;
        const resnet = architecture.family === 'resnet';
        const size = resnet ? description.resnet.size : description.vit.size;
        const embedding = resnet ? { name: 'pooled' as const, dimension: 2048 } : { name: 'cls-last-4' as const, dimension: 4 * (architecture as VisionTransformerArchitecture).embedDim };
        const key = JSON.stringify(architecture);
        if (!weightsByArchitecture.has(key)) weightsByArchitecture.set(key, fixtureWeights(architecture));
        const model = createTfjsModel(testBackbone(`test:${name}`, architecture, embedding.name, size), weightsByArchitecture.get(key)!, { frozenStages });
        const shape: [number, number, number, number] = [description.images, 3, size, size];
        const images = tf.tensor4d(resnet ? formulaValues(description.resnet.images, shape.reduce((a, b) => a * b), 0, 2) : formulaImages(description.images, size).data, shape);
        const projection = tf.tensor2d(formulaValues(resnet ? description.resnet.projection : description.vit.projection, description.images * embedding.dimension, 0, 1), [description.images, embedding.dimension]);
        try {
          const result = await canonicalGradients(model, images, projection, spec.train);
          const compare = (label: string, actual: Float32Array, key: string) => {
            const expected = reference.get(`${name}/${key}`);
            if (!expected) throw new Error(`training.npz has no ${name}/${key}`);
            const error = relativeError(actual, expected.data);
            const tolerance = trainingTolerance(spec.float32VersusFloat64RelativeError[key]!);
            options.record(`${backend} ${name} ${label}: ${error.toExponential(2)} (tolerance ${tolerance.toExponential(1)})`);
            expect(error, `${name} ${label}`).toBeLessThanOrEqual(tolerance);
          };
          compare('embedding', result.embedding, 'embedding');
          for (const batchNorm of spec.running) {
            for (const part of ['running_mean', 'running_var']) compare(`${batchNorm}.${part}`, result.gradients.get(`${batchNorm}.${part}`)!.data, `${part}:${batchNorm}`);
          }
          const trainable = new Set(model.trainableVariables.map((variable) => variable.name.slice(variable.name.indexOf('/') + 1)));
          for (const [tensor, { step }] of Object.entries(spec.gradients)) {
            compare(`d/d ${tensor}`, everyNth(result.gradients.get(tensor)!.data, step), `gradient:${tensor}`);
          }
          // Frozen layers hold no variables: nothing before the first trainable stage may appear.
          if (frozenStages >= 0) expect([...trainable].some((variable) => (resnet ? /^(conv1|bn1|layer[12])\./ : /^(patch_embed|cls_token|pos_embed|blocks\.[01]\.)/).test(variable))).toBe(false);
        } finally {
          model.dispose();
          tf.dispose([images, projection]);
        }
      });
    }
  });
}
