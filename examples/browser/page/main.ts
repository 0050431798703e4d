// The page: reads the form, runs the steps of experiment.ts with a progress bar, and shows the results.
// Everything that computes lives in the DOM-free modules of ../src, which the test also runs in Node.
import { createNdArray, encodeNpy } from '@medssl/arrays';
import type { Task } from '@medssl/spec';
import './style.css';
import { BACKBONE_CHOICES, backboneById, inputSideOf, loadWeights, needsWeightsFile, withInputSize } from '../src/backbones.js';
import { startComputeBackend, type ComputeBackend } from './compute.js';
import { imageFilesOfFolder } from './decode.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../src/evaluate.js';
import { embedLabelledImages, labelImages, probeEmbeddings, type Embeddings, type RunResults } from '../src/experiment.js';
import { pathInChosenFolder, type SplitName } from '../src/labels.js';
import { labelFractionSvg, metricName, rocCurveSvg } from '../src/plots.js';

/** Seed of the split (when the CSV has none), the label-fraction subsets and random weights. */
const SEED = 0;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

const form = element<HTMLFormElement>('run-form');
const backboneSelect = element<HTMLSelectElement>('backbone');
const weightsInput = element<HTMLInputElement>('weights');
const weightsHint = element('weights-hint');
const imagesInput = element<HTMLInputElement>('images');
const imagesHint = element('images-hint');
const labelsInput = element<HTMLInputElement>('labels');
const inputSizeInput = element<HTMLInputElement>('input-size');
const inputSizeHint = element('input-size-hint');
const runButton = element<HTMLButtonElement>('run');
const progressSection = element('progress-section');
const stageText = element('stage');
const progressBar = element<HTMLProgressElement>('progress');
const progressText = element('progress-text');
const errorText = element('error');
const resultsSection = element('results');

type PageState = 'starting' | 'ready' | 'running' | 'done' | 'error';
/** Also read by the end-to-end test, to know when a run has finished. */
function setState(state: PageState): void {
  document.body.dataset.state = state;
}

// ---- the compute backend, started once -------------------------------------------------------------

let compute: ComputeBackend | undefined;

async function start(): Promise<void> {
  for (const choice of BACKBONE_CHOICES) backboneSelect.add(new Option(choice.label, choice.id));
  backboneSelect.value = 'supervised:resnet50';
  describeBackbone();
  const status = element('backend-status');
  try {
    compute = await startComputeBackend(new URL('tfjs-wasm/', document.baseURI).href);
  } catch (error) {
    status.textContent = `No compute backend could start: ${(error as Error).message}`;
    status.classList.add('error');
    setState('error');
    return;
  }
  status.innerHTML =
    compute.name === 'webgpu'
      ? `Compute backend: <strong>WebGPU</strong>${compute.adapter ? ` on <span class="mono">${escapeHtml(compute.adapter)}</span>` : ''}.`
      : `Compute backend: <strong>WebAssembly (CPU)</strong>.`;
  status.dataset.backend = compute.name;
  if (compute.fallbackNotice) {
    const notice = element('fallback-notice');
    notice.textContent = compute.fallbackNotice;
    notice.hidden = false;
  }
  runButton.disabled = false;
  setState('ready');
}

// ---- form ------------------------------------------------------------------------------------------

function describeBackbone(): void {
  const backbone = backboneById(backboneSelect.value);
  const needsFile = needsWeightsFile(backbone);
  weightsInput.disabled = !needsFile;
  if (!needsFile) {
    weightsHint.textContent = `No file needed: seeded random weights (seed ${SEED}), the lower baseline of the paper.`;
  } else {
    const files = backbone.checkpoints.map((checkpoint) => `<a href="${escapeHtml(checkpoint.url)}" rel="noreferrer">${escapeHtml(checkpoint.file)}</a>`);
    weightsHint.innerHTML =
      `The official checkpoint: ${files.join(' or ')} (download it yourself; the page fetches nothing). ` +
      'PyTorch <code>.pth</code>/<code>.tar</code> and <code>.safetensors</code> files are read without running any code in them.';
  }
  const size = inputSideOf(backbone);
  inputSizeInput.value = String(size);
  const patch = backbone.architecture.family === 'vit' ? `a multiple of ${backbone.architecture.patchSize}, ` : '';
  inputSizeHint.textContent = `${backbone.id} was trained at ${size}. Smaller (${patch}e.g. 64 or 112) runs much faster but changes the features; compare backbones at one size.`;
}

backboneSelect.addEventListener('change', describeBackbone);
imagesInput.addEventListener('change', () => {
  const count = imageFilesOfFolder(imagesInput.files ?? [], fileFolderPath).size;
  const folder = imagesInput.files?.[0]?.webkitRelativePath.split('/')[0];
  imagesHint.textContent = folder ? `${count} images in “${folder}”.` : 'PNG, JPEG, WebP, GIF or BMP files, in sub-folders or not.';
});

