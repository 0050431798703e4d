// Reads results documents into one shape for the renderer. Only the fields the report shows are checked,
// each with the file and JSON path in the error, so a hand-edited or truncated document fails clearly.

export const EVAL_FORMAT = 'medssl.eval/v1';
export const FUSION_FORMAT = 'medssl.dvme/v1';
export const RUN_FORMAT = 'medssl.run/v1';

export interface MetricSummaryEntry {
  readonly mean: number;
  readonly std: number;
  readonly count: number;
}

export interface SummaryEntry {
  readonly fraction: number;
  /** Metrics that were not a number (NaN is written as null) are left out. */
  readonly metrics: Readonly<Record<string, MetricSummaryEntry>>;
}

/**
 * DVME attention of one block: `weights[head][query][key]` over `sources` (rows sum to 1). Documents may
 * also hold `weights` flat (`heads × K × K`, row-major) and leave out `block` (then its position).
 */
export interface AttentionBlock {
  readonly block: number;
  readonly sources: readonly string[];
  readonly heads: number;
  readonly weights: readonly (readonly (readonly number[])[])[];
}

export interface ResultRow {
  readonly fraction: number;
  readonly seed: number;
  readonly trainCount?: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly selected?: Readonly<Record<string, unknown>>;
  readonly attention?: readonly AttentionBlock[];
  /** DME: the softmax weight of each source, by backbone id. */
  readonly sourceWeights?: Readonly<Record<string, number>>;
}

export interface ReportTask {
  readonly type: string;
  readonly primaryMetric: string;
  readonly classes?: readonly string[];
  readonly labels?: readonly string[];
}

/**
 * What a backbone's weights learnt from, as the document records it (`Pretraining` of `@medssl/spec`):
 * `supervision` (supervised, self-supervised, none, unknown), `data`, and `domain` (natural, or the
 * medical modality of in-domain pretraining).
 */
export interface ReportPretraining {
  readonly supervision: string;
  readonly data: string;
  readonly domain: string;
}

/** One evaluation (one protocol on one backbone or one fusion of backbones), from any accepted format. */
export interface ResultsDocument {
  /** Where it came from: the file, and `results[i]` inside a run document. */
  readonly source: string;
  readonly format: typeof EVAL_FORMAT | typeof FUSION_FORMAT;
  /** `single`: one backbone (eval); `fusion`: several sources (dvme, dme, concat). */
  readonly kind: 'single' | 'fusion';
  readonly protocol: string;
  readonly created: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly task: ReportTask;
  readonly dataset: { readonly id: string; readonly version: string };
  /** The backbone, or the fusion's sources in order. */
  readonly backbones: readonly string[];
  /** Per entry of `backbones`. */
  readonly weightsSha256: readonly string[];
  readonly config: { readonly fractions: readonly number[]; readonly seeds: readonly number[]; readonly options: Readonly<Record<string, unknown>> };
  /** Per split: the folder(s) and row count, where the document says. */
  readonly inputs: readonly { readonly split: string; readonly count?: number; readonly folders: readonly string[] }[];
  readonly subsetFiles: readonly string[];
  readonly elapsedSeconds?: number;
  readonly rows: readonly ResultRow[];
  readonly summary: readonly SummaryEntry[];
  /** A single backbone's pretraining, where the document records it (runs write it). */
  readonly pretraining?: ReportPretraining;
}

/** A results document that does not have the shape the report needs; names the file and the JSON path. */
export class ResultsDocumentError extends Error {
  override readonly name = 'ResultsDocumentError';
}

/**
 * Checks one parsed JSON document and returns the evaluations it holds: one for `medssl.eval/v1` and
 * `medssl.dvme/v1`, each entry of `results` for `medssl.run/v1`.
 */
