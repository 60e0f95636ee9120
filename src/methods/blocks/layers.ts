/**
 * The plain layers the generators and the encoder are built from: linear and
 * 3x3 convolution layers with the release's initialisation, optional
 * spectral normalisation, and PyTorch's nearest-neighbour resampling.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import { addBias, type GradientNeeds, linear, upsampleConv3x3 } from "./ops.ts";
import { type ParamSet, uniformInit } from "./params.ts";
import { SpectralNorm } from "./spectral_norm.ts";

/**
 * A linear layer `y = x W + b` (PyTorch's `nn.Linear`; `W` is stored
 * `[in, out]`), weights uniform in [-0.08, 0.08], bias zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { Dense } from "./layers.ts";
 * import { ParamSet } from "./params.ts";
 * const layer = new Dense(new ParamSet(), "fc", 4, 2, new Rng(1));
 * assert.deepEqual(layer.apply(tf.ones([3, 4])).shape, [3, 2]);
 * ```
 */
export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  /** Creates the layer's weight and bias in `params`. */
  constructor(params: ParamSet, name: string, inSize: number, outSize: number, rng: Rng) {
    this.w = params.add(`${name}/weight`, uniformInit([inSize, outSize], rng), true);
    this.b = params.add(`${name}/bias`, tf.zeros([outSize]), true);
  }

  /**
   * Applies the layer to `[N, in]`; `needs` says which gradients a backward
   * pass computes (default both; see {@linkcode linear}).
   */
  apply(x: tf.Tensor2D, needs: GradientNeeds = {}): tf.Tensor2D {
    return linear(x, this.w, this.b, needs);
  }
}

/** Options of {@linkcode Conv3x3}. */
export interface Conv3x3Options {
  /** Stride (default 1); the padding is always 1 on every side, as PyTorch's `padding=1`. */
  stride?: number;
  /** Spectral normalisation of the weight (default false). */
  spectralNorm?: boolean;
}

/**
 * A 3x3 convolution with PyTorch's `padding=1` (one zero row and column on
 * every side, also at stride 2 where TensorFlow's `same` would pad
 * asymmetrically), bias, weights uniform in [-0.08, 0.08], and optionally
 * spectral normalisation (one power-iteration step per training-mode call).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { Conv3x3 } from "./layers.ts";
 * import { ParamSet } from "./params.ts";
 * const conv = new Conv3x3(new ParamSet(), "conv", 1, 8, new Rng(1), { spectralNorm: true });
 * assert.deepEqual(conv.apply(tf.ones([2, 8, 8, 1]), true).shape, [2, 8, 8, 8]);
 * ```
 */
export class Conv3x3 {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly stride: number;
  readonly sn: SpectralNorm | null;

  /** Creates the layer's variables in `params`. */
  constructor(
    params: ParamSet,
    name: string,
    inChannels: number,
    outChannels: number,
    rng: Rng,
    options: Conv3x3Options = {},
  ) {
    this.stride = options.stride ?? 1;
    this.w = params.add(`${name}/weight`, uniformInit([3, 3, inChannels, outChannels], rng), true);
    this.b = params.add(`${name}/bias`, tf.zeros([outChannels]), true);
    this.sn = options.spectralNorm ? new SpectralNorm(params, name, this.w, rng) : null;
  }

  /**
   * Applies the convolution to NHWC `x`. With spectral normalisation, a
   * training-mode call first runs one power-iteration step (PyTorch does it
   * in the forward pre-hook whenever the module is in training mode).
   */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (this.sn !== null && training) this.sn.powerIteration();
    return tf.tidy(() => {
      const filter = (this.sn === null ? this.w : this.sn.weight()) as tf.Tensor4D;
      const pad: "same" | [[0, 0], [1, 1], [1, 1], [0, 0]] = this.stride === 1
        ? "same"
        : [[0, 0], [1, 1], [1, 1], [0, 0]];
      // Unfused: TensorFlow.js's fused convolution computes every gradient eagerly, the plain
      // one only those a backward pass needs (no filter gradient when only an input is trained).
      return addBias(tf.conv2d(x, filter, this.stride, pad), this.b);
    });
  }
}

/**
 * Nearest upsampling by 2 followed by a {@linkcode Conv3x3} (stride 1), as
 * the release's `interpolate(scale_factor=2)` then `Conv2d(3, padding=1)`,
 * computed as one transposed convolution ({@linkcode upsampleConv3x3}). Same
 * parameters (a 3x3 kernel and a bias) and spectral normalisation as
 * {@linkcode Conv3x3}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { UpConv3x3 } from "./layers.ts";
 * import { ParamSet } from "./params.ts";
 * const conv = new UpConv3x3(new ParamSet(), "conv", 4, 8, new Rng(1), { spectralNorm: true });
 * assert.deepEqual(conv.apply(tf.ones([2, 4, 4, 4]), true).shape, [2, 8, 8, 8]);
 * ```
 */
export class UpConv3x3 extends Conv3x3 {
  /** Creates the layer's variables in `params` (those of a stride-1 {@linkcode Conv3x3}). */
  constructor(
    params: ParamSet,
    name: string,
    inChannels: number,
    outChannels: number,
    rng: Rng,
    options: { spectralNorm?: boolean } = {},
  ) {
    super(params, name, inChannels, outChannels, rng, options);
  }

  /**
   * Upsamples NHWC `x` by 2 and convolves (one power-iteration step first
   * when training). With `weightGradient` false the weights are constants for
   * differentiation (only `x` gets a gradient).
   */
  override apply(x: tf.Tensor4D, training: boolean, weightGradient = true): tf.Tensor4D {
    if (this.sn !== null && training) this.sn.powerIteration();
    return tf.tidy(() => {
      const filter = (this.sn === null ? this.w : this.sn.weight()) as tf.Tensor4D;
      const y = upsampleConv3x3(x, filter, weightGradient);
      return weightGradient ? addBias(y, this.b) : tf.add(y, this.b);
    });
  }
}

/**
 * Nearest-neighbour resampling by a factor of 2 (up) or 1/2 (down), as
 * PyTorch's `F.interpolate(x, scale_factor=s)` in its default `nearest` mode:
 * output pixel `i` reads input pixel `floor(i / s)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { resizeNearest } from "./layers.ts";
 * assert.deepEqual(resizeNearest(tf.ones([1, 4, 4, 2]), 2).shape, [1, 8, 8, 2]);
 * ```
 */
export function resizeNearest(x: tf.Tensor4D, scale: 2 | 0.5): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [h * scale, w * scale], false, false);
}
