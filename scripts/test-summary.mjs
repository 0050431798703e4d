// Prints vitest's JSON results as one closing line: "tests: N passed, N failed, N skipped (M of them for
// missing ../shared/data)". Tests that need the real images carry "[shared data]" in their names
// (@medssl/test-data), so those skipped because the folder is absent are counted apart.
import { existsSync, readFileSync } from 'node:fs';

const SHARED_DATA_TAG = '[shared data]';
const file = process.argv[2] ?? '.vitest-results.json';
if (!existsSync(file)) {
  console.log(`tests: no results in ${file} (the run stopped before the test runner finished)`);
  process.exit(1);
}
const results = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
const forData = results.testResults
  .flatMap((testFile) => testFile.assertionResults ?? [])
  .filter(
    (test) =>
      (test.status === 'skipped' || test.status === 'pending') && [...(test.ancestorTitles ?? []), test.title].some((title) => title.includes(SHARED_DATA_TAG)),
  ).length;
console.log(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped (${forData} of them for missing ../shared/data)`);
