// End to end: build the page with Vite, open it in headless Chromium with WebGPU (on SwiftShader), give it
// a weights file, a folder of real PCam patches and their labels through its file inputs, and check its
// embeddings and metrics against the same modules run in Node on tfjs-wasm.
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseCsv } from '@medssl/core';
import { parseNpy } from '@medssl/arrays';
import { decodeImageFile } from '@medssl/core/node';
import { tfjsRuntime } from '@medssl/runtime-tfjs';
import { haveSharedData, sharedData, sharedDataTitle } from '@medssl/test-data';
import { architectures, randomCanonicalWeights, type WritableTensor } from '@medssl/weights';
import { writeSafetensorsFile } from '@medssl/weights/node';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { chromiumSkipReason, launchChromium, serveFolder, type HeadlessChromium } from '../../../scripts/chromium.js';
import { backboneById } from './backbones.js';
import { probeEmbeddings, runExperiment, type Embeddings, type LabelledImages, type RunResults } from './experiment.js';
import type { ImageFile } from './labels.js';

const exampleFolder = dirname(dirname(fileURLToPath(import.meta.url)));
const pcamFolder = sharedData('pcam');
const havePcam = haveSharedData('browser example (headless Chromium)', 'pcam/labels.csv');

/** Patches per class taken from each PCam split: 16 in all, two of the page's batches of 8 (SwiftShader is slow). */
const PER_CLASS = { train: 4, valid: 2, test: 2 } as const;
/**
 * SwiftShader runs WebGPU on the CPU, and tfjs's convolutions there are slow: on a shared 2-core machine
 * 24 images at 32x32 took 108 to 247 s with the first batch's shader compilation (Node's tfjs-wasm: 4 to
 * 9 s). The test keeps inputs small; the page's default is the backbone's 224.
 */
const INPUT_SIZE = 32;
/** A run on a busy 2-core machine can take minutes; the page reports failures at once. */
const PAGE_RUN_TIMEOUT = 540_000;
const WEIGHTS_SEED = 7;
/** Embeddings: largest difference relative to the largest magnitude. */
const EMBEDDING_TOLERANCE = 1e-4;

interface Inputs {
  readonly weightsPath: string;
  readonly imagesFolder: string;
  readonly labelsPath: string;
}

interface NodeRun {
  readonly results: RunResults;
  readonly embeddings: Embeddings;
  readonly labelled: LabelledImages;
}

