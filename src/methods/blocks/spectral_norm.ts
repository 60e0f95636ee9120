/**
 * Spectral normalisation as PyTorch's `nn.utils.spectral_norm` does it
 * (TensorFlow.js has none): the weight is divided by an estimate of its
 * largest singular value, refined by one power-iteration step on every
 * training-mode forward pass, with the vectors `u` and `v` kept as state.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import type { ParamSet } from "./params.ts";

/** PyTorch's `spectral_norm` epsilon for normalising `u` and `v`. */
const NORMALIZE_EPS = 1e-12;

function normalize(x: tf.Tensor1D): tf.Tensor1D {
  return tf.div(x, tf.maximum(tf.norm(x), NORMALIZE_EPS));
}

/**
 * Spectral normalisation of one weight. The weight is viewed as the matrix
 * `W` of shape `[out, in * kh * kw]` (PyTorch's `dim = 0` view; here the
 * NHWC filter `[kh, kw, in, out]` reshaped to `W^T`). One power-iteration step
 * (`v = normalize(W^T u)`, `u = normalize(W v)`) updates `u` and `v` without
 * gradient; then `sigma = u . (W v)` and the weight used is `W / sigma`, with
 * the gradient flowing through `sigma` as in PyTorch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { ParamSet } from "./params.ts";
 * import { SpectralNorm } from "./spectral_norm.ts";
 * const params = new ParamSet();
 * const w = params.add("w", tf.randomNormal([3, 3, 4, 8]), true);
 * const sn = new SpectralNorm(params, "w", w, new Rng(1));
 * sn.powerIteration();
 * const normalised = sn.weight();
 * assert.deepEqual(normalised.shape, [3, 3, 4, 8]);
 * ```
 */
export class SpectralNorm {
  readonly weightVariable: tf.Variable;
  readonly u: tf.Variable;
  readonly v: tf.Variable;
  readonly #rows: number;
  readonly #cols: number;

  /** Creates `u` (size out) and `v` (size in*kh*kw) from normalised N(0, 1) draws of `rng`. */
  constructor(params: ParamSet, name: string, weight: tf.Variable, rng: Rng) {
    this.weightVariable = weight;
    const outSize = weight.shape[weight.rank - 1] as number;
    this.#rows = weight.size / outSize;
    this.#cols = outSize;
    this.u = params.add(
      `${name}/u`,
      tf.tidy(() => normalize(tf.randomNormal([outSize], 0, 1, "float32", rng.seed()))),
      false,
    );
    this.v = params.add(
      `${name}/v`,
      tf.tidy(() => normalize(tf.randomNormal([this.#rows], 0, 1, "float32", rng.seed()))),
      false,
    );
  }

  /**
   * One power-iteration step (PyTorch's `_do_power_iteration`, one
   * iteration): `v = normalize(W^T u)`, `u = normalize(W v)`. Not
   * differentiated: `u` and `v` are state, read as constants.
   */
  powerIteration(): void {
    tf.tidy(() => {
      // wt = W^T, shape [in*kh*kw, out].
      const wt = tf.reshape(this.weightVariable, [this.#rows, this.#cols]) as tf.Tensor2D;
      const v = normalize(tf.reshape(tf.matMul(wt, tf.reshape(this.u, [-1, 1])), [-1]));
      const u = normalize(
        tf.reshape(tf.matMul(wt, tf.reshape(v, [-1, 1]), true, false), [-1]),
      );
      this.v.assign(v);
      this.u.assign(u);
    });
  }

  /** The current estimate `sigma = u . (W v)` of the largest singular value. */
  sigma(): tf.Scalar {
    return tf.tidy(() => {
      const wt = tf.reshape(this.weightVariable, [this.#rows, this.#cols]) as tf.Tensor2D;
      const wv = tf.matMul(tf.reshape(this.v, [1, -1]), wt); // (W v)^T, shape [1, out]
      return tf.sum(tf.mul(wv, this.u)) as tf.Scalar;
    });
  }

  /** The normalised weight `W / sigma` (differentiable in `W`, also through `sigma`). */
  weight(): tf.Tensor {
    return tf.tidy(() => tf.div(this.weightVariable, this.sigma()));
  }
}
