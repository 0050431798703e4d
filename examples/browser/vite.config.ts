import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const exampleFolder = dirname(fileURLToPath(import.meta.url));

/** Where the page serves tfjs's .wasm files from (the page passes this folder to `useTfjsBackend`). */
export const WASM_FOLDER = 'tfjs-wasm';

/** `@tensorflow/tfjs-backend-wasm/dist`, found from the installed @medssl/runtime-tfjs that depends on it. */
function tfjsWasmDist(): string {
  const fromExample = createRequire(join(exampleFolder, 'package.json'));
  const fromRuntime = createRequire(fromExample.resolve('@medssl/runtime-tfjs/package.json'));
  return join(dirname(fromRuntime.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

/**
 * The wasm backend loads its .wasm files at run time by URL, which a bundler cannot see: copy them into
 * the build, and serve them in `vite dev`, under `WASM_FOLDER/`.
 */
function tfjsWasmFiles(): Plugin {
  const dist = tfjsWasmDist();
  const files = readdirSync(dist).filter((name) => name.endsWith('.wasm'));
  return {
    name: 'medssl-tfjs-wasm-files',
    configureServer(server) {
      server.middlewares.use(`/${WASM_FOLDER}/`, (request, response, next) => {
        const name = (request.url ?? '').replace(/^\//, '').split('?')[0]!;
        if (!files.includes(name)) return next();
        response.setHeader('content-type', 'application/wasm');
        response.end(readFileSync(join(dist, name)));
      });
    },
    generateBundle() {
      for (const name of files) this.emitFile({ type: 'asset', fileName: `${WASM_FOLDER}/${name}`, source: readFileSync(join(dist, name)) });
    },
  };
}

export default defineConfig({
  root: exampleFolder,
  // Relative URLs: the built page works from any folder of any static server.
  base: './',
  // The workspace packages' `@medssl/source` condition points at their TypeScript source: no build step.
  resolve: { conditions: ['@medssl/source', ...defaultClientConditions] },
  plugins: [tfjsWasmFiles()],
  build: {
    target: 'es2022',
    // tfjs and the weights readers make large chunks; that is expected here.
    chunkSizeWarningLimit: 4096,
  },
});
