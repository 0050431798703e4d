// Headless Chromium for the tests that check what a browser shows (reports, the browser example, WebGPU
// parity). Debian's `chromium` package provides the browser and SwiftShader, a software Vulkan driver
// that gives WebGPU without a GPU (correct, not fast). Tests skip with `chromiumSkipReason` when absent.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.MEDSSL_CHROMIUM ?? '/usr/bin/chromium';
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Why browser tests cannot run here, or undefined when they can. */
export const chromiumSkipReason: string | undefined = existsSync(CHROMIUM_PATH)
  ? undefined
  : `Chromium not found at ${CHROMIUM_PATH} (apt-get install -y chromium libvulkan1, or set MEDSSL_CHROMIUM)`;

const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];

const QUIET_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface HeadlessChromium {
  readonly browser: BrowserContext;
  close(): Promise<void>;
}

/**
 * Serves a folder over http://127.0.0.1 (a secure context: `navigator.gpu` is absent on about:blank and
 * file URLs), for pages that a test opens. Unknown paths get 404; nothing outside `root` is served.
 */
export async function serveFolder(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname));
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Starts headless Chromium with a fresh profile (removed on close); with `webgpu`, WebGPU runs on
 * SwiftShader. The caller must close it.
 */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<HeadlessChromium> {
  if (chromiumSkipReason !== undefined) throw new Error(chromiumSkipReason);
  const userDataDir = mkdtempSync(join(tmpdir(), 'medssl-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...QUIET_FLAGS, ...(options.webgpu ? WEBGPU_FLAGS : [])],
    env: { ...process.env, ...(options.webgpu ? { VK_ICD_FILENAMES: SWIFTSHADER_ICD } : {}) },
  });
  return {
    browser: context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export type { Browser };
