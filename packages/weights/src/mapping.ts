import { truncateText } from '@medssl/arrays';
import type { Architecture, CanonicalWeights, StateDict, Tensor } from '@medssl/spec';
import { canonicalTensorShapes, describeArchitecture } from './canonical.js';

/**
 * Where a checkpoint key's tensor goes: a canonical name, or one of `parts` equal parts of one, joined in
 * part order along the first axis (Hugging Face stores a ViT's query, key and value apart; the canonical
 * layout fuses them into `attn.qkv`).
 */
export type CanonicalTarget = string | { readonly name: string; readonly part: number; readonly parts: number };

export interface CanonicalMapping {
  readonly architecture: Architecture;
  /**
   * Where a checkpoint key goes, or `undefined` for keys the backbone does not use (classifier heads,
   * projection heads, prototypes, `num_batches_tracked`).
   */
  readonly canonicalName: (checkpointKey: string) => CanonicalTarget | undefined;
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
  const pieces = new Map<string, { parts: number; found: ({ key: string; tensor: Tensor } | undefined)[] }>();
  const network = describeArchitecture(mapping.architecture);
  for (const [key, tensor] of stateDict) {
    const target = mapping.canonicalName(key);
    if (target === undefined) continue;
    const name = typeof target === 'string' ? target : target.name;
    const shape = expected.get(name);
    if (!shape)
      throw new Error(
        `${provenance.source}: checkpoint key ${truncateText(key)} maps to ${name}, which a ${network} does not have; is this the right variant?`,
      );
    if (typeof target === 'string') {
      if (shape.join() !== tensor.shape.join()) {
        throw new Error(
          `${provenance.source}: checkpoint key ${truncateText(key)} has shape [${truncateText(tensor.shape.join(', '))}], a ${network} needs [${shape.join(', ')}] for ${name}`,
        );
      }
      const previous = origin.get(name);
      if (previous !== undefined)
        throw new Error(`${provenance.source}: checkpoint keys ${truncateText(previous)} and ${truncateText(key)} both map to ${name}`);
      origin.set(name, key);
      tensors.set(name, tensor);
      continue;
    }
    const { part, parts } = target;
    const partShape = [shape[0]! / parts, ...shape.slice(1)];
    if (partShape.join() !== tensor.shape.join()) {
      throw new Error(
        `${provenance.source}: checkpoint key ${truncateText(key)} has shape [${truncateText(tensor.shape.join(', '))}], a ${network} needs [${partShape.join(', ')}] for part ${part + 1} of ${parts} of ${name}`,
      );
    }
    const entry = pieces.get(name) ?? { parts, found: new Array(parts).fill(undefined) };
    pieces.set(name, entry);
    const previous = entry.found[part];
    if (previous)
      throw new Error(`${provenance.source}: checkpoint keys ${truncateText(previous.key)} and ${truncateText(key)} both map to part ${part + 1} of ${name}`);
    entry.found[part] = { key, tensor };
  }
  for (const [name, { parts, found }] of pieces) {
    const absent = found.flatMap((piece, part) => (piece ? [] : [part + 1]));
    if (absent.length > 0) {
      const present = found.flatMap((piece) => (piece ? [piece.key] : []));
      throw new Error(
        `${provenance.source}: ${name} is made of ${parts} checkpoint tensors; ${present.join(', ')} ${present.length === 1 ? 'is' : 'are'} there, part ${absent.join(' and ')} is missing`,
      );
    }
    if (origin.has(name))
      throw new Error(
        `${provenance.source}: checkpoint key ${origin.get(name)} and the parts ${found.map((piece) => piece!.key).join(', ')} all map to ${name}`,
      );
    tensors.set(
      name,
      concatenateParts(
        found.map((piece) => piece!.tensor),
        expected.get(name)!,
      ),
    );
    origin.set(name, found[0]!.key);
  }
  const missing = [...expected.keys()].filter((name) => !tensors.has(name));
  if (missing.length > 0) {
    // Name the missing key as this checkpoint spells its keys: the layout's key with the checkpoint's own
    // prefix (a `vit.` before transformers' names), or the canonical name with it (`teacher.backbone.`).
    const [mappedName, mappedKey] = [...origin][0] ?? [];
    const layoutKey = mappedName !== undefined ? expectedKey(mappedName) : undefined;
    let missingKey = expectedKey(missing[0]!);
    if (layoutKey !== undefined && mappedKey!.endsWith(layoutKey)) missingKey = `${mappedKey!.slice(0, mappedKey!.length - layoutKey.length)}${missingKey}`;
    else if (mappedName !== undefined && mappedKey!.endsWith(mappedName))
      missingKey = `${mappedKey!.slice(0, mappedKey!.length - mappedName.length)}${missing[0]}`;
    const layout = mapping.describeLayout ? ` (${mapping.describeLayout})` : '';
    throw new Error(
      `${provenance.source}: checkpoint key ${missingKey} is missing${missing.length > 1 ? `, and ${missing.length - 1} more` : ''}; expected the layout${layout} of a ${describeArchitecture(mapping.architecture)}`,
    );
  }
  return { architecture: mapping.architecture, tensors, sha256: provenance.sha256, source: provenance.source };
}

/** Tensors of equal shape joined along the first axis, as float32 (the canonical layout's type). */
function concatenateParts(parts: readonly Tensor[], shape: readonly number[]): Tensor {
  const data = new Float32Array(shape.reduce((product, extent) => product * extent, 1));
  let offset = 0;
  for (const part of parts) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  return { data, shape };
}

/** Strips the first matching prefix (e.g. `module.`, `backbone.`) from a key; keys without one are kept. */
export function stripPrefixes(key: string, prefixes: readonly string[]): string {
  for (const prefix of prefixes) if (key.startsWith(prefix)) return key.slice(prefix.length);
  return key;
}

/**
 * A state dict in some official layout, for tests and examples: every canonical tensor (zero-filled, or
 * taken from `weights`) under the key `checkpointKey` gives it (split into equal parts along the first axis
 * where it gives several keys), plus extra keys the layout carries (heads, counters) that a backbone must
 * ignore.
 */
export function stateDictInLayout(
  architecture: Architecture,
  checkpointKey: (canonicalName: string) => string | readonly string[],
  extraKeys: Readonly<Record<string, readonly number[]>> = {},
  weights?: ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const stateDict = new Map<string, Tensor>();
  const zeros = (shape: readonly number[]): Tensor => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
  for (const [name, shape] of canonicalTensorShapes(architecture)) {
    const tensor = weights?.get(name) ?? zeros(shape);
    const keys = checkpointKey(name);
    if (typeof keys === 'string') {
      stateDict.set(keys, tensor);
      continue;
    }
    // Split along the first axis into as many equal parts as keys (query, key, value from a fused qkv).
    const partSize = tensor.data.length / keys.length;
    keys.forEach((key, part) =>
      stateDict.set(key, { data: tensor.data.slice(part * partSize, (part + 1) * partSize), shape: [shape[0]! / keys.length, ...shape.slice(1)] }),
    );
  }
  for (const [key, shape] of Object.entries(extraKeys)) stateDict.set(key, zeros(shape));
  return stateDict;
}
