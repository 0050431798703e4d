#!/usr/bin/env node
import { availableParallelism } from 'node:os';

// sharp decodes in libuv's thread pool, 4 threads by default: on larger machines that caps how many
// images decode at once. Set before anything starts the pool.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));
const { main } = await import('./main.js');

process.exitCode = await main(process.argv.slice(2));
