import type { FeatureSet } from '../features.js';
import type { Protocol, ProtocolInput, ProtocolResult } from '../protocol.js';
import type { Task, TaskType } from '../task.js';
import { check, describeShape, expectFailure } from './assert.js';
import type { ConformanceCheck } from './dataset.js';
import { syntheticFeatureSet } from './features.js';

export interface ProtocolExpectations {
  /** Lowest acceptable primary metric on well-separated synthetic data; default 0.9 (0.8 for kappa). */
  readonly minimumScore?: number;
  readonly rows?: number;
  readonly dimension?: number;
}

export const conformanceTasks: Readonly<Record<TaskType, Task>> = {
  binary: { type: 'binary', classes: ['normal', 'tumour'], primaryMetric: 'auc' },
  multiclass: { type: 'multiclass', classes: ['0', '1', '2', '3', '4'], ordinal: true, primaryMetric: 'kappa' },
  multilabel: { type: 'multilabel', labels: ['a', 'b', 'c'], primaryMetric: 'mean_auc' },
};

function inputFor(task: Task, expectations: ProtocolExpectations, seed = 0): ProtocolInput {
  const rows = expectations.rows ?? 240;
  const dimension = expectations.dimension ?? 16;
  const make = (split: string, offset: number) => syntheticFeatureSet(task, { rows, dimension, seed: 1000 + offset, split });
  return { task, train: make('train', 1), val: make('val', 2), test: make('test', 3), seed };
}

function classCount(set: FeatureSet): number {
  const { task } = set.manifest;
  return task.type === 'multilabel' ? 2 : task.classes.length;
}

function withFlippedTargets(set: FeatureSet, keep: Set<number>): FeatureSet {
  const targets =
    set.targets.type === 'class'
      ? { ...set.targets, data: set.targets.data.map((target, row) => (keep.has(row) ? target : (target + 1) % classCount(set))) }
      : { ...set.targets, data: set.targets.data.map((flag, index) => (keep.has(Math.floor(index / set.targets.shape[1]!)) ? flag : 1 - flag)) };
  return { ...set, targets };
}

function selectRows(set: FeatureSet, rows: Int32Array): FeatureSet {
  const dimension = set.features.shape[1];
  const features = new Float32Array(rows.length * dimension);
  rows.forEach((row, index) => features.set(set.features.data.subarray(row * dimension, (row + 1) * dimension), index * dimension));
  const targets =
    set.targets.type === 'class'
      ? { type: 'class' as const, data: Int32Array.from(rows, (row) => set.targets.data[row]!), shape: [rows.length] as const }
      : (() => {
          const labels = set.targets.shape[1]!;
          const data = new Uint8Array(rows.length * labels);
          rows.forEach((row, index) => data.set(set.targets.data.subarray(row * labels, (row + 1) * labels), index * labels));
          return { type: 'labels' as const, data, shape: [rows.length, labels] as const };
        })();
  return {
    ...set,
    features: { data: features, shape: [rows.length, dimension] },
    targets,
    ids: Array.from(rows, (row) => set.ids[row]!),
    manifest: { ...set.manifest, count: rows.length },
  };
}

function checkResult(result: ProtocolResult, task: Task, testRows: number, where: string): void {
  const primary = result.metrics[task.primaryMetric];
  check(typeof primary === 'number' && Number.isFinite(primary), `${where}: metrics.${task.primaryMetric} must be a finite number, got ${String(primary)}`);
  check(typeof result.validation[task.primaryMetric] === 'number', `${where}: validation.${task.primaryMetric} must report the selection score`);
  check(typeof result.selected === 'object' && result.selected !== null, `${where}: selected must list the chosen hyper-parameters`);
  if (result.scores) {
    const outputs = task.type === 'multilabel' ? task.labels.length : task.classes.length;
    check(
      describeShape(result.scores.shape) === describeShape([testRows, outputs]),
      `${where}: scores should be ${describeShape([testRows, outputs])}, got ${describeShape(result.scores.shape)}`,
    );
  }
}

