// Writes a new workspace package that passes the repository's checks as written: package.json (exports with
// the @medssl/source condition, publishConfig, files), tsconfig.build.json, a README, and a first source
// file and test. A `backbone-<method>` gets a backbone factory and its provider with the conformance suites;
// a `dataset-<source>` a dataset reading a CSV per split and its provider; anything else an empty module
// to fill. Then: `pnpm install`, add the provider to packages/cli/src/registry.ts, and a changeset.
//
// Usage: node scripts/new-package.mjs <name> "<description>" [dependency ...] [--node-entry] [--root DIR]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const args = process.argv.slice(2);
const rootIndex = args.indexOf('--root');
const root = rootIndex >= 0 ? args.splice(rootIndex, 2)[1] : '.';
const [name, description, ...rest] = args;
if (!name || !description || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dependency ...] [--node-entry] [--root DIR]');
  process.exit(2);
}
const nodeEntry = rest.includes('--node-entry');
const kind = /^(backbone|dataset)-/.exec(name)?.[1];
const implied = kind === 'backbone' ? ['spec', 'weights'] : kind === 'dataset' ? ['spec', 'core'] : [];
const dependencies = [...new Set([...implied, ...rest.filter((arg) => !arg.startsWith('--'))])].sort();
const dir = join(root, 'packages', name);
if (existsSync(join(dir, 'package.json'))) {
  console.error(`${dir}/package.json exists already`);
  process.exit(2);
}
mkdirSync(join(dir, 'src'), { recursive: true });

const entry = (source, built) => ({
  '@medssl/source': `./src/${source}.ts`,
  types: `./dist/${built}.d.ts`,
  default: `./dist/${built}.js`,
});
const published = (built) => ({ types: `./dist/${built}.d.ts`, default: `./dist/${built}.js` });
const exportsMap = { '.': entry('index', 'index') };
const publishedExports = { '.': published('index') };
if (nodeEntry) {
  exportsMap['./node'] = entry('node', 'node');
  publishedExports['./node'] = published('node');
}
exportsMap['./package.json'] = './package.json';
publishedExports['./package.json'] = './package.json';

const pkg = {
  name: `@medssl/${name}`,
  version: '0.0.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  sideEffects: false,
  exports: exportsMap,
  publishConfig: { access: 'public', exports: publishedExports },
  // Sources ship beside dist so source maps and declaration maps resolve; tests and fixtures stay out.
  files: ['dist', 'src', '!src/**/*.test.ts', '!src/**/__fixtures__'],
  scripts: { build: 'tsc -p tsconfig.build.json' },
  dependencies: Object.fromEntries(dependencies.map((dependency) => [`@medssl/${dependency}`, 'workspace:^'])),
  engines: { node: '>=20.19' },
  ...(kind ? { devDependencies: { vitest: '4.1.12' } } : {}),
};
if (dependencies.length === 0) delete pkg.dependencies;
const json = (value) => `${JSON.stringify(value, null, 2)}\n`;
writeFileSync(join(dir, 'package.json'), json(pkg));
writeFileSync(
  join(dir, 'tsconfig.build.json'),
  json({
    extends: '../../tsconfig.base.json',
    compilerOptions: { rootDir: 'src', outDir: 'dist', customConditions: [] },
    include: ['src'],
    exclude: ['src/**/*.test.ts', 'src/**/__fixtures__'],
  }),
);

/** `camelCase` of the part after the kind's dash: `backbone-barlow-twins` → `barlowTwins`. */
const stem = name.replace(/^(backbone|dataset)-/, '');
const identifier = stem.replace(/-([a-z0-9])/g, (_, letter) => letter.toUpperCase());
const sources = kind === 'backbone' ? backboneSources() : kind === 'dataset' ? datasetSources() : genericSources();
for (const [file, text] of Object.entries(sources)) writeFileSync(join(dir, 'src', file), text);
if (!existsSync(join(dir, 'README.md'))) writeFileSync(join(dir, 'README.md'), readme());
// In the repository's own format, so that `pnpm lint` passes on what was just written.
const repository = resolve(dirname(new URL(import.meta.url).pathname), '..');
execFileSync(
  join(repository, 'node_modules/.bin/biome'),
  ['format', '--write', '--vcs-enabled=false', `--config-path=${join(repository, 'biome.json')}`, dir],
  { stdio: 'pipe' },
);
console.log(`wrote ${dir}: run pnpm install${kind ? `, add ${identifier}Provider to packages/cli/src/registry.ts` : ''}, and add a changeset`);

