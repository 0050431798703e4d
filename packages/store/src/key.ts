import type { Preprocessing, SplitName } from '@medssl/spec';

/** Version of the key's own layout; bumping it keys every stored feature set anew. */
export const FEATURE_KEY_VERSION = 'medssl.feature-key/v1';

/** The stored feature format the key covers (ARCHITECTURE.md's feature-set folder). */
export const FEATURE_FORMAT = 'medssl.features/v1';

/**
 * Everything stored features depend on. Two extractions with equal inputs compute the same numbers, so
 * they share one store entry; any difference (another transform, other weights, another range of rows)
 * gives another key, so stale features are never reused.
 *
 * Left out on purpose: batch size, thread counts, worker counts and the execution provider (`cpu`,
 * `cuda`). They change how fast features are computed, not what they are (up to float rounding on
 * another provider), and a resumed run may change them.
 */
export interface FeatureKeyInputs {
  readonly keyVersion: typeof FEATURE_KEY_VERSION;
  readonly format: typeof FEATURE_FORMAT;
  readonly dataset: { readonly id: string; readonly version: string };
  readonly split: SplitName;
  /** Rows `[start, end)` of the split; a shard or a `limit` changes them. */
  readonly rows: { readonly start: number; readonly end: number };
  /** The backbone id, and for model files the output that holds the embedding. */
  readonly backbone: { readonly id: string; readonly embedding: string };
  readonly weightsSha256: string;
  /** Every field of the preprocessing, as given. */
  readonly preprocessing: Preprocessing;
  readonly runtime: { readonly id: string; readonly precision: string };
}

/** Fields of `FeatureKeyInputs` that a caller provides; the versions are filled in. */
export type FeatureKeyFields = Omit<FeatureKeyInputs, 'keyVersion' | 'format'>;

export function featureKeyInputs(fields: FeatureKeyFields): FeatureKeyInputs {
  const { start, end } = fields.rows;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`feature key: rows must be integers with 0 <= start <= end, got [${start}, ${end})`);
  }
  if (!/^[0-9a-f]{64}$/.test(fields.weightsSha256)) {
    throw new TypeError(`feature key: weightsSha256 must be 64 lowercase hex digits, got ${JSON.stringify(fields.weightsSha256)}`);
  }
  return {
    keyVersion: FEATURE_KEY_VERSION,
    format: FEATURE_FORMAT,
    dataset: { id: fields.dataset.id, version: fields.dataset.version },
    split: fields.split,
    rows: { start, end },
    backbone: { id: fields.backbone.id, embedding: fields.backbone.embedding },
    weightsSha256: fields.weightsSha256,
    preprocessing: fields.preprocessing,
    runtime: { id: fields.runtime.id, precision: fields.runtime.precision },
  };
}

/**
 * JSON with object keys sorted at every level and `undefined` fields dropped, so the same inputs give
 * the same text whatever order their fields were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

/** The content key: SHA-256 (64 hex digits) of the canonical JSON of the inputs, through Web Crypto. */
export async function featureKey(inputs: FeatureKeyInputs): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson(inputs)));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
