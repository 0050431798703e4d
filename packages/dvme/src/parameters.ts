import type { Rng } from '@medssl/core';
import * as tf from '@tensorflow/tfjs-core';

/** One trainable tensor, and whether AdamW's decoupled weight decay applies to it. */
export interface Parameter {
  /** Name inside the module, e.g. `block0.attention.query.weight`. */
  readonly name: string;
  readonly variable: tf.Variable;
  readonly decay: boolean;
}

/** A dense layer `x · weight + bias`, weight `[in, out]`. */
export interface Dense {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
}

export interface Norm {
  readonly gain: tf.Variable;
  readonly shift: tf.Variable;
}

// tfjs keeps variables in one global registry by name: every module gets its own prefix.
let modulesMade = 0;

/**
 * Makes a module's parameters, their initial values drawn from a seeded stream (never from tfjs's own
 * generators), so that a seed fixes the initialisation on every backend.
 */
export class ParameterFactory {
  readonly parameters: Parameter[] = [];
  private readonly prefix = `medssl-dvme-${++modulesMade}/`;

  constructor(private readonly rng: Rng) {}

  /** Xavier-uniform weight, zero bias (as in the PyTorch reference module). */
  dense(name: string, inputs: number, outputs: number): Dense {
    const limit = Math.sqrt(6 / (inputs + outputs));
    const values = new Float32Array(inputs * outputs);
    for (let index = 0; index < values.length; index++) values[index] = (this.rng.next() * 2 - 1) * limit;
    return {
      weight: this.add(`${name}.weight`, tf.tensor2d(values, [inputs, outputs]), true),
      bias: this.add(`${name}.bias`, tf.zeros([outputs]), false),
    };
  }

  norm(name: string, width: number): Norm {
    return { gain: this.add(`${name}.gain`, tf.ones([width]), false), shift: this.add(`${name}.shift`, tf.zeros([width]), false) };
  }

  /** Normal with a small standard deviation, no weight decay (ViT's position-embedding initialisation). */
  embedding(name: string, rows: number, width: number, deviation = 0.02): tf.Variable {
    const values = new Float32Array(rows * width);
    for (let index = 0; index < values.length; index++) values[index] = this.rng.normal() * deviation;
    return this.add(name, tf.tensor2d(values, [rows, width]), false);
  }

  /** A `[width, 1]` scoring vector (DME's attention), Xavier-uniform, no bias. */
  vector(name: string, width: number): tf.Variable {
    const limit = Math.sqrt(6 / (width + 1));
    const values = Float32Array.from({ length: width }, () => (this.rng.next() * 2 - 1) * limit);
    return this.add(name, tf.tensor2d(values, [width, 1]), true);
  }

  private add(name: string, initial: tf.Tensor, decay: boolean): tf.Variable {
    const variable = tf.variable(initial, true, `${this.prefix}${name}`);
    initial.dispose();
    this.parameters.push({ name, variable, decay });
    return variable;
  }
}

/** Values counted over every parameter. */
export function parameterCount(parameters: readonly Parameter[]): number {
  return parameters.reduce((sum, parameter) => sum + parameter.variable.size, 0);
}