function backboneSources() {
  return {
    'index.ts': `import type { Backbone, BackboneProvider } from '@medssl/spec';
import { architectures, defineBackbone, defineBackboneProvider, evaluationPreprocessing, isBatchCounter, pooledEmbedding, stripPrefixes } from '@medssl/weights';

/**
 * ${description}
 * The published checkpoint's layout: torchvision's ResNet-50 names under a \`module.\` prefix, its heads ignored.
 */
export function ${identifier}(): Backbone {
  return defineBackbone({
    method: '${stem}',
    variant: 'resnet50',
    architecture: architectures.resnet50,
    preprocessing: evaluationPreprocessing('bilinear', true),
    embedding: pooledEmbedding,
    pretraining: { supervision: 'self-supervised', data: 'ImageNet-1k', domain: 'natural' },
    layout: { name: '${stem} (official)', details: 'module. prefix, torchvision names; heads ignored' },
    canonicalName: (key) => {
      const name = stripPrefixes(key, ['module.']);
      return name.startsWith('fc.') || isBatchCounter(name) ? undefined : name;
    },
    checkpointKey: (name) => \`module.\${name}\`,
    checkpoints: [{ variant: 'resnet50', file: '${stem}_resnet50.pth', url: 'https://example.org/where-the-method-publishes-it', license: 'the licence the method publishes it under' }],
  });
}

/** Every ${stem} backbone by id (\`${stem}:resnet50\`), for hosts that take ids. */
export const ${identifier}Provider: BackboneProvider = defineBackboneProvider({
  method: '${stem}',
  title: '${description.replace(/'/g, "\\'")}',
  variants: { resnet50: () => ${identifier}() },
});
`,
    'index.test.ts': `import { describeBackbone, describeBackboneProvider } from '@medssl/spec/testing';
import { architectures, stateDictInLayout } from '@medssl/weights';
import { ${identifier}, ${identifier}Provider } from './index.js';

describeBackboneProvider('${identifier}Provider', () => ${identifier}Provider);
// A checkpoint in the published layout: every tensor under module., plus a head the backbone ignores.
describeBackbone('${stem}:resnet50', () => ${identifier}(), {
  officialStateDict: () => stateDictInLayout(architectures.resnet50, (name) => \`module.\${name}\`, { 'module.fc.weight': [128, 2048] }),
  embeddingDimension: 2048,
});
`,
  };
}

function datasetSources() {
  return {
    'index.ts': `import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { csvColumns, defineDatasetProvider, parseCsv, sampleRange } from '@medssl/core';
import { decodeImageFile, readImageFile } from '@medssl/core/node';
import type { BinaryTask, Dataset, DatasetInfo, DatasetProvider, Sample } from '@medssl/spec';

const SPLITS = ['train', 'val', 'test'] as const;
const TASK: BinaryTask = { type: 'binary', classes: ['negative', 'positive'], primaryMetric: 'auc' };

export const ${identifier}Info: DatasetInfo = {
  id: '${stem}',
  title: '${description.replace(/'/g, "\\'")}',
  layout: '<root>/{train,val,test}.csv with columns path,label (0 or 1), image paths relative to the CSV',
  source: 'where the data is published',
  license: 'the data licence',
  modality: 'natural',
};

export interface ${identifier[0].toUpperCase()}${identifier.slice(1)}Options {
  readonly root: string;
}

/** Reads the three split tables (no image is decoded until a sample asks). Errors name the file and row. */
export async function ${identifier}(options: ${identifier[0].toUpperCase()}${identifier.slice(1)}Options): Promise<Dataset> {
  const tables = new Map<string, { id: string; path: string; target: number }[]>();
  for (const split of SPLITS) {
    const file = join(options.root, \`\${split}.csv\`);
    const table = parseCsv(await readFile(file, 'utf8'), file);
    const column = csvColumns(table, ['path', 'label'], file);
    tables.set(
      split,
      table.rows.map((row, index) => {
        const [path, label] = [row[column.path]!, row[column.label]!];
        if (label !== '0' && label !== '1') throw new RangeError(\`\${file}: line \${table.lines[index]}: label must be 0 or 1, got \${JSON.stringify(label)}\`);
        return { id: path, path: join(dirname(file), path), target: Number(label) };
      }),
    );
  }
  return {
    specificationVersion: 'medssl/v1',
    id: '${stem}',
    version: '1',
    task: TASK,
    splits: SPLITS,
    modality: 'natural',
    async size(split) {
      return tables.get(split)?.length ?? 0;
    },
    async *samples(split, sampleOptions = {}) {
      const rows = tables.get(split);
      if (!rows) throw new RangeError(\`${stem}: unknown split \${JSON.stringify(split)}; splits are \${SPLITS.join(', ')}\`);
      const { start, end } = sampleRange(\`${stem}/\${split}\`, rows.length, sampleOptions);
      for (const { id, path, target } of rows.slice(start, end)) {
        sampleOptions.signal?.throwIfAborted();
        const sample: Sample = { id, target, source: path, decode: () => decodeImageFile(path), encoded: () => readImageFile(path) };
        yield sample;
      }
    },
  };
}

/** ${stem} by id, for hosts that open datasets by id and folder. */
export const ${identifier}Provider: DatasetProvider = defineDatasetProvider({
  datasets: [${identifier}Info],
  open: (_id, root) => ${identifier}({ root }),
});
`,
    'index.test.ts': `import { describeDatasetProvider } from '@medssl/spec/testing';
import { ${identifier}Provider } from './index.js';

describeDatasetProvider('${identifier}Provider', () => ${identifier}Provider);
`,
  };
}

function genericSources() {
  return {
    [`${nodeEntry ? 'index' : 'index'}.ts`]: `// @medssl/${name}: ${description}\nexport const description = ${JSON.stringify(description)};\n`,
    ...(nodeEntry ? { 'node.ts': `// Node-only parts of @medssl/${name}.\nexport const nodeOnly = true;\n` } : {}),
  };
}

function readme() {
  return `# @medssl/${name}

${description}

\`\`\`sh
npm install @medssl/${name}
\`\`\`

Say here what it reads and writes, where its data or weights are published and under which licence (with
the source of every preprocessing value), a ten-line example, and its limits.
`;
}
