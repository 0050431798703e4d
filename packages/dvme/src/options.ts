/** The fusions of this package: DVME, its two baselines, and the single-backbone linear probe to beat. */
export type FusionKind = 'dvme' | 'dme' | 'concat' | 'single';

export const FUSION_KINDS: readonly FusionKind[] = ['dvme', 'dme', 'concat', 'single'];

/** Shape of the DVME and DME modules (concat and single are linear heads and use none of it). */
export interface ArchitectureOptions {
  /** Width every backbone's embedding is projected to (the token width); default 512. */
  readonly projection?: number;
  /** (dvme) Self-attention blocks across the backbone tokens; default 1. */
  readonly blocks?: number;
  /** (dvme) Attention heads; `projection` must be a multiple; default 8. */
  readonly heads?: number;
  /** (dvme) Hidden width of each block's MLP over `projection`; default 4. */
  readonly mlpRatio?: number;
  /** Dropout rate after attention, in the MLP and in the classifier head (dvme, dme); default 0.1. */
  readonly dropout?: number;
  /** (dvme) Add a learned embedding per backbone to its token; default false. */
  readonly sourceEmbeddings?: boolean;
}

/** How the head (and, end to end, the backbones) are trained. */
export interface TrainingOptions {
  /** Epochs at most (the cosine schedule spans them); default 50. */
  readonly epochs?: number;
  /** Training rows per step; default 256 (fewer when the training set is smaller). */
  readonly batchSize?: number;
  /** Peak learning rate of AdamW, reached after the warm-up; default 5e-4. */
  readonly learningRate?: number;
  /** Decoupled weight decay of AdamW on weight matrices (not biases, norms or source embeddings); default 0.05. */
  readonly weightDecay?: number;
  /** Share of all steps spent warming the learning rate up linearly from 0; default 0.05. */
  readonly warmupFraction?: number;
  /** Stop after this many epochs without a better validation primary metric; default 10. */
  readonly patience?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Standardise each backbone's features by the training rows' mean and deviation first; default true. */
  readonly standardize?: boolean;
  /** Rows per forward pass when scoring the validation and test splits; default 1024. */
  readonly evaluationBatchSize?: number;
}

export interface EpochRecord {
  /** 1-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's steps (weighted by batch size). */
  readonly trainLoss: number;
  /** The primary metric on the validation split after this epoch. */
  readonly validation: number;
  /** Learning rate of the head at the epoch's last step. */
  readonly learningRate: number;
  readonly seconds: number;
  /** `tf.memory().numTensors` after the epoch: stays flat when nothing leaks. */
  readonly tensors: number;
}

export interface FusionOptions extends ArchitectureOptions, TrainingOptions {
  /** Called after each epoch (for progress, or to watch memory). */
  readonly onEpoch?: (record: EpochRecord) => void;
  /** Keep the attention maps (dvme) or source weights (dme) of every test sample in the report. */
  readonly sampleAttention?: boolean;
}

export interface ResolvedArchitecture {
  readonly projection: number;
  readonly blocks: number;
  readonly heads: number;
  readonly mlpRatio: number;
  readonly dropout: number;
  readonly sourceEmbeddings: boolean;
}

export interface ResolvedTraining {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly warmupFraction: number;
  readonly patience: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly standardize: boolean;
  readonly evaluationBatchSize: number;
}

export const DEFAULT_ARCHITECTURE: ResolvedArchitecture = {
  projection: 512,
  blocks: 1,
  heads: 8,
  mlpRatio: 4,
  dropout: 0.1,
  sourceEmbeddings: false,
};

export const DEFAULT_TRAINING: ResolvedTraining = {
  epochs: 50,
  batchSize: 256,
  learningRate: 5e-4,
  weightDecay: 0.05,
  warmupFraction: 0.05,
  patience: 10,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  standardize: true,
  evaluationBatchSize: 1024,
};

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function inRange(value: unknown, name: string, low: number, high: number, lowOpen: boolean, highOpen: boolean): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (lowOpen ? value > low : value >= low) && (highOpen ? value < high : value <= high);
  if (!ok) {
    const range = `${lowOpen ? '(' : '['}${low}, ${high === Infinity ? '∞' : high}${highOpen ? ')' : ']'}`;
    throw new RangeError(`${name} must be a number in ${range}, got ${String(value)}`);
  }
  return value as number;
}

/** Fills in defaults and checks every option; errors name the option and the value received. */
export function resolveArchitecture(options: ArchitectureOptions = {}): ResolvedArchitecture {
  const merged = { ...DEFAULT_ARCHITECTURE, ...definedOnly(options) };
  const projection = positiveInteger(merged.projection, 'projection');
  const heads = positiveInteger(merged.heads, 'heads');
  if (projection % heads !== 0) throw new RangeError(`projection (${projection}) must be a multiple of heads (${heads})`);
  if (typeof merged.sourceEmbeddings !== 'boolean') throw new TypeError(`sourceEmbeddings must be true or false, got ${String(merged.sourceEmbeddings)}`);
  return {
    projection,
    heads,
    blocks: positiveInteger(merged.blocks, 'blocks'),
    mlpRatio: positiveInteger(merged.mlpRatio, 'mlpRatio'),
    dropout: inRange(merged.dropout, 'dropout', 0, 1, false, true),
    sourceEmbeddings: merged.sourceEmbeddings,
  };
}

export function resolveTraining(options: TrainingOptions = {}): ResolvedTraining {
  const merged = { ...DEFAULT_TRAINING, ...definedOnly(options) };
  if (typeof merged.standardize !== 'boolean') throw new TypeError(`standardise must be true or false, got ${String(merged.standardize)}`);
  return {
    epochs: positiveInteger(merged.epochs, 'epochs'),
    batchSize: positiveInteger(merged.batchSize, 'batchSize'),
    learningRate: inRange(merged.learningRate, 'learningRate', 0, Infinity, true, true),
    weightDecay: inRange(merged.weightDecay, 'weightDecay', 0, Infinity, false, true),
    warmupFraction: inRange(merged.warmupFraction, 'warmupFraction', 0, 1, false, true),
    patience: positiveInteger(merged.patience, 'patience'),
    beta1: inRange(merged.beta1, 'beta1', 0, 1, false, true),
    beta2: inRange(merged.beta2, 'beta2', 0, 1, false, true),
    epsilon: inRange(merged.epsilon, 'epsilon', 0, Infinity, true, true),
    standardize: merged.standardize,
    evaluationBatchSize: positiveInteger(merged.evaluationBatchSize, 'evaluationBatchSize'),
  };
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