export function readResultsDocument(value: unknown, source: string): ResultsDocument[] {
  const where = new Where(source);
  const root = object(value, where.root());
  const format = root.format;
  if (format === RUN_FORMAT) {
    const results = array(root.results, where.at('$.results'));
    return results.map((entry, index) => {
      const path = `$.results[${index}]`;
      const nested = object(entry, where.at(path));
      if (nested.format === RUN_FORMAT)
        throw where.fail(`${path}.format`, `a results document (${EVAL_FORMAT} or ${FUSION_FORMAT}); run documents do not nest`);
      return evaluation(nested, new Where(source, path), `${source} › results[${index}]`);
    });
  }
  return [evaluation(root, where, source)];
}

function evaluation(root: Record<string, unknown>, where: Where, source: string): ResultsDocument {
  const format = root.format;
  if (format !== EVAL_FORMAT && format !== FUSION_FORMAT) {
    const found = format === undefined ? 'no "format" field' : `format ${JSON.stringify(format)}`;
    throw new ResultsDocumentError(`${where.describe('$.format')}: ${found}; expected ${EVAL_FORMAT}, ${FUSION_FORMAT} or ${RUN_FORMAT}`);
  }
  const kind = format === EVAL_FORMAT ? 'single' : 'fusion';
  let backbones: string[];
  let weightsSha256: string[];
  if (kind === 'single') {
    backbones = [string(root.backbone, where.at('$.backbone'))];
    weightsSha256 = [string(root.weightsSha256, where.at('$.weightsSha256'))];
  } else {
    backbones = stringArray(root.sources, where.at('$.sources'));
    if (backbones.length === 0) throw where.fail('$.sources', 'at least one backbone id');
    weightsSha256 = stringArray(root.weightsSha256, where.at('$.weightsSha256'));
    if (weightsSha256.length !== backbones.length) {
      throw where.fail('$.weightsSha256', `one hash per source (${backbones.length})`, `${weightsSha256.length} entries`);
    }
  }
  const taskValue = object(root.task, where.at('$.task'));
  const task: ReportTask = {
    type: string(taskValue.type, where.at('$.task.type')),
    primaryMetric: string(taskValue.primaryMetric, where.at('$.task.primaryMetric')),
    ...(taskValue.classes !== undefined ? { classes: stringArray(taskValue.classes, where.at('$.task.classes')) } : {}),
    ...(taskValue.labels !== undefined ? { labels: stringArray(taskValue.labels, where.at('$.task.labels')) } : {}),
  };
  const datasetValue = object(root.dataset, where.at('$.dataset'));
  const configValue = object(root.config, where.at('$.config'));
  const options = configValue.options === undefined ? {} : object(configValue.options, where.at('$.config.options'));
  const versionsValue = object(root.versions, where.at('$.versions'));
  const versions = Object.fromEntries(Object.entries(versionsValue).map(([name, text]) => [name, string(text, where.at(`$.versions${key(name)}`))]));
  const rows = array(root.rows, where.at('$.rows')).map((row, index) => resultRow(row, where, `$.rows[${index}]`, backbones));
  const summary = array(root.summary, where.at('$.summary')).map((entry, index) => summaryEntry(entry, where, `$.summary[${index}]`));
  if (summary.length === 0) throw where.fail('$.summary', 'at least one label fraction');
  return {
    source,
    format,
    kind,
    protocol: string(root.protocol, where.at('$.protocol')),
    created: string(root.created, where.at('$.created')),
    versions,
    task,
    dataset: { id: string(datasetValue.id, where.at('$.dataset.id')), version: string(datasetValue.version, where.at('$.dataset.version')) },
    backbones,
    weightsSha256,
    config: {
      fractions: array(configValue.fractions, where.at('$.config.fractions')).map((item, index) => number(item, where.at(`$.config.fractions[${index}]`))),
      seeds: array(configValue.seeds, where.at('$.config.seeds')).map((item, index) => number(item, where.at(`$.config.seeds[${index}]`))),
      options,
    },
    inputs: root.inputs === undefined ? [] : inputs(object(root.inputs, where.at('$.inputs'))),
    subsetFiles: stringArray(root.subsetFiles, where.at('$.subsetFiles')),
    ...(root.elapsedSeconds !== undefined ? { elapsedSeconds: number(root.elapsedSeconds, where.at('$.elapsedSeconds')) } : {}),
    rows,
    summary,
    ...(kind === 'single' && root.pretraining !== undefined ? { pretraining: pretraining(root.pretraining, where, '$.pretraining') } : {}),
  };
}

