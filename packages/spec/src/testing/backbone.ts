import { embeddingDimension, type Backbone, type StateDict } from '../backbone.js';
import type { Tensor } from '../image.js';
import { check, describeShape, isPositiveInteger } from './assert.js';
import type { ConformanceCheck } from './dataset.js';

export interface BackboneExpectations {
  /** A checkpoint in the method's official layout (e.g. seeded random weights under the official keys). */
  readonly officialStateDict?: () => StateDict | Promise<StateDict>;
  readonly embeddingDimension?: number;
}

const provenance = { sha256: '0'.repeat(64), source: 'conformance-suite' };

export const backboneChecks: readonly ConformanceCheck<Backbone, BackboneExpectations>[] = [
  {
    name: 'states its id as method:variant, its architecture, preprocessing and embedding',
    async run(backbone, expectations) {
      check(backbone.specificationVersion === 'medssl/v1', `specificationVersion must be 'medssl/v1', got ${JSON.stringify(backbone.specificationVersion)}`);
      check(
        backbone.id === `${backbone.method}:${backbone.variant}`,
        `id must be "<method>:<variant>", got ${JSON.stringify(backbone.id)} for method ${backbone.method}, variant ${backbone.variant}`,
      );
      check(
        ['resnet', 'vit', 'model-file'].includes(backbone.architecture.family),
        `${backbone.id}: unknown architecture family ${JSON.stringify(backbone.architecture.family)}`,
      );
      check(
        ['checkpoint', 'seed', 'model-file'].includes(backbone.weightSource),
        `${backbone.id}: weightSource must be checkpoint, seed or model-file, got ${JSON.stringify(backbone.weightSource)}`,
      );
      check(
        ['supervised', 'self-supervised', 'none', 'unknown'].includes(backbone.pretraining?.supervision),
        `${backbone.id}: pretraining.supervision must be supervised, self-supervised, none or unknown`,
      );
      let derived: number | undefined;
      try {
        derived = embeddingDimension(backbone.architecture, backbone.embedding);
      } catch (error) {
        check(false, `${backbone.id}: ${(error as Error).message}`);
      }
      if (backbone.architecture.family !== 'model-file') {
        check(isPositiveInteger(backbone.embedding.dimension), `${backbone.id}: embedding.dimension must be a positive integer`);
        check(
          backbone.embedding.dimension === derived,
          `${backbone.id}: this embedding of this architecture has ${derived} dimensions (embeddingDimension), the backbone says ${backbone.embedding.dimension}`,
        );
      }
      if (expectations.embeddingDimension !== undefined)
        check(
          backbone.embedding.dimension === expectations.embeddingDimension,
          `${backbone.id}: expected a ${expectations.embeddingDimension}-d embedding, got ${backbone.embedding.dimension}`,
        );
      const { preprocessing } = backbone;
      check(preprocessing.channels === 3, `${backbone.id}: preprocessing.channels must be 3`);
      const crop = preprocessing.centerCrop;
      check(
        crop === undefined || isPositiveInteger(crop) || (Array.isArray(crop) && crop.every(isPositiveInteger)),
        `${backbone.id}: preprocessing.centerCrop must be a positive integer or [height, width]`,
      );
      if (preprocessing.normalize) {
        check(preprocessing.normalize.mean.length === 3 && preprocessing.normalize.std.length === 3, `${backbone.id}: normalize needs 3 means and 3 stds`);
        check(
          preprocessing.normalize.std.every((value) => value > 0),
          `${backbone.id}: normalize.std values must be positive`,
        );
      }
      check(Array.isArray(backbone.checkpoints), `${backbone.id}: checkpoints must list the official files (may be empty for random init)`);
    },
  },
  {
    name: 'lists the canonical tensors it needs with valid shapes',
    async run(backbone) {
      if (backbone.architecture.family === 'model-file') return;
      const expected = backbone.expectedTensors();
      check(expected.size > 0, `${backbone.id}: expectedTensors() is empty`);
      for (const [name, shape] of expected) {
        check(
          shape.every((extent) => Number.isSafeInteger(extent) && extent > 0),
          `${backbone.id}: tensor ${name} has an invalid shape ${describeShape(shape)}`,
        );
      }
    },
  },
  {
    name: 'maps an official checkpoint onto every canonical tensor with the right shape',
    async run(backbone, expectations) {
      if (!expectations.officialStateDict) return;
      const weights = backbone.fromStateDict(await expectations.officialStateDict(), provenance);
      check(
        weights.sha256 === provenance.sha256 && weights.source === provenance.source,
        `${backbone.id}: fromStateDict must keep the checkpoint's sha256 and source`,
      );
      const expected = backbone.expectedTensors();
      for (const [name, shape] of expected) {
        const tensor = weights.tensors.get(name);
        check(tensor !== undefined, `${backbone.id}: canonical tensor ${name} is missing after mapping`);
        check(
          describeShape(tensor.shape) === describeShape(shape),
          `${backbone.id}: canonical tensor ${name} should be ${describeShape(shape)}, got ${describeShape(tensor.shape)}`,
        );
        const count = shape.reduce((product, extent) => product * extent, 1);
        check(tensor.data.length === count, `${backbone.id}: ${name} holds ${tensor.data.length} values for shape ${describeShape(shape)}`);
      }
      for (const name of weights.tensors.keys()) check(expected.has(name), `${backbone.id}: mapping produced ${name}, which expectedTensors() does not list`);
    },
  },
  {
    name: 'names the checkpoint key when a tensor is missing or has the wrong shape',
    async run(backbone, expectations) {
      if (!expectations.officialStateDict) return;
      const official = await expectations.officialStateDict();
      let refusedMissing = false;
      let refusedShape = false;
      for (const [key, tensor] of official) {
        if (refusedMissing && refusedShape) break;
        const without = new Map(official);
        without.delete(key);
        refusedMissing ||= refusesNaming(() => backbone.fromStateDict(without, provenance), key, backbone.id);
        const reshaped: Tensor = { data: new Float32Array(tensor.data.length + 1), shape: [tensor.data.length + 1] };
        const wrong = new Map(official).set(key, reshaped);
        refusedShape ||= refusesNaming(() => backbone.fromStateDict(wrong, provenance), key, backbone.id);
      }
      check(refusedMissing, `${backbone.id}: removing any one checkpoint key was accepted; a missing tensor must be an error naming the key`);
      check(refusedShape, `${backbone.id}: a tensor of the wrong shape was accepted for every key; it must be an error naming the key and both shapes`);
    },
  },
];

/** True when `action` throws an error naming `key`; false when it succeeds (the key may be unused). */
function refusesNaming(action: () => unknown, key: string, backboneId: string): boolean {
  try {
    action();
    return false;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A mapped name (prefix stripped) is fine too, as long as the message says which tensor.
    const bare = key.split('.').slice(-2).join('.');
    check(message.includes(key) || message.includes(bare), `${backboneId}: an error about checkpoint key ${key} must name it, got: ${message}`);
    return true;
  }
}
