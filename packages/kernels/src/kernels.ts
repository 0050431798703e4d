import { javascriptPanelProduct, javascriptPanelProduct64 } from './javascript-kernels.js';
import { kernelModuleBytes, type PanelProduct } from './wasm-kernels.js';

/** Which implementation runs the matrix products: WebAssembly SIMD, or plain JavaScript. */
export type KernelChoice = 'auto' | 'wasm-simd' | 'javascript';

/**
 * Float32 matrix products over buffers that the kernels own. A and C as in `panelProduct` (see
 * `wasm-kernels.ts`); offsets and strides count elements.
 */
export interface MatrixKernels<Buffer extends Float32Array | Float64Array = Float32Array> {
  readonly name: 'wasm-simd' | 'javascript';
  /** Zero-filled buffers of the given lengths, all usable by `product`; call once per workspace. */
  allocate(lengths: readonly number[]): Buffer[];
  product(
    transposedA: boolean,
    rowCount: number,
    depth: number,
    panelCount: number,
    a: Buffer,
    aOffset: number,
    aStride: number,
    b: Buffer,
    bOffset: number,
    bPanelStride: number,
    c: Buffer,
    cOffset: number,
    cPanelStride: number,
    accumulate: boolean,
  ): void;
}

/** The products in float64, with panels of `PANEL_WIDTH_64` (4) columns: for sums that float32 would round. */
export type Float64MatrixKernels = MatrixKernels<Float64Array>;

/**
 * The part of the WebAssembly JavaScript API the kernels use, declared here so that the package needs
 * neither the DOM library nor Node's types to compile.
 */
interface WebAssemblyMemory {
  readonly buffer: ArrayBuffer;
}
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<object>;
  Memory: new (descriptor: { initial: number }) => WebAssemblyMemory;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

const webAssembly = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;

const WASM_PAGE_BYTES = 65_536;
/** wasm32 addresses 4 GiB at most. */
const WASM_MAXIMUM_PAGES = 65_536;

let compiledModule: Promise<object | undefined> | undefined;

/** The kernel module compiled once per process; undefined where WebAssembly or its SIMD is missing. */
function kernelModule(): Promise<object | undefined> {
  compiledModule ??= (async () => {
    if (webAssembly === undefined) return undefined;
    const bytes = kernelModuleBytes();
    if (!webAssembly.validate(bytes)) return undefined;
    try {
      return await webAssembly.compile(bytes);
    } catch {
      // A content security policy may forbid compiling WebAssembly; the JavaScript kernels still work.
      return undefined;
    }
  })();
  return compiledModule;
}

/** Whether this runtime can run the WebAssembly SIMD kernels. */
export async function wasmSimdAvailable(): Promise<boolean> {
  return (await kernelModule()) !== undefined;
}

function javascriptKernels<Buffer extends Float32Array | Float64Array>(
  create: (length: number) => Buffer,
  product: MatrixKernels<Buffer>['product'],
): MatrixKernels<Buffer> {
  return { name: 'javascript', allocate: (lengths) => lengths.map(create), product };
}

function wasmKernels<Buffer extends Float32Array | Float64Array>(
  api: WebAssemblyApi,
  module: object,
  view: (buffer: ArrayBuffer, byteOffset: number, length: number) => Buffer,
  elementBytes: number,
  suffix: '' | '64',
): MatrixKernels<Buffer> {
  let memory: WebAssemblyMemory | undefined;
  let products: { plain: PanelProduct; transposed: PanelProduct } | undefined;
  return {
    name: 'wasm-simd',
    allocate(lengths) {
      if (memory !== undefined) throw new Error('kernels: buffers are allocated once per set of kernels');
      // Each buffer starts on a 64-byte boundary, so vector loads never straddle cache lines needlessly.
      const offsets: number[] = [];
      let bytes = 0;
      for (const length of lengths) {
        offsets.push(bytes);
        bytes += Math.ceil((length * elementBytes) / 64) * 64;
      }
      const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
      if (pages > WASM_MAXIMUM_PAGES) {
        throw new RangeError(
          `kernels: the buffers need ${(bytes / 2 ** 30).toFixed(2)} GiB, more than the ` +
            `4 GiB WebAssembly can address; use the JavaScript kernels, or fewer rows`,
        );
      }
      memory = new api.Memory({ initial: pages });
      const instance = new api.Instance(module, { env: { memory } });
      products = {
        plain: instance.exports[`panelProduct${suffix}`] as PanelProduct,
        transposed: instance.exports[`panelProductTransposed${suffix}`] as PanelProduct,
      };
      const buffer = memory.buffer;
      return lengths.map((length, index) => view(buffer, offsets[index]!, length));
    },
    product(transposedA, rowCount, depth, panelCount, a, aOffset, aStride, b, bOffset, bPanelStride, c, cOffset, cPanelStride, accumulate) {
      if (products === undefined) throw new Error('kernels: allocate the buffers before the first product');
      (transposedA ? products.transposed : products.plain)(
        rowCount,
        depth,
        panelCount,
        a.byteOffset + aOffset * elementBytes,
        aStride * elementBytes,
        b.byteOffset + bOffset * elementBytes,
        bPanelStride * elementBytes,
        c.byteOffset + cOffset * elementBytes,
        cPanelStride * elementBytes,
        accumulate ? 1 : 0,
      );
    },
  };
}

/**
 * Kernels for one workspace. `auto` takes WebAssembly SIMD where the runtime has it (every current
 * browser, Node 16.4 and later) and JavaScript otherwise; `wasm-simd` refuses to fall back.
 */
export async function createKernels(choice: KernelChoice): Promise<MatrixKernels> {
  const module = await chosenModule(choice);
  if (module === undefined) return javascriptKernels((length) => new Float32Array(length), javascriptPanelProduct);
  return wasmKernels(module.api, module.module, (buffer, offset, length) => new Float32Array(buffer, offset, length), 4, '');
}

/** As `createKernels`, in float64 with 4-column panels (`PANEL_WIDTH_64`). */
export async function createFloat64Kernels(choice: KernelChoice): Promise<Float64MatrixKernels> {
  const module = await chosenModule(choice);
  if (module === undefined) return javascriptKernels((length) => new Float64Array(length), javascriptPanelProduct64);
  return wasmKernels(module.api, module.module, (buffer, offset, length) => new Float64Array(buffer, offset, length), 8, '64');
}

/** The compiled module for a choice, or undefined for the JavaScript kernels. */
async function chosenModule(choice: KernelChoice): Promise<{ api: WebAssemblyApi; module: object } | undefined> {
  if (choice === 'javascript') return undefined;
  const module = await kernelModule();
  if (module === undefined || webAssembly === undefined) {
    if (choice === 'wasm-simd') throw new Error("kernels: 'wasm-simd' requested, but this runtime cannot compile WebAssembly SIMD");
    return undefined;
  }
  return { api: webAssembly, module };
}