export const protocolChecks: readonly ConformanceCheck<Protocol, ProtocolExpectations>[] = [
  {
    name: 'states the contract version, an id and the task types it supports',
    async run(protocol) {
      check(protocol.specificationVersion === 'medssl/v1', `specificationVersion must be 'medssl/v1', got ${JSON.stringify(protocol.specificationVersion)}`);
      check(typeof protocol.id === 'string' && protocol.id.length > 0, 'id must be a non-empty string');
      check(
        protocol.supports.length > 0 && protocol.supports.every((type) => type in conformanceTasks),
        `${protocol.id}: supports must list task types, got ${protocol.supports.join(', ')}`,
      );
    },
  },
  {
    name: 'learns well-separated synthetic data for every task type it supports',
    async run(protocol, expectations) {
      for (const type of protocol.supports) {
        const task = conformanceTasks[type];
        const input = inputFor(task, expectations);
        const result = await protocol.evaluate(input);
        checkResult(result, task, input.test.features.shape[0], `${protocol.id} on ${type}`);
        const minimum = expectations.minimumScore ?? (task.primaryMetric === 'kappa' ? 0.8 : 0.9);
        const score = result.metrics[task.primaryMetric]!;
        check(score >= minimum, `${protocol.id} on ${type}: ${task.primaryMetric} ${score.toFixed(4)} on separable data, expected at least ${minimum}`);
      }
    },
  },
  {
    name: 'gives the same result for the same seed',
    async run(protocol, expectations) {
      const task = conformanceTasks[protocol.supports[0]!];
      const first = await protocol.evaluate(inputFor(task, expectations, 3));
      const second = await protocol.evaluate(inputFor(task, expectations, 3));
      check(
        JSON.stringify(first.metrics) === JSON.stringify(second.metrics),
        `${protocol.id}: two runs with seed 3 gave ${JSON.stringify(first.metrics)} and ${JSON.stringify(second.metrics)}`,
      );
    },
  },
  {
    name: 'learns from trainRows only, exactly as if the other rows were absent',
    async run(protocol, expectations) {
      const task = conformanceTasks[protocol.supports[0]!];
      const input = inputFor(task, expectations);
      // Rows 0, 1, 4, 5, 8, 9, ...: half the rows, every class among them (synthetic classes cycle by row).
      const trainRows = Int32Array.from({ length: Math.floor(input.train.features.shape[0] / 4) * 2 }, (_, index) => (index >> 1) * 4 + (index & 1));
      // Rows outside the subset carry wrong targets: a protocol that looked at them would do worse.
      const poisoned = withFlippedTargets(input.train, new Set(trainRows));
      const withRows = await protocol.evaluate({ ...input, train: poisoned, trainRows });
      const onlyRows = await protocol.evaluate({ ...input, train: selectRows(input.train, trainRows) });
      for (const [metric, value] of Object.entries(onlyRows.metrics)) {
        const other = withRows.metrics[metric];
        check(
          other !== undefined && Math.abs(other - value) <= 1e-6,
          `${protocol.id}: ${metric} with trainRows is ${String(other)}, on those rows alone ${value}; rows outside trainRows must not be used`,
        );
      }
    },
  },
  {
    name: 'refuses feature sets whose dimensions disagree, naming both shapes',
    async run(protocol, expectations) {
      const task = conformanceTasks[protocol.supports[0]!];
      const input = inputFor(task, expectations);
      const dimension = input.train.features.shape[1];
      const test = syntheticFeatureSet(task, { rows: 20, dimension: dimension + 1, seed: 9, split: 'test' });
      await expectFailure(
        () => protocol.evaluate({ ...input, test }),
        new RegExp(`${dimension}[\\s\\S]*${dimension + 1}|${dimension + 1}[\\s\\S]*${dimension}`),
        `${protocol.id}: train ${dimension}-d and test ${dimension + 1}-d features`,
      );
    },
  },
];
