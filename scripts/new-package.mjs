// Writes the boilerplate of a new workspace package: package.json, tsconfigs and a README stub.
// Usage: node scripts/new-package.mjs <name> "<description>" [dependency ...] [--browser] [--node-entry]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [name, description, ...rest] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dep ...] [--node-entry]');
  process.exit(2);
}
const nodeEntry = rest.includes('--node-entry');
const dependencies = rest.filter((arg) => !arg.startsWith('--'));
const dir = join('packages', name);
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
  dependencies: Object.fromEntries(dependencies.map((dep) => [`@medssl/${dep}`, 'workspace:^'])),
  engines: { node: '>=20.19' },
};
if (dependencies.length === 0) delete pkg.dependencies;
writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(
  join(dir, 'tsconfig.build.json'),
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist', customConditions: [] },
      include: ['src'],
      exclude: ['src/**/*.test.ts', 'src/**/__fixtures__'],
    },
    null,
    2,
  ) + '\n',
);
if (!existsSync(join(dir, 'README.md'))) {
  writeFileSync(join(dir, 'README.md'), `# @medssl/${name}\n\n${description}\n`);
}
console.log(`wrote ${dir}`);