describe.skipIf(chromiumSkipReason !== undefined || !havePcam)(sharedDataTitle('browser example (headless Chromium)', havePcam), () => {
  let workFolder: string;
  let server: { url: string; close(): Promise<void> } | undefined;
  let inputs: Inputs;
  /** The reference: the page's own modules run in Node on tfjs-wasm, on the same files. */
  let node: NodeRun;

  beforeAll(async () => {
    workFolder = mkdtempSync(join(tmpdir(), 'medssl-browser-example-'));
    inputs = await writeInputs(workFolder);
    const outDir = join(workFolder, 'dist');
    await build({ configFile: join(exampleFolder, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    server = await serveFolder(outDir);
    node = await runInNode(inputs);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    if (workFolder) rmSync(workFolder, { recursive: true, force: true });
  });

  describe('with WebGPU (SwiftShader)', () => {
    let session: PageSession;
    let pageRun: PageRun;

    beforeAll(async () => {
      session = await openPage(server!.url, { webgpu: true });
    }, 60_000);
    afterAll(() => session?.close());

    it('starts on WebGPU, with no fallback notice', async () => {
      const { page } = session;
      await page.waitForSelector('body:not([data-state="starting"])');
      expect(await page.getAttribute('body', 'data-state')).toBe('ready');
      expect(await page.getAttribute('#backend-status', 'data-backend')).toBe('webgpu');
      expect(await page.isHidden('#fallback-notice')).toBe(true);
    });

    it(
      'embeds the chosen images on WebGPU and shows the test metrics, the plots and the backend',
      async () => {
        const { page } = session;
        pageRun = await runPage(page, inputs);
        expect(pageRun.results.runtime).toEqual({ id: 'tfjs-webgpu', provider: 'webgpu', precision: 'float32' });
        expect(await page.getAttribute('#backend-used', 'data-backend')).toBe('webgpu');
        expect(await page.textContent('.card.primary .card-value')).toBe(pageRun.results.probe.metrics.auc!.toFixed(3));
        expect(await page.locator('#plots svg').count()).toBe(2);
        expect(await page.textContent('#other-origin-requests')).toBe('0');
        const screenshot = process.env.MEDSSL_BROWSER_SCREENSHOT;
        if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      },
      PAGE_RUN_TIMEOUT + 60_000,
    );

    it('gives the embeddings and metrics of the same modules run in Node (tfjs-wasm)', async () => {
      const difference = relativeDifference(pageRun.features, node.embeddings.features.data);
      console.info(
        `browser example, WebGPU: embeddings vs Node wasm, largest difference / largest value = ${difference.toExponential(2)}; ` +
          `test metrics page ${JSON.stringify(pageRun.results.probe.metrics)}, Node ${JSON.stringify(node.results.probe.metrics)}; ` +
          `embedding took ${pageRun.results.embeddingSeconds.toFixed(1)} s in Chromium, ${node.results.embeddingSeconds.toFixed(1)} s in Node`,
      );
      expect(difference).toBeLessThan(EMBEDDING_TOLERANCE);
      expectSameRun(pageRun.results, node.results);

      // The page's own embeddings give exactly the page's metrics when Node runs the probe on them: the
      // protocol code (its WASM SIMD kernels included) computes the same in both places.
      const onPageFeatures = await probeEmbeddings(
        node.labelled,
        { ...node.embeddings, features: { data: pageRun.features, shape: node.embeddings.features.shape } },
        'linear',
        0,
      );
      expectCloseMetrics(onPageFeatures.probe.metrics, pageRun.results.probe.metrics, 1e-12);
    });

    it('switches to kNN on the same embeddings, matching Node', async () => {
      const { page } = session;
      await page.check('input[name="protocol"][value="knn"]');
      await page.click('#run');
      await waitForRun(page);
      const knnResults = JSON.parse(await download(page, '#download-results')) as RunResults;
      expect(knnResults.probe.protocol).toBe('knn');
      // The embeddings were kept: the run took no new embedding time.
      expect(knnResults.embeddingSeconds).toBe(pageRun.results.embeddingSeconds);
      const nodeKnn = await probeEmbeddings(node.labelled, node.embeddings, 'knn', 0);
      expect(knnResults.probe.selected).toEqual(nodeKnn.probe.selected);
      expectCloseMetrics(knnResults.probe.metrics, nodeKnn.probe.metrics, 1e-6);
    }, 120_000);

    it('made no request outside its own origin, and raised no error', () => {
      expectOnlyOwnOrigin(session, server!.url);
    });
  });

  describe('without WebGPU', () => {
    let session: PageSession;

    beforeAll(async () => {
      session = await openPage(server!.url, { webgpu: false });
    }, 60_000);
    afterAll(() => session?.close());

    it('says so, runs on WebAssembly from its own origin, and gives the numbers of Node', async () => {
      const { page } = session;
      await page.waitForSelector('body:not([data-state="starting"])');
      expect(await page.getAttribute('#backend-status', 'data-backend')).toBe('wasm');
      expect(await page.isVisible('#fallback-notice')).toBe(true);
      expect(await page.textContent('#fallback-notice')).toContain('WebGPU is not available (this browser has no WebGPU');

      const { results, features } = await runPage(page, inputs);
      expect(results.runtime).toEqual({ id: 'tfjs-wasm', provider: 'wasm', precision: 'float32' });
      const difference = relativeDifference(features, node.embeddings.features.data);
      console.info(`browser example, wasm fallback: embeddings vs Node wasm, largest difference / largest value = ${difference.toExponential(2)}`);
      expect(difference).toBeLessThan(1e-6);
      expectSameRun(results, node.results);
      expect(session.requests.some((url) => /\/tfjs-wasm\/tfjs-backend-wasm[\w-]*\.wasm$/.test(url))).toBe(true);
      expectOnlyOwnOrigin(session, server!.url);
    }, 180_000);
  });
});

/** The Node reference run: the same modules, files decoded by sharp, the backbone on tfjs-wasm. */
async function runInNode(inputs: Inputs): Promise<NodeRun> {
  const labelsText = await readFile(inputs.labelsPath, 'utf8');
  const files = new Map<string, ImageFile>();
  const pathColumn = parseCsv(labelsText, 'labels.csv').header.indexOf('path');
  for (const row of parseCsv(labelsText, 'labels.csv').rows) {
    const path = row[pathColumn]!;
    files.set(path, { path, decode: () => decodeImageFile(join(inputs.imagesFolder, path)) });
  }
  return runExperiment({
    backbone: backboneById('supervised:resnet50'),
    weightsFile: { name: basename(inputs.weightsPath), bytes: new Uint8Array(await readFile(inputs.weightsPath)) },
    inputSize: INPUT_SIZE,
    labels: { name: 'labels.csv', text: labelsText },
    files,
    protocol: 'linear',
    runtime: tfjsRuntime({ backend: 'wasm' }),
    seed: 0,
  });
}

interface PageSession {
  readonly page: Page;
  /** Every URL the page requested. */
  readonly requests: string[];
  readonly errors: string[];
  close(): Promise<void>;
}

/** Opens the page; without `webgpu` the browser also hides `navigator.gpu`, as browsers without WebGPU have none. */
async function openPage(url: string, options: { webgpu: boolean }): Promise<PageSession> {
  const chromium: HeadlessChromium = await launchChromium({ webgpu: options.webgpu });
  const page = await chromium.browser.newPage();
  // A string, so it runs in the page: the browser hides navigator.gpu before the page's scripts start.
  if (!options.webgpu) await page.addInitScript("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });");
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return { page, requests, errors, close: () => chromium.close() };
}

interface PageRun {
  readonly results: RunResults;
  /** The page's `features.npy`. */
  readonly features: Float32Array;
}

/** Fills the form as a user would (file inputs included), runs, and saves the page's two downloads. */
async function runPage(page: Page, inputs: Inputs): Promise<PageRun> {
  await page.selectOption('#backbone', 'supervised:resnet50');
  await page.setInputFiles('#weights', inputs.weightsPath);
  await page.setInputFiles('#images', inputs.imagesFolder);
  await page.setInputFiles('#labels', inputs.labelsPath);
  await page.fill('#input-size', String(INPUT_SIZE));
  await page.check('input[name="protocol"][value="linear"]');
  await page.click('#run');
  await waitForRun(page);
  const results = JSON.parse(await download(page, '#download-results')) as RunResults;
  const features = parseNpy(new Uint8Array(await downloadBytes(page, '#download-features')));
  expect(features.shape).toEqual([imageCount(results), results.dimension]);
  return { results, features: features.data as Float32Array };
}

function imageCount(results: RunResults): number {
  return Object.values(results.counts).reduce((sum, counts) => sum + Object.values(counts).reduce((total, count) => total + count, 0), 0);
}

/** The same run as Node's: weights, input, task, splits, the L2 strength chosen on val, and the metrics. */
function expectSameRun(actual: RunResults, expected: RunResults): void {
  const setup = ({ backbone, weights, inputSize, preprocessing, task, splitOrigin, counts, dimension }: RunResults) => ({
    backbone,
    weights,
    inputSize,
    preprocessing,
    task,
    splitOrigin,
    counts,
    dimension,
  });
  expect(setup(actual)).toEqual(setup(expected));
  expect(actual.probe.selected.l2).toBe(expected.probe.selected.l2);
  expectCloseMetrics(actual.probe.metrics, expected.probe.metrics, 1e-6);
  expect(actual.probe.labelFractions.map((point) => point.trainCount)).toEqual(expected.probe.labelFractions.map((point) => point.trainCount));
  actual.probe.labelFractions.forEach((point, index) => expect(point.value).toBeCloseTo(expected.probe.labelFractions[index]!.value, 6));
}

function expectOnlyOwnOrigin(session: PageSession, url: string): void {
  const origin = new URL(url).origin;
  expect(session.requests.filter((request) => new URL(request).origin !== origin)).toEqual([]);
  expect(session.requests.some((request) => request.includes('/assets/'))).toBe(true);
  expect(session.errors).toEqual([]);
}

/** Waits for the page to finish a run; a page error fails the test with the page's message. */
async function waitForRun(page: Page): Promise<void> {
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: PAGE_RUN_TIMEOUT });
  if ((await page.getAttribute('body', 'data-state')) === 'error') throw new Error(`the page reported: ${await page.textContent('#error')}`);
}

async function downloadBytes(page: Page, link: string): Promise<Buffer> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(link)]);
  const path = await file.path();
  return readFile(path);
}

