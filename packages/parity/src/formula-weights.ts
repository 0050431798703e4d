// The closed-form weights and images of ../fixtures/make_fixtures.py, regenerated here bit for bit so the
// parity fixtures need to store only PyTorch's outputs. Keep the two in step (see FORMULA_VERSION there).
import type { Architecture, CanonicalWeights, Tensor } from '@medssl/spec';
import { canonicalTensorShapes } from '@medssl/weights';

/** 2: LayerScale gammas and register tokens have rules of their own; every other tensor is as in 1. */
export const FORMULA_VERSION = 2;

/** FNV-1a, 32-bit, over the UTF-8 bytes of the name. */
function nameSeed(name: string): number {
  let value = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return value;
}

/** Element i: offset + amplitude·(u − 32768)/32768, u the top 16 bits of murmur3's finaliser of (i·φ) xor seed. */
export function formulaValues(name: string, count: number, offset: number, amplitude: number): Float32Array {
  const seed = nameSeed(name);
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    let mixed = (Math.imul(index, 0x9e3779b1) ^ seed) >>> 0;
    mixed ^= mixed >>> 16;
    mixed = Math.imul(mixed, 0x85ebca6b);
    mixed ^= mixed >>> 13;
    mixed = Math.imul(mixed, 0xc2b2ae35);
    mixed ^= mixed >>> 16;
    values[index] = offset + (amplitude * ((mixed >>> 16) - 32768)) / 32768;
  }
  return values;
}

/** (offset, amplitude) of a canonical tensor, as make_fixtures.py's `formula_rule`: norms and LayerScale near identity, weights scaled by fan-in. */
export function formulaRule(name: string, shape: readonly number[]): [offset: number, amplitude: number] {
  if (name.endsWith('running_var')) return [1, 0.5];
  if (name.endsWith('running_mean')) return [0, 0.125];
  if (/(bn\d|downsample\.1|norm\d?)\.weight$/.test(name)) return [1, 0.25];
  if (name.endsWith('.gamma')) return [0.5, 0.25];
  if (name.endsWith('.bias')) return [0, 0.125];
  if (name === 'cls_token' || name === 'pos_embed' || name === 'register_tokens') return [0, 0.5];
  const fanIn = shape.slice(1).reduce((product, extent) => product * extent, 1);
  let exponent = 0;
  while (4 ** (exponent + 1) <= fanIn) exponent++;
  return [0, 2 ** (1 - exponent)];
}

export function formulaCanonicalWeights(architecture: Architecture): CanonicalWeights {
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of canonicalTensorShapes(architecture)) {
    const count = shape.reduce((product, extent) => product * extent, 1);
    tensors.set(name, { data: formulaValues(name, count, ...formulaRule(name, shape)), shape });
  }
  return { architecture, tensors, sha256: `formula-v${FORMULA_VERSION}`, source: `formula(v${FORMULA_VERSION})` };
}

export function formulaImages(count: number, size: number): Tensor {
  return { data: formulaValues(`images:${size}`, count * 3 * size * size, 0, 2), shape: [count, 3, size, size] };
}

/** make_fixtures.py's `checksum`: a position-weighted sum, exact in float64 for formula values. */
export function checksum(values: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < values.length; index++) sum += values[index]! * ((index % 13) + 1);
  return sum;
}
