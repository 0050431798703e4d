import { PANEL_WIDTH } from '@medssl/kernels';
import type { Problem } from './problems.js';

export function sigmoid(logit: number): number {
  return logit >= 0 ? 1 / (1 + Math.exp(-logit)) : Math.exp(logit) / (1 + Math.exp(logit));
}

/**
 * Sums the log-loss of one problem over the training rows, from its logits (without intercepts) at
 * columns `firstColumn …` of `logits` (8-column panels of `paddedRows` rows), plus, when
 * `lowFirstColumn` is not -1, the logits of the low parts of the weights at columns `lowFirstColumn …`.
 * Writes the residuals (probability minus target, the derivative of the loss by the logit) over the
 * first logits and zeros over the low ones. Adds each output's residual sum, the intercept gradient
 * times the row count, to `interceptGradient`. Writes the mean curvature of the loss in the logits,
 * p(1 - p) for a sigmoid and diag(p) - ppᵀ for a softmax (`outputs × outputs`), to `curvature`.
 */
export function lossAndResiduals(
  problem: Problem,
  logits: Float32Array,
  paddedRows: number,
  rows: number,
  firstColumn: number,
  lowFirstColumn: number,
  intercepts: Float64Array,
  interceptOffset: number,
  interceptGradient: Float64Array,
  interceptGradientOffset: number,
  curvature: Float64Array,
): number {
  if (problem.kind === 'sigmoid') {
    const targets = problem.targets;
    const intercept = intercepts[interceptOffset]!;
    const base = (firstColumn >> 3) * paddedRows * PANEL_WIDTH + (firstColumn & 7);
    const lowBase = lowFirstColumn < 0 ? -1 : (lowFirstColumn >> 3) * paddedRows * PANEL_WIDTH + (lowFirstColumn & 7);
    let loss = 0;
    let residualSum = 0;
    let curvatureSum = 0;
    for (let row = 0; row < rows; row++) {
      const index = base + row * PANEL_WIDTH;
      let logit = logits[index]! + intercept;
      if (lowBase >= 0) {
        logit += logits[lowBase + row * PANEL_WIDTH]!;
        logits[lowBase + row * PANEL_WIDTH] = 0;
      }
      const target = targets[row]!;
      // loss = log(1 + e^z) - y·z; residual = sigmoid(z) - y, from one exponential.
      const decay = Math.exp(-Math.abs(logit));
      const probability = logit >= 0 ? 1 / (1 + decay) : decay / (1 + decay);
      loss += Math.max(logit, 0) + Math.log1p(decay) - target * logit;
      const residual = probability - target;
      logits[index] = residual;
      residualSum += residual;
      curvatureSum += probability * (1 - probability);
    }
    interceptGradient[interceptGradientOffset] = interceptGradient[interceptGradientOffset]! + residualSum;
    curvature[0] = curvatureSum / rows;
    return loss;
  }
  const outputs = problem.outputs;
  const targets = problem.targets as Int32Array;
  const columnIndex = new Int32Array(outputs);
  const lowColumnIndex = new Int32Array(outputs).fill(-1);
  for (let output = 0; output < outputs; output++) {
    const column = firstColumn + output;
    columnIndex[output] = (column >> 3) * paddedRows * PANEL_WIDTH + (column & 7);
    if (lowFirstColumn >= 0) {
      const lowColumn = lowFirstColumn + output;
      lowColumnIndex[output] = (lowColumn >> 3) * paddedRows * PANEL_WIDTH + (lowColumn & 7);
    }
  }
  const values = new Float64Array(outputs);
  const residualSums = new Float64Array(outputs);
  curvature.fill(0);
  let loss = 0;
  for (let row = 0; row < rows; row++) {
    const rowOffset = row * PANEL_WIDTH;
    let largest = -Infinity;
    for (let output = 0; output < outputs; output++) {
      let logit = logits[columnIndex[output]! + rowOffset]! + intercepts[interceptOffset + output]!;
      if (lowFirstColumn >= 0) {
        logit += logits[lowColumnIndex[output]! + rowOffset]!;
        logits[lowColumnIndex[output]! + rowOffset] = 0;
      }
      values[output] = logit;
      if (logit > largest) largest = logit;
    }
    const target = targets[row]!;
    const targetLogit = values[target]!;
    let total = 0;
    for (let output = 0; output < outputs; output++) {
      const exponential = Math.exp(values[output]! - largest);
      values[output] = exponential;
      total += exponential;
    }
    // loss = logsumexp(z) - z_target, shifted by the largest logit so that no exponential overflows.
    loss += Math.log(total) + largest - targetLogit;
    for (let output = 0; output < outputs; output++) {
      const probability = values[output]! / total;
      values[output] = probability;
      const residual = probability - (output === target ? 1 : 0);
      logits[columnIndex[output]! + rowOffset] = residual;
      residualSums[output]! += residual;
    }
    for (let first = 0; first < outputs; first++) {
      const probability = values[first]!;
      curvature[first * outputs + first]! += probability;
      for (let second = 0; second < outputs; second++) curvature[first * outputs + second]! -= probability * values[second]!;
    }
  }
  for (let index = 0; index < curvature.length; index++) curvature[index]! /= rows;
  for (let output = 0; output < outputs; output++) {
    interceptGradient[interceptGradientOffset + output]! += residualSums[output]!;
  }
  return loss;
}