async function download(page: Page, link: string): Promise<string> {
  return (await downloadBytes(page, link)).toString('utf8');
}

function relativeDifference(actual: Float32Array, expected: Float32Array): number {
  let largestDifference = 0;
  let largestMagnitude = 0;
  for (let index = 0; index < expected.length; index++) {
    largestDifference = Math.max(largestDifference, Math.abs(actual[index]! - expected[index]!));
    largestMagnitude = Math.max(largestMagnitude, Math.abs(expected[index]!));
  }
  return largestDifference / largestMagnitude;
}

function expectCloseMetrics(actual: Readonly<Record<string, number>>, expected: Readonly<Record<string, number>>, tolerance: number): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, value] of Object.entries(expected)) {
    expect(Math.abs(actual[name]! - value), `${name}: ${actual[name]} vs ${value}`).toBeLessThanOrEqual(tolerance);
  }
}

/**
 * The page's inputs, as a user would have them: a ResNet-50 checkpoint in torchvision's layout (seeded
 * random weights, with the classifier and the batch counters a real file has), a folder of PCam patches
 * in sub-folders, and PCam's own labels.csv layout (`path,split,label,patch_index`, split `valid`).
 */
async function writeInputs(folder: string): Promise<{ weightsPath: string; imagesFolder: string; labelsPath: string }> {
  const canonical = await randomCanonicalWeights(architectures.resnet50, WEIGHTS_SEED);
  const tensors = new Map<string, WritableTensor>(canonical.tensors);
  tensors.set('fc.weight', { data: new Float32Array(1000 * 2048).fill(0.001), shape: [1000, 2048] });
  tensors.set('fc.bias', { data: new Float32Array(1000), shape: [1000] });
  for (const name of canonical.tensors.keys()) {
    if (name.endsWith('running_var')) tensors.set(name.replace('running_var', 'num_batches_tracked'), { data: new BigInt64Array([100n]), shape: [] });
  }
  const weightsPath = join(folder, 'resnet50-torchvision-random.safetensors');
  await writeSafetensorsFile(weightsPath, tensors);

  const table = parseCsv(await readFile(join(pcamFolder, 'labels.csv'), 'utf8'), 'pcam/labels.csv');
  const [pathColumn, splitColumn, labelColumn] = ['path', 'split', 'label'].map((name) => table.header.indexOf(name));
  const taken = new Map<string, number>();
  const rows = table.rows.filter((row) => {
    const split = row[splitColumn!] as keyof typeof PER_CLASS;
    const key = `${split}/${row[labelColumn!]}`;
    const count = taken.get(key) ?? 0;
    if (count >= PER_CLASS[split]) return false;
    taken.set(key, count + 1);
    return true;
  });
  const imagesFolder = join(folder, 'pcam-sample');
  for (const row of rows) {
    const target = join(imagesFolder, row[pathColumn!]!);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(pcamFolder, row[pathColumn!]!), target);
  }
  const labelsPath = join(folder, 'labels.csv');
  await writeFile(labelsPath, `${[table.header.join(','), ...rows.map((row) => row.join(','))].join('\n')}\n`);
  return { weightsPath, imagesFolder, labelsPath };
}
