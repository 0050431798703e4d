import * as tf from '@tensorflow/tfjs-core';

// Shared by every training loop in medssl (finetuning, DVME): one AdamW, one schedule, one early stop.

/** One trainable tensor, and whether AdamW's decoupled weight decay applies to it (not to norms and biases). */
export interface TrainableParameter {
  readonly variable: tf.Variable;
  readonly decay: boolean;
}

/** Parameters that share a learning rate and weight decay (e.g. a backbone at a low rate, a head at a high one). */
export interface ParameterGroup {
  readonly parameters: readonly TrainableParameter[];
  /** Peak learning rate; the schedule scales it. */
  readonly learningRate: number;
  readonly weightDecay: number;
}

export interface AdamWSettings {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

interface Slot {
  readonly parameter: TrainableParameter;
  readonly group: ParameterGroup;
  readonly firstMoment: tf.Variable;
  readonly secondMoment: tf.Variable;
}

/**
 * AdamW (Loshchilov and Hutter 2019) as PyTorch's `torch.optim.AdamW` computes it: the weight decays by
 * `1 - lr·wd` before the Adam step (decoupled, only for parameters marked `decay`), moments bias-corrected.
 */
export class AdamW {
  private readonly slots: Slot[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private steps = 0;

  constructor(groups: readonly ParameterGroup[], settings: AdamWSettings = {}) {
    this.beta1 = settings.beta1 ?? 0.9;
    this.beta2 = settings.beta2 ?? 0.999;
    this.epsilon = settings.epsilon ?? 1e-8;
    this.slots = groups.flatMap((group) =>
      group.parameters.map((parameter) => ({
        parameter,
        group,
        firstMoment: tf.tidy(() => tf.variable(tf.zerosLike(parameter.variable), false)),
        secondMoment: tf.tidy(() => tf.variable(tf.zerosLike(parameter.variable), false)),
      })),
    );
  }

  /** The variables it updates, for `tf.variableGrads(loss, optimizer.variables)`. */
  get variables(): tf.Variable[] {
    return this.slots.map((slot) => slot.parameter.variable);
  }

  /** Steps taken so far (restored with `restore` when training resumes from a checkpoint). */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * One step with the gradients of `tf.variableGrads` (keyed by variable name); `scale` is the schedule's
   * factor on every group's learning rate. A parameter without a gradient is left as it is.
   */
  step(gradients: tf.NamedTensorMap, scale = 1): void {
    this.steps += 1;
    const { beta1, beta2, epsilon } = this;
    const firstCorrection = 1 - beta1 ** this.steps;
    const secondCorrection = Math.sqrt(1 - beta2 ** this.steps);
    tf.tidy(() => {
      for (const slot of this.slots) {
        const gradient = gradients[slot.parameter.variable.name];
        if (gradient === undefined) continue;
        const learningRate = slot.group.learningRate * scale;
        const first = tf.add(tf.mul(slot.firstMoment, beta1), tf.mul(gradient, 1 - beta1));
        const second = tf.add(tf.mul(slot.secondMoment, beta2), tf.mul(tf.square(gradient), 1 - beta2));
        slot.firstMoment.assign(first);
        slot.secondMoment.assign(second);
        let value: tf.Tensor = slot.parameter.variable;
        if (slot.parameter.decay && slot.group.weightDecay > 0) value = tf.mul(value, 1 - learningRate * slot.group.weightDecay);
        const denominator = tf.add(tf.div(tf.sqrt(second), secondCorrection), epsilon);
        slot.parameter.variable.assign(tf.sub(value, tf.mul(tf.div(first, denominator), learningRate / firstCorrection)));
      }
    });
  }

  /** The optimiser's state (step count and both moments per variable, in `variables` order), for checkpoints. */
  async state(): Promise<{ steps: number; moments: { first: Float32Array; second: Float32Array; shape: number[] }[] }> {
    const moments = [];
    for (const slot of this.slots) {
      moments.push({
        first: (await slot.firstMoment.data()) as Float32Array,
        second: (await slot.secondMoment.data()) as Float32Array,
        shape: [...slot.firstMoment.shape],
      });
    }
    return { steps: this.steps, moments };
  }

  /** Restores what `state()` returned; the shapes must match the variables'. */
  restore(state: { steps: number; moments: readonly { first: Float32Array; second: Float32Array; shape: readonly number[] }[] }): void {
    if (state.moments.length !== this.slots.length) {
      throw new Error(`optimiser state holds ${state.moments.length} moment pairs, the optimiser has ${this.slots.length} variables`);
    }
    this.slots.forEach((slot, index) => {
      const saved = state.moments[index]!;
      if (saved.shape.join('x') !== slot.firstMoment.shape.join('x')) {
        throw new Error(`optimiser state for ${slot.parameter.variable.name}: expected shape [${slot.firstMoment.shape}], got [${saved.shape}]`);
      }
      tf.tidy(() => {
        slot.firstMoment.assign(tf.tensor(saved.first, slot.firstMoment.shape));
        slot.secondMoment.assign(tf.tensor(saved.second, slot.secondMoment.shape));
      });
    });
    this.steps = state.steps;
  }

  dispose(): void {
    for (const slot of this.slots) {
      slot.firstMoment.dispose();
      slot.secondMoment.dispose();
    }
  }
}

/**
 * The learning-rate factor at a step (0-based): linear warm-up to 1 over `warmupSteps`, then a cosine
 * decay to 0 at `totalSteps` (PyTorch reference: the same function in a `LambdaLR`).
 */
export function scheduleFactor(step: number, totalSteps: number, warmupSteps: number): number {
  if (step < warmupSteps) return (step + 1) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return 0.5 * (1 + Math.cos(Math.PI * progress));
}

/**
 * Early stopping on a validation metric: remembers the best epoch and says when `patience` epochs have
 * passed without improving on it by more than `minDelta`.
 */
export class EarlyStopping {
  private bestValue = Number.NEGATIVE_INFINITY;
  private bestEpoch = -1;
  private sinceBest = 0;

  constructor(
    private readonly patience: number,
    private readonly higherIsBetter = true,
    private readonly minDelta = 0,
  ) {
    if (!Number.isInteger(patience) || patience < 1) throw new RangeError(`patience must be a positive integer, got ${patience}`);
  }

  /** Records an epoch's value; true when it is the best so far (keep these weights). */
  observe(epoch: number, value: number): boolean {
    const score = this.higherIsBetter ? value : -value;
    if (Number.isFinite(score) && score > this.bestValue + this.minDelta) {
      this.bestValue = score;
      this.bestEpoch = epoch;
      this.sinceBest = 0;
      return true;
    }
    this.sinceBest++;
    return false;
  }

  get shouldStop(): boolean {
    return this.sinceBest >= this.patience;
  }

  get best(): { epoch: number; value: number } {
    return { epoch: this.bestEpoch, value: this.higherIsBetter ? this.bestValue : -this.bestValue };
  }
}
