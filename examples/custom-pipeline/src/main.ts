// pnpm --filter @medssl/example-custom-pipeline start -- DATA_DIR [--size N] [--weights ID=FILE ...]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runPipeline } from './pipeline.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string' }, weights: { type: 'string', multiple: true }, store: { type: 'string' } },
});
const data = positionals[0];
if (data === undefined) {
  console.error('usage: start DATA_DIR [--size N] [--weights supervised:resnet50=resnet50-0676ba61.pth] [--store DIR]');
  process.exit(2);
}
const checkpoints = Object.fromEntries((values.weights ?? []).map((entry) => entry.split('=', 2) as [string, string]));
const result = await runPipeline({
  data,
  store: values.store ?? join(data, '.medssl-store'),
  checkpoints,
  ...(values.size ? { size: Number(values.size) } : {}),
});
console.log(`${result.dataset}: ${result.task.type}, primary metric ${result.task.primaryMetric}`);
for (const { backbone, weights, summary } of result.table) {
  const cells = summary.map(
    (entry) =>
      `${entry.fraction * 100} %: ${entry.metrics[result.task.primaryMetric]!.mean.toFixed(3)} ± ${entry.metrics[result.task.primaryMetric]!.std.toFixed(3)}`,
  );
  console.log(`${backbone.padEnd(22)} (${weights})  ${cells.join('   ')}`);
}
