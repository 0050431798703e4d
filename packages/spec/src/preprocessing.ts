/** Resampling filters, with the semantics of Pillow's (antialiased when shrinking), as torchvision uses. */
export type Interpolation = 'bilinear' | 'bicubic';

/**
 * How raw pixels become a backbone's input, as plain data: it is part of every feature-cache key, so two
 * transforms that differ in any field never share stored features.
 *
 * Steps run in this order: drop alpha, resize, centre crop, scale to [0, 1] (divide by 255 or 65535),
 * normalise with `mean`/`std` when given, replicate grey to `channels`.
 */
export interface Preprocessing {
  /**
   * A number resizes the shorter side to it and keeps the aspect ratio (torchvision `Resize(256)`);
   * a pair resizes to exactly `[height, width]`.
   */
  readonly resize?: {
    readonly size: number | readonly [height: number, width: number];
    readonly interpolation: Interpolation;
  };
  readonly centerCrop?: number | readonly [height: number, width: number];
  /** Per-channel mean and std applied after [0, 1] scaling; absent for SimCLR v1, which takes [0, 1] input. */
  readonly normalize?: {
    readonly mean: readonly [number, number, number];
    readonly std: readonly [number, number, number];
  };
  /** Channels of the network input; grey images are replicated. Backbones here take 3. */
  readonly channels: 3;
}