function pretraining(value: unknown, where: Where, path: string): ReportPretraining {
  const entry = object(value, where.at(path));
  return {
    supervision: string(entry.supervision, where.at(`${path}.supervision`)),
    data: string(entry.data, where.at(`${path}.data`)),
    domain: string(entry.domain, where.at(`${path}.domain`)),
  };
}

function resultRow(value: unknown, where: Where, path: string, sources: readonly string[]): ResultRow {
  const row = object(value, where.at(path));
  const result: ResultRow = {
    fraction: fraction(row.fraction, where, `${path}.fraction`),
    seed: number(row.seed, where.at(`${path}.seed`)),
    ...(row.trainCount !== undefined ? { trainCount: number(row.trainCount, where.at(`${path}.trainCount`)) } : {}),
    metrics: metricValues(row.metrics, where, `${path}.metrics`),
    ...(row.selected !== undefined ? { selected: object(row.selected, where.at(`${path}.selected`)) } : {}),
    ...(row.attention !== undefined
      ? {
          attention: array(row.attention, where.at(`${path}.attention`)).map((block, index) =>
            attentionBlock(block, where, `${path}.attention[${index}]`, index),
          ),
        }
      : {}),
    ...(row.sourceWeights !== undefined ? { sourceWeights: sourceWeights(row.sourceWeights, where, `${path}.sourceWeights`, sources) } : {}),
  };
  return result;
}

function attentionBlock(value: unknown, where: Where, path: string, index: number): AttentionBlock {
  const block = object(value, where.at(path));
  const sources = stringArray(block.sources, where.at(`${path}.sources`));
  const heads = number(block.heads, where.at(`${path}.heads`));
  if (!Number.isInteger(heads) || heads < 1) throw where.fail(`${path}.heads`, 'a positive integer', JSON.stringify(block.heads));
  const size = sources.length;
  const weights = array(block.weights, where.at(`${path}.weights`));
  const shape = `[heads = ${heads}][${size}][${size}] (or flat, ${heads * size * size} numbers)`;
  // Also accept the flat row-major layout of the in-memory AttentionMap (a Float32Array written out as an array).
  if (weights.length > 0 && !Array.isArray(weights[0])) {
    if (weights.length !== heads * size * size) throw where.fail(`${path}.weights`, shape, `${weights.length} numbers`);
    const flat = weights.map((cell, offset) => number(cell, where.at(`${path}.weights[${offset}]`)));
    return {
      block: block.block === undefined ? index : number(block.block, where.at(`${path}.block`)),
      sources,
      heads,
      weights: Array.from({ length: heads }, (_, head) =>
        Array.from({ length: size }, (_, query) => flat.slice((head * size + query) * size, (head * size + query + 1) * size)),
      ),
    };
  }
  if (weights.length !== heads) throw where.fail(`${path}.weights`, shape, `${weights.length} heads`);
  return {
    block: block.block === undefined ? index : number(block.block, where.at(`${path}.block`)),
    sources,
    heads,
    weights: weights.map((head, headIndex) => {
      const matrix = array(head, where.at(`${path}.weights[${headIndex}]`));
      if (matrix.length !== size) throw where.fail(`${path}.weights[${headIndex}]`, `${size} rows (one per source)`, `${matrix.length}`);
      return matrix.map((row, rowIndex) => {
        const rowPath = `${path}.weights[${headIndex}][${rowIndex}]`;
        const cells = array(row, where.at(rowPath)).map((cell, column) => number(cell, where.at(`${rowPath}[${column}]`)));
        if (cells.length !== size) throw where.fail(rowPath, `${size} columns (one per source)`, `${cells.length}`);
        return cells;
      });
    }),
  };
}

