import { createRequire } from 'node:module';

// Read at run time so the printed version is always the published package's own.
export const version: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
