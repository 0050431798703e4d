import { parseArgs } from 'node:util';
import type { Registry } from '@medssl/experiment';
import { describeEmbedding, type Backbone, type BackboneProvider, type Preprocessing } from '@medssl/spec';
import { describeArchitecture } from '@medssl/weights';
import { UsageError, type Command } from '../command.js';

const usage = `Usage
  medssl backbones list [--json]

Lists every backbone id the CLI accepts, by method: its architecture, the embedding it gives and its
width, its preprocessing, what its weights learnt from, and the official files with where they are
published and their license. Checkpoints are never downloaded for you: get them from there.
`;

/** One backbone as \`backbones list --json\` gives it. */
export interface BackboneListing {
  readonly id: string;
  readonly method: string;
  readonly title: string;
  readonly architecture: string;
  readonly embedding: string;
  /** The embedding's width; absent for a model file, whose width is read from the file. */
  readonly dimension?: number;
  readonly preprocessing: string;
  readonly pretraining: Backbone['pretraining'];
  readonly weights: Backbone['weightSource'];
  /** The checkpoint layout it reads (`medssl weights inspect` names it for a file). */
  readonly layout?: string;
  readonly files: readonly { readonly file: string; readonly url: string; readonly license: string }[];
}

/** A method whose variant is free text (`onnx:<path>`), listed by its pattern. */
export interface BackbonePatternListing {
  readonly id: string;
  readonly method: string;
  readonly title: string;
  readonly pattern: string;
}

/** Every backbone of the registry, described; a free-text method (`onnx:<path>`) as its pattern. */
export function backboneListings(registry: Registry): (BackboneListing | BackbonePatternListing)[] {
  return registry.backbones.flatMap((provider: BackboneProvider): (BackboneListing | BackbonePatternListing)[] => {
    if (provider.variantPattern !== undefined) {
      return [{ id: `${provider.method}:${provider.variantPattern}`, method: provider.method, title: provider.title, pattern: provider.variantPattern }];
    }
    return provider.variants.map((variant) => listing(provider, provider.backbone(variant)));
  });
}

function listing(provider: BackboneProvider, backbone: Backbone): BackboneListing {
  const { embedding } = backbone;
  return {
    id: backbone.id,
    method: provider.method,
    title: provider.title,
    architecture: describeArchitecture(backbone.architecture),
    embedding: describeEmbedding(embedding),
    ...(embedding.dimension !== undefined ? { dimension: embedding.dimension } : {}),
    preprocessing: describePreprocessing(backbone.preprocessing),
    pretraining: backbone.pretraining,
    weights: backbone.weightSource,
    ...(backbone.layout !== undefined ? { layout: backbone.layout } : {}),
    files: backbone.checkpoints.map(({ file, url, license }) => ({ file, url, license })),
  };
}

/** `resize 256 bicubic, crop 224, ImageNet mean/std` in words. */
export function describePreprocessing(preprocessing: Preprocessing): string {
  const parts: string[] = [];
  if (preprocessing.resize) {
    const { size, interpolation } = preprocessing.resize;
    parts.push(`resize ${typeof size === 'number' ? size : `${size[0]}x${size[1]}`} ${interpolation}`);
  }
  const crop = preprocessing.centerCrop;
  if (crop !== undefined) parts.push(`crop ${typeof crop === 'number' ? crop : `${crop[0]}x${crop[1]}`}`);
  const normalize = preprocessing.normalize;
  parts.push(normalize ? `mean ${normalize.mean.join('/')} std ${normalize.std.join('/')}` : 'inputs in [0, 1], no mean/std');
  return parts.join(', ');
}

function describePretraining({ supervision, data, domain }: Backbone['pretraining']): string {
  if (supervision === 'none') return 'random initialisation';
  if (supervision === 'unknown') return 'unknown (your own model)';
  return `${supervision} on ${data}${domain === 'natural' ? '' : ` (${domain}, in-domain)`}`;
}

export function backbonesCommand(registry: Registry): Command {
  return {
    name: 'backbones',
    summary: 'list every backbone id: architecture, embedding and width, preprocessing, official files',
    usage,
    async run(argv, io) {
      const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      const [action, ...extra] = positionals;
      if (action !== 'list') throw new UsageError(`expected "list", got ${action === undefined ? 'nothing' : JSON.stringify(action)}`);
      if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
      const listings = backboneListings(registry);
      if (values.json) {
        io.stdout(`${JSON.stringify(listings, null, 2)}\n`);
        return 0;
      }
      let method = '';
      const lines: string[] = [];
      for (const entry of listings) {
        if (entry.method !== method) {
          method = entry.method;
          lines.push(`${lines.length > 0 ? '\n' : ''}${entry.title}`);
        }
        if ('pattern' in entry) {
          lines.push(`  ${entry.id}  a model file you name; its output, mean and std are options`);
          continue;
        }
        lines.push(`  ${entry.id}  ${entry.architecture}, ${entry.embedding}${entry.dimension !== undefined ? ` (${entry.dimension}-d)` : ''}`);
        lines.push(`      preprocessing: ${entry.preprocessing}`);
        lines.push(`      pretraining: ${describePretraining(entry.pretraining)}`);
        if (entry.weights === 'seed') lines.push('      weights: drawn from a seed (--seed), no file');
        if (entry.layout !== undefined) lines.push(`      reads: ${entry.layout} checkpoints`);
        for (const file of entry.files) lines.push(`      file: ${file.file} (${file.url}); license: ${file.license}`);
      }
      io.stdout(`${lines.join('\n')}\n`);
      return 0;
    },
  };
}
