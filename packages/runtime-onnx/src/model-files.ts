import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BuiltOnnxModel } from './model.js';
import { createOnnxSession, type OnnxSession, type OnnxSessionOptions } from './session.js';

/** Writes a built model to `path`, and its external data file beside it when it has one. */
export function saveOnnxModel(model: BuiltOnnxModel, path: string): void {
  writeFileSync(path, model.bytes);
  const external = model.externalData;
  if (!external) return;
  const descriptor = openSync(join(dirname(path), external.location), 'w');
  try {
    for (const part of external.parts) {
      for (let written = 0; written < part.byteLength; ) written += writeSync(descriptor, part, written);
    }
  } finally {
    closeSync(descriptor);
  }
}

/**
 * A session for a built model: from its bytes, or, for a model with external data (onnxruntime reads
 * external data from files beside a model path only), from a private temporary folder that is removed as
 * soon as the session holds the weights.
 */
export async function createBuiltModelSession(model: BuiltOnnxModel, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  if (!model.externalData) return createOnnxSession(model.bytes, options);
  const folder = mkdtempSync(join(tmpdir(), 'medssl-onnx-'));
  try {
    const path = join(folder, 'model.onnx');
    saveOnnxModel(model, path);
    return await createOnnxSession(path, options);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
