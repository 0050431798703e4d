import type { Tensor } from '@medssl/spec';
import * as tf from '@tensorflow/tfjs-core';

let modelCount = 0;

/**
 * The tfjs tensors of one model: trainable variables, non-trainable state (batch-norm running
 * statistics), constants for frozen layers, and how each canonical tensor is read back.
 */
export class ParameterStore {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  private readonly constants: tf.Tensor[] = [];
  private readonly exporters = new Map<string, () => Promise<Tensor>>();
  /** tfjs variable names are global: each model gets its own prefix. */
  private readonly prefix = `medssl-${++modelCount}`;

  constructor(readonly tensors: ReadonlyMap<string, Tensor>) {}

  /** The canonical tensor `name` (checked beforehand). */
  get(name: string): Tensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`canonical tensor ${name} is missing`);
    return tensor;
  }

  /**
   * A variable with `data` in the layout tfjs computes in; `exportAs` turns its values back into the
   * canonical tensor `name` (several variables may share one canonical tensor: give `name` once).
   */
  variable<R extends tf.Rank>(
    name: string,
    data: Float32Array,
    shape: readonly number[],
    options: { trainable: boolean; exportAs?: (values: Float32Array) => Tensor },
  ): tf.Variable<R> {
    // The initial tensor is disposed by the tidy; the variable holds its own reference to the data.
    const initial = (): tf.Tensor => tf.tensor(data, [...shape], 'float32');
    const variable = tf.tidy(() => tf.variable(initial(), options.trainable, `${this.prefix}/${name}`)) as unknown as tf.Variable<R>;
    (options.trainable ? this.trainable : this.state).push(variable);
    const exportAs = options.exportAs ?? ((values: Float32Array) => ({ data: values, shape: this.get(name).shape }));
    this.exporters.set(name, async () => exportAs((await variable.data()) as Float32Array));
    return variable;
  }

  /** Records how a canonical tensor made of several variables is read back. */
  exportFrom(name: string, read: () => Promise<Tensor>): void {
    this.exporters.set(name, read);
  }

  /** A constant (a frozen layer's weights); the canonical tensor `names` are exported as given. */
  constant<T extends tf.Tensor>(data: Float32Array, shape: readonly number[], names: readonly string[]): T {
    // Kept: constants may be made lazily, inside a model's tidy scope (positions for a new input size).
    const tensor = tf.keep(tf.tensor(data, [...shape], 'float32')) as T;
    this.constants.push(tensor);
    for (const name of names) {
      const original = this.get(name);
      this.exporters.set(name, async () => original);
    }
    return tensor;
  }

  /** Every canonical tensor, in the given order, with the model's current values. */
  async export(order: Iterable<string>): Promise<Map<string, Tensor>> {
    const result = new Map<string, Tensor>();
    for (const name of order) {
      const read = this.exporters.get(name);
      if (!read) throw new Error(`the model holds no tensor for canonical ${name}`);
      result.set(name, await read());
    }
    return result;
  }

  dispose(): void {
    tf.dispose([...this.trainable, ...this.state, ...this.constants]);
    this.trainable.length = 0;
    this.state.length = 0;
    this.constants.length = 0;
  }
}