function fileFolderPath(file: File): string {
  return pathInChosenFolder(file.webkitRelativePath || file.name);
}

function protocolChoice(): ProtocolName {
  const checked = form.querySelector<HTMLInputElement>('input[name="protocol"]:checked');
  return (checked?.value ?? 'linear') as ProtocolName;
}

// ---- a run -----------------------------------------------------------------------------------------

/** The embeddings of the last run and what they depend on: changing only the protocol reuses them. */
let cached: { key: string; embeddings: Embeddings } | undefined;

function fileKey(file: File | undefined): string {
  return file ? `${file.name}:${file.size}:${file.lastModified}` : '-';
}

function showProgress(stage: string, done = 0, total = 0, detail = ''): void {
  progressSection.hidden = false;
  stageText.textContent = stage;
  if (total > 0) {
    progressBar.max = total;
    progressBar.value = done;
  } else {
    progressBar.removeAttribute('value'); // an indeterminate bar
  }
  progressText.textContent = detail;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void run();
});

async function run(): Promise<void> {
  if (compute === undefined) return;
  errorText.hidden = true;
  resultsSection.hidden = true;
  runButton.disabled = true;
  setState('running');
  const runStarted = performance.now();
  try {
    const backbone = withInputSize(backboneById(backboneSelect.value), Number(inputSizeInput.value));
    const weightsFile = weightsInput.files?.[0];
    const labelsFile = labelsInput.files?.[0];
    const folder = imagesInput.files ?? [];
    if (needsWeightsFile(backbone) && weightsFile === undefined) throw new Error(`Choose the weights file of ${backbone.id} (step 1).`);
    if (folder.length === 0) throw new Error('Choose the folder of images (step 2).');
    if (labelsFile === undefined) throw new Error('Choose the labels CSV (step 2).');

    showProgress('Reading the labels and matching them to the images…');
    const files = imageFilesOfFolder(folder, fileFolderPath);
    const labelled = await labelImages({ name: labelsFile.name, text: await labelsFile.text() }, files, SEED);

    const key = [
      backbone.id,
      inputSideOf(backbone),
      needsWeightsFile(backbone) ? fileKey(weightsFile) : SEED,
      fileKey(labelsFile),
      files.size,
      compute.name,
    ].join('|');
    let embeddings = cached?.key === key ? cached.embeddings : undefined;
    const reused = embeddings !== undefined;
    if (embeddings === undefined) {
      cached = undefined;
      const megabytes = weightsFile ? ` (${(weightsFile.size / 1e6).toFixed(0)} MB)` : '';
      showProgress(needsWeightsFile(backbone) ? `Reading the weights${megabytes}…` : 'Drawing seeded random weights…');
      const weights = await loadWeights(
        backbone,
        weightsFile ? { name: weightsFile.name, bytes: new Uint8Array(await weightsFile.arrayBuffer()) } : undefined,
        SEED,
      );
      showProgress(`Building ${backbone.id} on ${compute.name === 'webgpu' ? 'WebGPU' : 'WebAssembly'}…`);
      embeddings = await embedLabelledImages({
        backbone,
        weights,
        runtime: compute.runtime,
        images: labelled.images,
        onProgress: ({ done, total, seconds }) => {
          const rate = done > 0 && seconds > 0 ? ` · ${(done / seconds).toFixed(1)} images/s` : '';
          showProgress('Embedding the images…', done, total, `${done} of ${total} images${rate}`);
        },
      });
      cached = { key, embeddings };
    }
    const protocol = protocolChoice();
    showProgress(`Training the ${protocol === 'linear' ? 'linear probe' : 'kNN classifier'}…`);
    const results = await probeEmbeddings(labelled, embeddings, protocol, SEED);
    renderResults(results, embeddings, reused, otherOriginRequestsSince(runStarted));
    progressSection.hidden = true;
    setState('done');
  } catch (error) {
    progressSection.hidden = true;
    errorText.textContent = (error as Error).message;
    errorText.hidden = false;
    errorText.scrollIntoView({ behavior: 'smooth', block: 'center' });
    setState('error');
    console.error(error);
  } finally {
    runButton.disabled = false;
  }
}

/** Resources this page loaded from any other origin since `since` (the CSP forbids them; this counts). */
function otherOriginRequestsSince(since: number): number {
  return performance.getEntriesByType('resource').filter((entry) => entry.startTime >= since && new URL(entry.name, location.href).origin !== location.origin)
    .length;
}

// ---- results ---------------------------------------------------------------------------------------

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function describeTask(task: Task): string {
  if (task.type === 'binary') return `binary: ${task.classes[0]} vs ${task.classes[1]} (positive class ${task.classes[1]})`;
  if (task.type === 'multiclass') return `${task.classes.length} ${task.ordinal ? 'ordered grades' : 'classes'}: ${task.classes.join(', ')}`;
  return `${task.labels.length} labels`;
}

