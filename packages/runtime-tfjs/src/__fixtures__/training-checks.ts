// Whole models against PyTorch (float64) on one backend: one train- or eval-mode forward, the running
// estimates it leaves, and the gradients of sum(embedding ⊙ R) (@medssl/parity's training fixtures).
import { readFixtureArrays, trainingDescription, type TrainingCase } from '@medssl/parity';
import type { Architecture, CanonicalWeights } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTfjsBackend, type TfjsBackendName } from '../backend.js';
import { createTfjsModel } from '../model.js';
import { canonicalGradients, everyNth, formulaCanonicalWeights, formulaValues, relativeError, testBackbone } from './reference.js';

const description = trainingDescription();

/** The ViT of the first training fixtures: DINO's layout, patch 16, width 192, depth 4, positions stored for 64x64. */
export const smallVit: Architecture = description.cases.vit_train!.architecture;

/** A float32 implementation cannot beat PyTorch's own float32 distance from float64: allow 4x that, at least 1e-4. */
export function trainingTolerance(float32Error: number): number {
  return Math.max(1e-4, 4 * float32Error);
}

/** The formula weights, with the batch-norm biases raised as make_fixtures.py raises them. */
function fixtureWeights(trainingCase: TrainingCase): CanonicalWeights {
  const weights = formulaCanonicalWeights(trainingCase.architecture);
  if (trainingCase.batchNormBiasOffset === 0) return weights;
  const tensors = new Map(weights.tensors);
  for (const [name, tensor] of tensors) {
    if (/(bn\d|downsample\.1)\.bias$/.test(name))
      tensors.set(name, { data: tensor.data.map((value) => value + trainingCase.batchNormBiasOffset), shape: tensor.shape });
  }
  return { ...weights, tensors };
}

/** Frozen stages hold no variables: a name that must not be among the trainable ones. */
function frozenVariable(trainingCase: TrainingCase): RegExp {
  const { architecture, frozenStages } = trainingCase;
  if (architecture.family === 'resnet')
    return new RegExp(`^(conv1|bn1${Array.from({ length: frozenStages }, (_, stage) => `|layer${stage + 1}`).join('')})\\.`);
  return new RegExp(
    `^(patch_embed|cls_token|pos_embed|register_tokens${Array.from({ length: frozenStages }, (_, block) => `|blocks\\.${block}`).join('')})\\b`,
  );
}

const CASES: Readonly<Record<string, string>> = {
  resnet50_train: 'ResNet-50, batch norm in train mode',
  resnet50_frozen2: 'ResNet-50 with stem, layer1 and layer2 frozen',
  resnet50_eval: 'ResNet-50, batch norm in eval mode',
  vit_train: 'ViT with interpolated positions',
  vit_frozen2: 'ViT with patch embedding and blocks 0-1 frozen',
  vit_registers_train: 'ViT with SwiGLU, LayerScale and registers, cls+avgpool, positions upsampled with antialiasing',
  vit_registers_global_pool_frozen1: 'ViT with SwiGLU, LayerScale and registers, global pool, patch embedding and block 0 frozen',
};

export interface TrainingCheckOptions {
  /** ResNet-50 cases in addition to the ViT ones (minutes on the cpu backend, seconds on wasm). */
  readonly resnet: boolean;
  /** Only these cases (by fixture name), where the backend is slow. */
  readonly cases?: readonly string[];
  readonly record: (line: string) => void;
}

export function describeTrainingChecks(backend: TfjsBackendName, options: TrainingCheckOptions): void {
  const unknown = Object.keys(description.cases).filter((name) => !(name in CASES));
  if (unknown.length > 0) throw new Error(`training.json has cases these checks do not describe: ${unknown.join(', ')}`);
  const names = Object.keys(CASES).filter((name) => (options.resnet || !name.startsWith('resnet')) && (!options.cases || options.cases.includes(name)));

  describe(`training on ${backend} against PyTorch`, () => {
    let reference: ReadonlyMap<string, Float32Array>;
    const weightsByArchitecture = new Map<string, CanonicalWeights>();
    beforeAll(async () => {
      await useTfjsBackend(backend);
      reference = await readFixtureArrays('training.npz');
    });

    for (const name of names) {
      it(`${CASES[name]}: embedding, running estimates and gradients`, async () => {
        const trainingCase = description.cases[name]!;
        const { architecture, embedding, size, frozenStages } = trainingCase;
        const key = JSON.stringify([architecture, trainingCase.batchNormBiasOffset]);
        if (!weightsByArchitecture.has(key)) weightsByArchitecture.set(key, fixtureWeights(trainingCase));
        const model = createTfjsModel(testBackbone(`test:${name}`, architecture, embedding, size), weightsByArchitecture.get(key)!, { frozenStages });
        const shape: [number, number, number, number] = [description.images, 3, size, size];
        const images = tf.tensor4d(
          formulaValues(
            trainingCase.images,
            shape.reduce((a, b) => a * b),
            0,
            2,
          ),
          shape,
        );
        const projection = tf.tensor2d(formulaValues(trainingCase.projection, description.images * model.dimension, 0, 1), [
          description.images,
          model.dimension,
        ]);
        try {
          const result = await canonicalGradients(model, images, projection, trainingCase.train);
          const compare = (label: string, actual: Float32Array, key: string) => {
            const expected = reference.get(`${name}/${key}`);
            if (!expected) throw new Error(`training.npz has no ${name}/${key}`);
            const error = relativeError(actual, expected);
            const tolerance = trainingTolerance(trainingCase.float32VersusFloat64RelativeError[key]!);
            options.record(`${backend} ${name} ${label}: ${error.toExponential(2)} (tolerance ${tolerance.toExponential(1)})`);
            expect(error, `${name} ${label}`).toBeLessThanOrEqual(tolerance);
          };
          compare('embedding', result.embedding, 'embedding');
          for (const batchNorm of trainingCase.running) {
            for (const part of ['running_mean', 'running_var'])
              compare(`${batchNorm}.${part}`, result.gradients.get(`${batchNorm}.${part}`)!.data, `${part}:${batchNorm}`);
          }
          for (const [tensor, { step }] of Object.entries(trainingCase.gradients)) {
            compare(`d/d ${tensor}`, everyNth(result.gradients.get(tensor)!.data, step), `gradient:${tensor}`);
          }
          const trainable = model.trainableVariables.map((variable) => variable.name.slice(variable.name.indexOf('/') + 1));
          if (frozenStages >= 0) expect(trainable.filter((variable) => frozenVariable(trainingCase).test(variable))).toEqual([]);
        } finally {
          model.dispose();
          tf.dispose([images, projection]);
        }
      });
    }
  });
}
