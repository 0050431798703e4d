import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DatasetLayoutError, csvColumns, cutText, type IssueLog, parseCsv } from '@medssl/core';

/** The 14 findings, in the order of NIH's papers and of every published ChestX-ray14 model. */
export const CHESTXRAY14_LABELS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
] as const;

export const LABEL_COUNT = CHESTXRAY14_LABELS.length;
export const PNEUMONIA_LABEL = CHESTXRAY14_LABELS.indexOf('Pneumonia');
const NO_FINDING = 'No Finding';
const LABEL_INDEX = new Map<string, number>(CHESTXRAY14_LABELS.map((label, index) => [label, index]));

/** Label table names NIH has published, newest labels first: the first one present is read. */
export const TABLE_FILE_NAMES = ['Data_Entry_2017_v2020.csv', 'Data_Entry_2017_v2020.csv.gz', 'Data_Entry_2017.csv', 'Data_Entry_2017.csv.gz'] as const;

const IMAGE_COLUMN = 'Image Index';
const FINDINGS_COLUMN = 'Finding Labels';
const PATIENT_COLUMN = 'Patient ID';

/** The usable rows of the label table, as parallel arrays (112,120 rows stay compact). */
export interface LabelTable {
  /** Path of the file read. */
  readonly path: string;
  /** File name without `.gz`: the label revision, part of the dataset version. */
  readonly revision: string;
  readonly names: readonly string[];
  readonly patients: readonly string[];
  /** `LABEL_COUNT` flags per row. */
  readonly flags: Uint8Array;
  /** 1-based line of each row in the file, for messages. */
  readonly lines: readonly number[];
  /** Row of each image name. */
  readonly rowOf: ReadonlyMap<string, number>;
  /** Image names of rows skipped as bad (onError 'skip'); they are reported once, not again as unmatched. */
  readonly skippedNames: ReadonlySet<string>;
}

/** Picks the table: `requested` (a file name in root) or the first of `TABLE_FILE_NAMES` present. */
export function findTable(root: string, requested: string | undefined, log: IssueLog): string {
  if (requested !== undefined) {
    const path = join(root, requested);
    if (!existsSync(path)) throw new DatasetLayoutError(path, '', 'label table not found (the labelTable option names it)');
    return path;
  }
  const present = TABLE_FILE_NAMES.filter((name) => existsSync(join(root, name)));
  const chosen = present[0];
  if (chosen === undefined) {
    throw new DatasetLayoutError(root, '', `no ChestX-ray14 label table; expected one of ${TABLE_FILE_NAMES.join(', ')}`);
  }
  if (present.length > 1) {
    log.report({
      kind: 'note',
      message: `${root}: several label tables (${present.join(', ')}); read ${chosen} (pass labelTable to pick another)`,
      file: join(root, chosen),
    });
  }
  return join(root, chosen);
}

async function readTableText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read the label table (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!path.endsWith('.gz')) return bytes.toString('utf8');
  try {
    return (await promisify(gunzip)(bytes)).toString('utf8');
  } catch (error) {
    throw new Error(`${path}: cannot decompress the gzip label table (${(error as Error).message})`);
  }
}

/**
 * Turns `Finding Labels` into flags: `|`-separated findings, `No Finding` alone for none. Returns an error
 * message for anything else.
 */
export function parseFindings(text: string, flags: Uint8Array): string | undefined {
  if (text === NO_FINDING) return undefined; // over half of the rows
  const findings = text.split('|').map((finding) => finding.trim());
  if (findings.length === 1 && findings[0] === NO_FINDING) return undefined;
  for (const finding of findings) {
    if (finding === NO_FINDING) return `"${NO_FINDING}" together with other findings in ${JSON.stringify(text)}`;
    const label = LABEL_INDEX.get(finding);
    if (label === undefined) {
      return `unknown finding ${JSON.stringify(finding)} in ${JSON.stringify(text)}; expected "${NO_FINDING}" or ${CHESTXRAY14_LABELS.join(', ')}`;
    }
    flags[label] = 1;
  }
  return undefined;
}

export async function readLabelTable(path: string, log: IssueLog): Promise<LabelTable> {
  const table = parseCsv(await readTableText(path), path);
  const columns = csvColumns(table, [IMAGE_COLUMN, FINDINGS_COLUMN, PATIENT_COLUMN], path);
  const names: string[] = [];
  const patients: string[] = [];
  const lines: number[] = [];
  const flags = new Uint8Array(table.rows.length * LABEL_COUNT);
  const rowOf = new Map<string, number>();
  const skippedNames = new Set<string>();
  const rowFlags = new Uint8Array(LABEL_COUNT);

  table.rows.forEach((fields, position) => {
    const line = table.lines[position]!;
    const name = fields[columns[IMAGE_COLUMN]]!.trim();
    const patient = fields[columns[PATIENT_COLUMN]]!.trim();
    const skip = (reason: string) => {
      log.problem({ kind: 'skipped', message: `${path}: line ${line}${name ? ` (${cutText(name)})` : ''}: ${reason}`, file: path, row: line });
      if (name) skippedNames.add(name);
    };
    if (name === '') return skip(`empty "${IMAGE_COLUMN}"`);
    if (patient === '') return skip(`empty "${PATIENT_COLUMN}"`);
    const earlier = rowOf.get(name);
    if (earlier !== undefined) return skip(`image ${name} is listed again (first at line ${lines[earlier]})`);
    rowFlags.fill(0);
    const error = parseFindings(fields[columns[FINDINGS_COLUMN]]!, rowFlags);
    if (error !== undefined) return skip(error);
    rowOf.set(name, names.length);
    flags.set(rowFlags, names.length * LABEL_COUNT);
    names.push(name);
    patients.push(patient);
    lines.push(line);
  });

  const revision = basename(path).replace(/\.gz$/, '');
  return { path, revision, names, patients, flags: flags.subarray(0, names.length * LABEL_COUNT), lines, rowOf, skippedNames };
}
