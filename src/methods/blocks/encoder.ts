/**
 * PRE-DFKD's VAE encoder (the release's `Encoder` in `networks/generator.py`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import { BatchNorm } from "./batch_norm.ts";
import { Conv3x3, Dense } from "./layers.ts";
import { downsample2, leakyRelu } from "./ops.ts";
import { ParamSet } from "./params.ts";

/** Options of {@linkcode Encoder}. */
export interface EncoderOptions {
  /** Latent size L (release 1000). */
  latentDim: number;
  /** Input image shape `[height, width, channels]`; height and width divisible by 8. */
  imageShape: readonly [number, number, number];
  /** Channel multiplier: the conv widths are round(64 * width) and round(128 * width). */
  width: number;
  /** Seeds the initialisation. */
  rng: Rng;
}

/** The encoder's (and decoder's) channel widths for a width multiplier (64 and 128 at 1). */
export function encoderChannels(width: number): [number, number] {
  return [Math.max(1, Math.round(64 * width)), Math.max(1, Math.round(128 * width))];
}

/**
 * The release's encoder: `x` L2-normalised along the image-height axis
 * (`F.normalize(x, p=2, dim=2)` in NCHW) -> Conv3x3(C -> e1) -> BatchNorm(e1,
 * eps 0.8) -> LeakyReLU(0.2) -> Conv3x3(e1 -> e2) -> BatchNorm(e2, eps 0.8) ->
 * LeakyReLU(0.2) -> nearest downsample x0.5 -> Conv3x3 stride 2 (e2 -> e2) ->
 * BatchNorm(e2) -> nearest downsample x0.5 -> flatten (e2 * H/8 * W/8) -> two
 * linear heads to `mu` and `logVar` (size L); e1 = 64, e2 = 128 at width 1.
 * Sampling (`mu + exp(logVar / 2) * eps`) is left to the caller, who owns the
 * random stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { Encoder } from "./encoder.ts";
 * const e = new Encoder({ latentDim: 16, imageShape: [8, 8, 1], width: 0.125, rng: new Rng(1) });
 * const { mu, logVar } = e.forward(tf.randomNormal([4, 8, 8, 1]), true);
 * assert.deepEqual(mu.shape, [4, 16]);
 * assert.deepEqual(logVar.shape, [4, 16]);
 * ```
 */
export class Encoder {
  readonly params = new ParamSet();
  readonly options: Omit<EncoderOptions, "rng">;
  readonly #conv0: Conv3x3;
  readonly #bn0: BatchNorm;
  readonly #conv1: Conv3x3;
  readonly #bn1: BatchNorm;
  readonly #conv2: Conv3x3;
  readonly #bn2: BatchNorm;
  readonly #fcMu: Dense;
  readonly #fcVar: Dense;
  readonly #flat: number;

  /** Creates and initialises the encoder. */
  constructor(options: EncoderOptions) {
    const { latentDim, imageShape, width, rng } = options;
    this.options = { latentDim, imageShape, width };
    const [h, w, c] = imageShape;
    if (h % 8 !== 0 || w % 8 !== 0) {
      throw new Error(`Encoder needs image height and width divisible by 8 (got ${h}x${w})`);
    }
    const [e1, e2] = encoderChannels(width);
    this.#flat = e2 * (h / 8) * (w / 8);
    const p = this.params;
    this.#conv0 = new Conv3x3(p, "conv0", c, e1, rng);
    this.#bn0 = new BatchNorm(p, "bn0", e1, { eps: 0.8 });
    this.#conv1 = new Conv3x3(p, "conv1", e1, e2, rng);
    this.#bn1 = new BatchNorm(p, "bn1", e2, { eps: 0.8 });
    this.#conv2 = new Conv3x3(p, "conv2", e2, e2, rng, { stride: 2 });
    this.#bn2 = new BatchNorm(p, "bn2", e2);
    this.#fcMu = new Dense(p, "fc_mu", this.#flat, latentDim, rng);
    this.#fcVar = new Dense(p, "fc_var", this.#flat, latentDim, rng);
  }

  /** Trainable variables. */
  get trainable(): tf.Variable[] {
    return this.params.trainable;
  }

  /** Encodes images `[N, H, W, C]` to the posterior's mean and log-variance `[N, L]`. */
  forward(x: tf.Tensor4D, training: boolean): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
    return tf.tidy(() => {
      const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12);
      let h = tf.div(x, norm) as tf.Tensor4D;
      h = leakyRelu(this.#bn0.apply(this.#conv0.apply(h, training), training), 0.2);
      h = leakyRelu(this.#bn1.apply(this.#conv1.apply(h, training), training), 0.2);
      h = downsample2(h);
      h = this.#bn2.apply(this.#conv2.apply(h, training), training);
      h = downsample2(h);
      const flat = tf.reshape(h, [x.shape[0], this.#flat]) as tf.Tensor2D;
      return { mu: this.#fcMu.apply(flat), logVar: this.#fcVar.apply(flat) };
    });
  }

  /** Frees the encoder's variables. */
  dispose(): void {
    this.params.dispose();
  }
}
