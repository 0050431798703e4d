import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Embedder, Matrix, Tensor } from '@medssl/spec';
import * as ort from 'onnxruntime-node';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface OnnxSessionOptions {
  /** Intra-op threads; onnxruntime's default (one per physical core) when absent. */
  readonly threads?: number;
  /** `cpu` (default) or `cuda`. Ignored when `executionProviders` is given. */
  readonly device?: string;
  /** Default `all`: constant folding, Conv+Add+Relu and GELU fusion, NCHWc layouts. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** onnxruntime execution provider names in order of preference, e.g. `['cuda']`; overrides `device`. */
  readonly executionProviders?: readonly string[];
  /**
   * Whether idle intra-op threads spin-wait for the next operator (onnxruntime's default, `true`). Turn it
   * off when other work (image decoding, preprocessing) shares the cores between inference calls.
   */
  readonly spinning?: boolean;
}

export interface OnnxSession {
  readonly session: ort.InferenceSession;
  /** The execution provider the session was created with (the first one asked for: creation fails otherwise). */
  readonly provider: string;
}

const DEVICES: Readonly<Record<string, string>> = { cpu: 'cpu', cuda: 'cuda' };

const CUDA_HINT =
  'onnxruntime-node ships only the CPU provider in its npm package; its install script downloads the CUDA provider. ' +
  'Allow that script (pnpm: `allowBuilds: { onnxruntime-node: true }` in pnpm-workspace.yaml) and reinstall with ' +
  '`ONNXRUNTIME_NODE_INSTALL_CUDA=1` (or `ONNXRUNTIME_NODE_INSTALL=cuda12`); it also needs an NVIDIA driver with CUDA 12 and cuDNN 9.';

function executionProvidersFor(options: OnnxSessionOptions): string[] {
  if (options.executionProviders && options.executionProviders.length > 0) return [...options.executionProviders];
  const device = options.device ?? 'cpu';
  const provider = DEVICES[device];
  if (!provider)
    throw new Error(`the onnx runtime runs on device 'cpu' or 'cuda', not '${device}' (other onnxruntime providers can be named in executionProviders)`);
  return [provider];
}

/** Where onnxruntime-node keeps its native libraries; provider libraries must lie beside the binding. */
function nativeLibraryFolder(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/**
 * Fails early, and quietly, when CUDA is asked for but cannot load: onnxruntime would otherwise log a
 * native error before throwing a terse one.
 */
function assertProvidersAvailable(providers: readonly string[]): void {
  const supported = ort.listSupportedBackends().map((backend) => backend.name);
  for (const provider of providers) {
    if (provider === 'cpu') continue;
    if (!supported.includes(provider)) {
      throw new Error(`onnxruntime-node on ${process.platform}/${process.arch} has no '${provider}' execution provider (it has ${supported.join(', ')})`);
    }
    if ((provider === 'cuda' || provider === 'tensorrt') && process.platform === 'linux') {
      const folder = nativeLibraryFolder();
      const library = folder && join(folder, `libonnxruntime_providers_${provider}.so`);
      if (library && !existsSync(library))
        throw new Error(`the ${provider.toUpperCase()} execution provider is not installed (${library} is missing). ${CUDA_HINT}`);
    }
  }
}

/** Creates an onnxruntime session on the providers asked for, or fails naming why and how to fix it. */
export async function createOnnxSession(model: Uint8Array | string, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const providers = executionProvidersFor(options);
  if (options.threads !== undefined && !(Number.isSafeInteger(options.threads) && options.threads > 0)) {
    throw new Error(`threads must be a positive integer, got ${options.threads}`);
  }
  assertProvidersAvailable(providers);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: providers,
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
  };
  try {
    const session =
      typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
    return { session, provider: providers[0]! };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const source = typeof model === 'string' ? model : `a built model of ${model.byteLength} bytes`;
    const hint = providers.some((provider) => provider === 'cuda' || provider === 'tensorrt') ? ` ${CUDA_HINT}` : '';
    throw new Error(`onnxruntime could not create a session for ${source} on [${providers.join(', ')}]: ${reason}${hint}`, { cause: error });
  }
}

export interface OnnxEmbedderFields {
  readonly session: OnnxSession;
  readonly backboneId: string;
  readonly inputName: string;
  readonly outputName: string;
  readonly inputShape: readonly [number, number, number];
  readonly dimension: number;
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** An onnxruntime session behind the `Embedder` contract: one input `[n, c, h, w]`, one output `[n, d]`. */
export class OnnxEmbedder implements Embedder {
  readonly runtimeId = 'onnx';
  readonly precision = 'float32';
  readonly backboneId: string;
  readonly provider: string;
  readonly inputShape: readonly [number, number, number];
  readonly dimension: number;
  private readonly session: ort.InferenceSession;
  private readonly inputName: string;
  private readonly outputName: string;
  private disposed = false;

  constructor(fields: OnnxEmbedderFields) {
    this.session = fields.session.session;
    this.provider = fields.session.provider;
    this.backboneId = fields.backboneId;
    this.inputName = fields.inputName;
    this.outputName = fields.outputName;
    this.inputShape = fields.inputShape;
    this.dimension = fields.dimension;
  }

  async embed(batch: Tensor): Promise<Matrix> {
    if (this.disposed) throw new Error(`${this.backboneId}: the onnx embedder has been disposed`);
    const [channels, height, width] = this.inputShape;
    const { shape } = batch;
    const count = shape[0] ?? 0;
    if (shape.length !== 4 || !Number.isSafeInteger(count) || count < 0 || shape[1] !== channels || shape[2] !== height || shape[3] !== width) {
      throw new Error(`${this.backboneId}: expected a batch of shape ${describeShape(['n', channels, height, width])}, got ${describeShape(shape)}`);
    }
    const expectedValues = count * channels * height * width;
    if (batch.data.length !== expectedValues) {
      throw new Error(`${this.backboneId}: a batch of shape ${describeShape(shape)} needs ${expectedValues} values, got ${batch.data.length}`);
    }
    if (count === 0) return { data: new Float32Array(0), shape: [0, this.dimension] };
    const input = new ort.Tensor('float32', batch.data, [count, channels, height, width]);
    const results = await this.session.run({ [this.inputName]: input }, [this.outputName]);
    const output = results[this.outputName];
    if (output?.type !== 'float32') throw new Error(`${this.backboneId}: output ${this.outputName} is ${output?.type ?? 'missing'}, not float32`);
    const rowLength = output.dims.slice(1).reduce((product, extent) => product * extent, 1);
    if (output.dims[0] !== count || rowLength !== this.dimension) {
      throw new Error(`${this.backboneId}: output ${this.outputName} has shape ${describeShape(output.dims)}, expected [${count}, ${this.dimension}]`);
    }
    // Copied: the result must not alias memory onnxruntime may reuse.
    return { data: new Float32Array(output.data as Float32Array), shape: [count, this.dimension] };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}
