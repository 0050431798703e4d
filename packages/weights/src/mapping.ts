import type { Architecture, CanonicalWeights, StateDict, Tensor } from '@medssl/spec';
import { canonicalTensorShapes, describeArchitecture } from './canonical.js';

export interface CanonicalMapping {
  readonly architecture: Architecture;
  /**
   * The canonical name a checkpoint key stands for, or `undefined` for keys the backbone does not use
   * (classifier heads, projection heads, prototypes, `num_batches_tracked`).
   */
  readonly canonicalName: (checkpointKey: string) => string | undefined;
  /** Optional check that the state dict is this method's layout at all, e.g. DINO's `teacher` wrapper. */
  readonly describeLayout?: string;
}

/**
 * Maps a checkpoint's tensors onto canonical names and checks every shape. Errors name the checkpoint key,
 * the canonical tensor, and the expected and actual shapes; a canonical tensor no key maps to is an error
 * naming the key the layout expects.
 */
export function mapToCanonical(
  stateDict: StateDict,
  mapping: CanonicalMapping,
  provenance: { sha256: string; source: string },
  expectedKey: (canonicalName: string) => string = (name) => name,
): CanonicalWeights {
  const expected = canonicalTensorShapes(mapping.architecture);
  const tensors = new Map<string, Tensor>();
  const origin = new Map<string, string>();
  for (const [key, tensor] of stateDict) {
    const name = mapping.canonicalName(key);
    if (name === undefined) continue;
    const shape = expected.get(name);
    if (!shape) {
      throw new Error(
        `${provenance.source}: checkpoint key ${key} maps to ${name}, which a ${describeArchitecture(mapping.architecture)} does not have; is this the right variant?`,
      );
    }
    if (shape.join() !== tensor.shape.join()) {
      throw new Error(
        `${provenance.source}: checkpoint key ${key} has shape [${tensor.shape.join(', ')}], a ${describeArchitecture(mapping.architecture)} needs [${shape.join(', ')}] for ${name}`,
      );
    }
    const previous = origin.get(name);
    if (previous !== undefined) throw new Error(`${provenance.source}: checkpoint keys ${previous} and ${key} both map to ${name}`);
    origin.set(name, key);
    tensors.set(name, tensor);
  }
  const missing = [...expected.keys()].filter((name) => !tensors.has(name));
  if (missing.length > 0) {
    // Name the missing key as this checkpoint spells its keys (e.g. with its `teacher.backbone.` prefix).
    const [mappedName, mappedKey] = [...origin][0] ?? [];
    const prefix = mappedName !== undefined && mappedKey!.endsWith(mappedName) ? mappedKey!.slice(0, mappedKey!.length - mappedName.length) : undefined;
    const missingKey = prefix !== undefined ? `${prefix}${missing[0]}` : expectedKey(missing[0]!);
    const layout = mapping.describeLayout ? ` (${mapping.describeLayout})` : '';
    throw new Error(
      `${provenance.source}: checkpoint key ${missingKey} is missing${missing.length > 1 ? `, and ${missing.length - 1} more` : ''}; expected the layout${layout} of a ${describeArchitecture(mapping.architecture)}`,
    );
  }
  return { architecture: mapping.architecture, tensors, sha256: provenance.sha256, source: provenance.source };
}

/** Strips the first matching prefix (e.g. `module.`, `backbone.`) from a key; keys without one are kept. */
export function stripPrefixes(key: string, prefixes: readonly string[]): string {
  for (const prefix of prefixes) if (key.startsWith(prefix)) return key.slice(prefix.length);
  return key;
}

/**
 * A state dict in some official layout, for tests and examples: every canonical tensor (zero-filled, or
 * taken from `weights`) under the key `checkpointKey` gives it, plus extra keys the layout carries (heads,
 * counters) that a backbone must ignore.
 */
export function stateDictInLayout(
  architecture: Architecture,
  checkpointKey: (canonicalName: string) => string,
  extraKeys: Readonly<Record<string, readonly number[]>> = {},
  weights?: ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const stateDict = new Map<string, Tensor>();
  const zeros = (shape: readonly number[]): Tensor => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
  for (const [name, shape] of canonicalTensorShapes(architecture)) stateDict.set(checkpointKey(name), weights?.get(name) ?? zeros(shape));
  for (const [key, shape] of Object.entries(extraKeys)) stateDict.set(key, zeros(shape));
  return stateDict;
}