function describeCounts(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return `${total} (${Object.entries(counts)
    .map(([name, count]) => `${escapeHtml(name)}: ${count}`)
    .join(', ')})`;
}

function describeSelected(results: RunResults): string {
  const { selected, validation, primaryMetric } = results.probe;
  const chosen = Object.entries(selected)
    .filter(([name]) => name === 'l2' || name === 'k')
    .map(([name, value]) => (name === 'l2' ? `L2 strength λ = ${Number(value).toPrecision(3)}` : `k = ${value}`));
  const score = validation[primaryMetric];
  return `${chosen.join(', ')}${score !== undefined ? ` (val ${metricName(primaryMetric)} ${score.toFixed(3)})` : ''}`;
}

function renderResults(results: RunResults, embeddings: Embeddings, reusedEmbeddings: boolean, otherOriginRequests: number): void {
  const { probe, task } = results;
  const cards = element('metric-cards');
  cards.innerHTML = Object.entries(probe.metrics)
    .map(
      ([id, value]) =>
        `<div class="card${id === probe.primaryMetric ? ' primary' : ''}" data-metric="${escapeHtml(id)}">` +
        `<span class="card-value">${value.toFixed(3)}</span><span class="card-name">${escapeHtml(metricName(id))}</span></div>`,
    )
    .join('');

  const plots = element('plots');
  plots.innerHTML = [
    probe.roc && task.type === 'binary' ? `<figure>${rocCurveSvg(probe.roc, probe.metrics.auc!, task.classes[1])}</figure>` : '',
    `<figure>${labelFractionSvg(probe.labelFractions, probe.primaryMetric)}</figure>`,
  ].join('');

  const backend =
    compute?.name === 'webgpu' ? `WebGPU${compute.adapter ? ` (${escapeHtml(compute.adapter)})` : ''}` : 'WebAssembly on the CPU (WebGPU unavailable)';
  const imagesPerSecond =
    Object.values(results.counts).reduce((sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0), 0) / results.embeddingSeconds;
  const splitWords = results.splitOrigin === 'csv' ? 'from the CSV’s split column' : `a seeded stratified 60/20/20 split (seed ${SEED})`;
  const rows: [string, string][] = [
    [
      'Backend',
      `<span id="backend-used" data-backend="${escapeHtml(compute?.name ?? '')}">${backend}</span> · runtime <span class="mono">${escapeHtml(results.runtime.id)}</span> (${escapeHtml(results.runtime.provider)}, ${escapeHtml(results.runtime.precision)})`,
    ],
    ['Backbone', `<span class="mono">${escapeHtml(results.backbone)}</span>, ${results.dimension}-d embedding`],
    [
      'Weights',
      `${escapeHtml(results.weights.source)} · SHA-256 <span class="mono" title="${results.weights.sha256}">${results.weights.sha256.slice(0, 16)}…</span>`,
    ],
    ['Input', `${results.inputSize}×${results.inputSize}: ${escapeHtml(results.preprocessing)}`],
    ['Task', escapeHtml(describeTask(task))],
    ...(['train', 'val', 'test'] as SplitName[]).map((split): [string, string] => [
      `${split[0]!.toUpperCase()}${split.slice(1)} images`,
      describeCounts(results.counts[split]),
    ]),
    ['Splits', splitWords],
    ['Protocol', `${escapeHtml(PROTOCOL_NAMES[probe.protocol])}: ${escapeHtml(describeSelected(results))}`],
    [
      'Time',
      `embedding ${results.embeddingSeconds.toFixed(1)} s (${imagesPerSecond.toFixed(1)} images/s${reusedEmbeddings ? '; kept from the previous run' : ''}) · probe ${probe.seconds.toFixed(1)} s`,
    ],
  ];
  element('details').innerHTML = rows.map(([name, value]) => `<tr><th scope="row">${name}</th><td>${value}</td></tr>`).join('');

  element('privacy').innerHTML =
    `<strong>No data left the page.</strong> Your files were read in this tab; the page’s Content-Security-Policy lets it ` +
    `contact only the server it came from, and it made <span id="other-origin-requests">${otherOriginRequests}</span> requests to other sites during this run.`;

  setDownload('download-results', new Blob([JSON.stringify(results, null, 2)], { type: 'application/json' }));
  const features = createNdArray('float32', [...embeddings.features.shape], embeddings.features.data);
  setDownload('download-features', new Blob([encodeNpy(features) as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  resultsSection.hidden = false;
  resultsSection.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function setDownload(id: string, blob: Blob): void {
  const link = element<HTMLAnchorElement>(id);
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(blob);
}

void start();
