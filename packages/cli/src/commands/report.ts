import { readFile, mkdir } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@medssl/arrays/node';
import { parseJson } from '@medssl/core';
import { required } from '../arguments.js';
import { UsageError, type Command } from '../command.js';
import {
  pretrainingLookup,
  readResultsDocument,
  ResultsDocumentError,
  readTransferabilityDocuments,
  renderReport,
  type Registry,
  type ResultsDocument,
  type TransferabilityDocument,
} from '@medssl/experiment';

const usage = `Usage
  medssl report RESULTS.json... --out report.html [--title TEXT]

Renders results documents to one self-contained HTML page (inline CSS and SVG; it loads nothing from
the network): per task, the primary metric against the label fraction for every backbone (mean ± std
over seeds, each seed as a dot), linear vs kNN vs finetune per backbone, DVME, DME and concat against the
best single backbone, DVME attention and DME source weights, and each result's provenance. Backbones are
grouped by pretraining, and where a task has both, the best in-domain model is set against the best
natural-image one per protocol and label fraction.

Reads the formats written by "medssl eval" (medssl.eval/v1), "medssl dvme" (medssl.dvme/v1) and
"medssl run" (medssl.run/v1, which holds several of them).

Options
  --out FILE.html    where to write the page (required)
  --title TEXT       the page's title, default "medssl report"
`;

export function reportCommand(registry: Registry): Command {
  return {
    name: 'report',
    summary: 'render results documents to one self-contained HTML page with plots and provenance',
    usage,
    async run(argv, io) {
      const { values, positionals } = parseOptions(argv);
      if (positionals.length === 0) throw new UsageError('expected one or more results files (RESULTS.json...)');
      const out = resolve(required(values.out, 'out'));
      const documents: ResultsDocument[] = [];
      const transferability: TransferabilityDocument[] = [];
      for (const file of positionals) {
        const value = await readJson(file);
        const found = readTransferabilityDocuments(value, displayPath(file));
        transferability.push(...found);
        // A transferability document alone holds no evaluation; a run document holds both.
        if (!(found.length > 0 && (value as { format?: unknown }).format !== 'medssl.run/v1')) documents.push(...readResultsDocument(value, displayPath(file)));
      }
      const page = renderReport(documents, {
        ...(values.title !== undefined ? { title: values.title } : {}),
        generated: new Date().toISOString(),
        // Documents written by `medssl eval` do not record pretraining: the backbone packages say it.
        pretrainingOf: pretrainingLookup(registry),
        transferability,
      });
      await mkdir(dirname(out), { recursive: true });
      await writeFileAtomic(out, page);
      const datasets = new Set(documents.map((document) => document.dataset.id)).size;
      io.stderr(
        `wrote ${out}: ${documents.length} evaluation${documents.length === 1 ? '' : 's'} on ${datasets} dataset${datasets === 1 ? '' : 's'} from ${positionals.length} file${positionals.length === 1 ? '' : 's'}\n`,
      );
      return 0;
    },
  };
}

function parseOptions(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, options: { out: { type: 'string' }, title: { type: 'string' } } });
  } catch (error) {
    // An unknown or incomplete option is a mistake in the call: exit 2 with the usage hint.
    throw new UsageError((error as Error).message);
  }
}

/** The file as the user would recognise it: relative to the working folder unless that is longer. */
function displayPath(file: string): string {
  const fromHere = relative(process.cwd(), resolve(file));
  return fromHere.length < resolve(file).length && !fromHere.startsWith('..') ? fromHere : resolve(file);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return parseJson(text, (where, message) => new ResultsDocumentError(`${file}: ${where}: not valid JSON: ${message}`));
}