function sourceWeights(value: unknown, where: Where, path: string, sources: readonly string[]): Record<string, number> {
  const weights = object(value, where.at(path));
  for (const name of Object.keys(weights)) {
    if (!sources.includes(name)) throw where.fail(`${path}${key(name)}`, `one of the sources (${sources.join(', ')})`, JSON.stringify(name));
  }
  return Object.fromEntries(Object.entries(weights).map(([name, weight]) => [name, number(weight, where.at(`${path}${key(name)}`))]));
}

function summaryEntry(value: unknown, where: Where, path: string): SummaryEntry {
  const entry = object(value, where.at(path));
  const metricsValue = object(entry.metrics, where.at(`${path}.metrics`));
  const metrics: Record<string, MetricSummaryEntry> = {};
  for (const [name, summaryValue] of Object.entries(metricsValue)) {
    const metricPath = `${path}.metrics${key(name)}`;
    const metric = object(summaryValue, where.at(metricPath));
    // NaN (e.g. an AUC with one class absent) is written as null: leave that metric out.
    if (metric.mean === null) continue;
    metrics[name] = {
      mean: number(metric.mean, where.at(`${metricPath}.mean`)),
      std: metric.std === null ? 0 : number(metric.std, where.at(`${metricPath}.std`)),
      count: number(metric.count, where.at(`${metricPath}.count`)),
    };
  }
  return { fraction: fraction(entry.fraction, where, `${path}.fraction`), metrics };
}

function metricValues(value: unknown, where: Where, path: string): Record<string, number> {
  const metrics = object(value, where.at(path));
  const result: Record<string, number> = {};
  for (const [name, metric] of Object.entries(metrics)) {
    if (metric === null) continue;
    result[name] = number(metric, where.at(`${path}${key(name)}`));
  }
  return result;
}

function inputs(value: Record<string, unknown>): ResultsDocument['inputs'] {
  // Display only, and the fusion and run documents may nest them differently: take what is recognisable.
  return Object.entries(value).map(([split, entry]) => {
    const parts = Array.isArray(entry) ? entry : [entry];
    const records = parts.filter((part): part is Record<string, unknown> => typeof part === 'object' && part !== null);
    const counts = records.map((record) => record.count).filter((count): count is number => typeof count === 'number');
    const folders = records.map((record) => record.folder).filter((folder): folder is string => typeof folder === 'string');
    return { split, ...(counts.length > 0 ? { count: counts[0]! } : {}), folders };
  });
}

function fraction(value: unknown, where: Where, path: string): number {
  const result = number(value, where.at(path));
  if (!(result > 0 && result <= 1)) throw where.fail(path, 'a label fraction in (0, 1]', String(result));
  return result;
}

/** A JSON path step for an object key: `.name` when it is an identifier, `["na me"]` otherwise. */
function key(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

class Where {
  constructor(
    readonly source: string,
    readonly prefix = '',
  ) {}
  /** `$` inside a run document means the nested document, so paths are rebased onto its prefix. */
  describe(path: string): string {
    return `${this.source}: ${this.prefix ? path.replace(/^\$/, this.prefix) : path}`;
  }
  root(): Located {
    return { where: this, path: '$' };
  }
  at(path: string): Located {
    return { where: this, path };
  }
  fail(path: string, expected: string, found?: string): ResultsDocumentError {
    return new ResultsDocumentError(`${this.describe(path)}: expected ${expected}${found === undefined ? '' : `, found ${found}`}`);
  }
}

interface Located {
  readonly where: Where;
  readonly path: string;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function object(value: unknown, { where, path }: Located): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw where.fail(path, 'an object', describeValue(value));
  return value as Record<string, unknown>;
}

function array(value: unknown, { where, path }: Located): unknown[] {
  if (!Array.isArray(value)) throw where.fail(path, 'an array', describeValue(value));
  return value;
}

function string(value: unknown, { where, path }: Located): string {
  if (typeof value !== 'string') throw where.fail(path, 'a string', describeValue(value));
  return value;
}

function number(value: unknown, { where, path }: Located): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw where.fail(path, 'a number', describeValue(value));
  return value;
}

function stringArray(value: unknown, located: Located): string[] {
  return array(value, located).map((item, index) => string(item, { where: located.where, path: `${located.path}[${index}]` }));
}
