import { readCase, featureSet, decodeFloat32 } from './src/__fixtures__/fixtures.ts';
import { fitLinearProbe } from './src/index.ts';
const kernels = (process.argv[2] ?? 'wasm-simd') as 'wasm-simd' | 'javascript';
const tolerance = Number(process.argv[3] ?? 1e-6);
for (const name of ['binary', 'multiclass', 'multilabel'] as const) {
  const fixture = readCase(name);
  const input = { task: fixture.task, train: featureSet(fixture, 'train'), val: featureSet(fixture, 'val'), test: featureSet(fixture, 'test'), seed: 0 };
  for (const fit of fixture.fits) {
    const report = await fitLinearProbe(input, { l2Grid: [fit.l2], kernels, tolerance });
    const d = input.train.features.shape[1];
    let maxW = 0, maxDW = 0;
    const rowsOut = fit.coefficients.length;
    for (let o = 0; o < rowsOut; o++) for (let f = 0; f < d; f++) {
      maxW = Math.max(maxW, Math.abs(fit.coefficients[o]![f]!));
      maxDW = Math.max(maxDW, Math.abs(fit.coefficients[o]![f]! - report.model.weights[o * d + f]!));
    }
    const probs = decodeFloat32(fit.testProbabilities);
    let maxDP = 0;
    const ours = report.result.scores!.data;
    for (let i = 0; i < probs.length; i++) maxDP = Math.max(maxDP, Math.abs(probs[i]! - ours[i]!));
    const metricDiffs = Object.entries(fit.testMetrics).map(([k, v]) => `${k} Δ${Math.abs(v - report.result.metrics[k]!).toExponential(1)}`).join(' ');
    const g = report.grid[0]!;
    console.log(`${name} l2=${fit.l2.toExponential(2)} it ${g.iterations}/${fit.iterations} ${g.stop} |g| ${g.gradientNorm.toExponential(1)} |w|max ${maxW.toFixed(3)} Δw ${maxDW.toExponential(1)} Δp ${maxDP.toExponential(1)} ${metricDiffs}`);
  }
  if (fixture.selection) {
    const report = await fitLinearProbe(input, { kernels, tolerance });
    let maxDS = 0;
    report.grid.forEach((g, i) => (maxDS = Math.max(maxDS, Math.abs(g.validationScore - fixture.selection!.validationScores[i]!))));
    console.log(`${name} selection ours ${report.selectedIndex} sklearn ${fixture.selection.selectedIndex}, max Δ val AUC ${maxDS.toExponential(1)}`);
  }
}
