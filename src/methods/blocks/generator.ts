/**
 * PRE-DFKD's generators (the release's `networks/generator.py`): the novel
 * generator (spectral-normalised convolutions) and the memory generator, the
 * VAE's decoder (the same network without spectral normalisation).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import { BatchNorm } from "./batch_norm.ts";
import { Conv3x3, Dense, UpConv3x3 } from "./layers.ts";
import { leakyRelu } from "./ops.ts";
import { ParamSet } from "./params.ts";

/** Options of {@linkcode Generator}. */
export interface GeneratorOptions {
  /** Latent size L (release 1000). */
  latentDim: number;
  /** Output image shape `[height, width, channels]`; height and width divisible by 4. */
  imageShape: readonly [number, number, number];
  /** Channel multiplier: the two conv widths are round(128 * width) and round(64 * width). */
  width: number;
  /** Spectral normalisation on the three convolutions (the novel generator). */
  spectralNorm: boolean;
  /** Seeds the initialisation. */
  rng: Rng;
}

/** The generator's channel widths for a width multiplier (128 and 64 at 1). */
export function generatorChannels(width: number): [number, number] {
  return [Math.max(1, Math.round(128 * width)), Math.max(1, Math.round(64 * width))];
}

/**
 * The release's generator: Linear(L -> c1 * (H/4) * (W/4)) reshaped to
 * `[H/4, W/4, c1]` -> BatchNorm(c1) -> nearest upsample x2 -> Conv3x3(c1 -> c1)
 * -> BatchNorm(c1, eps 0.8) -> LeakyReLU(0.2) -> upsample x2 ->
 * Conv3x3(c1 -> c2) -> BatchNorm(c2, eps 0.8) -> LeakyReLU(0.2) ->
 * Conv3x3(c2 -> C) -> tanh -> BatchNorm(C, no affine parameters); with
 * c1 = 128 and c2 = 64 at width 1. Conv and linear weights are uniform in
 * [-0.08, 0.08] and biases zero. The release reshapes the linear output in
 * NCHW order; here it is NHWC, a fixed permutation of the linear layer's
 * (independently initialised) outputs, so the two are the same model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { Generator } from "./generator.ts";
 * const g = new Generator({ latentDim: 16, imageShape: [8, 8, 1], width: 0.125, spectralNorm: true, rng: new Rng(1) });
 * assert.deepEqual(g.forward(tf.randomNormal([4, 16]), true).shape, [4, 8, 8, 1]);
 * ```
 */
export class Generator {
  readonly params = new ParamSet();
  readonly options: Omit<GeneratorOptions, "rng">;
  readonly #fc: Dense;
  readonly #bn0: BatchNorm;
  readonly #conv1: UpConv3x3;
  readonly #bn1: BatchNorm;
  readonly #conv2: UpConv3x3;
  readonly #bn2: BatchNorm;
  readonly #conv3: Conv3x3;
  readonly #bn3: BatchNorm;
  readonly #init: [number, number];
  readonly #c1: number;

  /** Creates and initialises the generator. */
  constructor(options: GeneratorOptions) {
    const { latentDim, imageShape, width, spectralNorm, rng } = options;
    this.options = { latentDim, imageShape, width, spectralNorm };
    const [h, w, c] = imageShape;
    if (h % 4 !== 0 || w % 4 !== 0) {
      throw new Error(`Generator needs image height and width divisible by 4 (got ${h}x${w})`);
    }
    const [c1, c2] = generatorChannels(width);
    this.#c1 = c1;
    this.#init = [h / 4, w / 4];
    const p = this.params;
    const sn = { spectralNorm };
    this.#fc = new Dense(p, "l1", latentDim, c1 * (h / 4) * (w / 4), rng);
    this.#bn0 = new BatchNorm(p, "bn0", c1);
    this.#conv1 = new UpConv3x3(p, "conv1", c1, c1, rng, sn);
    this.#bn1 = new BatchNorm(p, "bn1", c1, { eps: 0.8 });
    this.#conv2 = new UpConv3x3(p, "conv2", c1, c2, rng, sn);
    this.#bn2 = new BatchNorm(p, "bn2", c2, { eps: 0.8 });
    this.#conv3 = new Conv3x3(p, "conv3", c2, c, rng, sn);
    this.#bn3 = new BatchNorm(p, "bn3", c, { affine: false });
  }

  /** Trainable variables (what the generator's optimiser updates). */
  get trainable(): tf.Variable[] {
    return this.params.trainable;
  }

  /**
   * Maps latent codes `[N, L]` to images `[N, H, W, C]`. Training mode uses
   * batch statistics, updates the running ones and runs one spectral-norm
   * power-iteration step per convolution; inference mode uses the running
   * statistics and the stored spectral-norm vectors. `gradients` says what a
   * backward pass needs: `latent` (default false: a random code needs no
   * gradient; the VAE's decoder and the latent step do) and `weights`
   * (default true; false while optimising codes through a fixed decoder).
   */
  forward(
    z: tf.Tensor2D,
    training: boolean,
    gradients: { latent?: boolean; weights?: boolean } = {},
  ): tf.Tensor4D {
    const weights = gradients.weights ?? true;
    return tf.tidy(() => {
      const n = z.shape[0];
      const h = this.#fc.apply(z, { input: gradients.latent ?? false, weights });
      let x = tf.reshape(h, [n, this.#init[0], this.#init[1], this.#c1]) as tf.Tensor4D;
      x = this.#bn0.apply(x, training);
      // Each UpConv3x3 is the release's nearest upsample x2 followed by its 3x3 convolution.
      x = leakyRelu(this.#bn1.apply(this.#conv1.apply(x, training, weights), training), 0.2);
      x = leakyRelu(this.#bn2.apply(this.#conv2.apply(x, training, weights), training), 0.2);
      x = tf.tanh(this.#conv3.apply(x, training));
      return this.#bn3.apply(x, training);
    });
  }

  /** Frees the generator's variables. */
  dispose(): void {
    this.params.dispose();
  }
}
