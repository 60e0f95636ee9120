/**
 * Batch normalisation with PyTorch's semantics (`nn.BatchNorm2d` /
 * `BatchNorm1d`): batch statistics in training mode (biased variance for
 * normalising, unbiased for the running estimate, momentum 0.1), running
 * statistics in inference mode, optional affine parameters. The training-mode
 * gradient is written out (one fused backward instead of autodiff through the
 * moments), which matters at the generator's 32x32x128 activations.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { channelSum } from "./ops.ts";
import type { ParamSet } from "./params.ts";

/** Options of {@linkcode BatchNorm}. */
export interface BatchNormOptions {
  /** Added to the variance (PyTorch default 1e-5; the release's conv blocks use 0.8). */
  eps?: number;
  /** Running-statistics momentum, PyTorch's convention (default 0.1). */
  momentum?: number;
  /** Learnable scale and shift (default true). */
  affine?: boolean;
}

/**
 * A batch-normalisation layer over the last (channel) axis of NHWC or NC
 * tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { BatchNorm } from "./batch_norm.ts";
 * import { ParamSet } from "./params.ts";
 * const params = new ParamSet();
 * const bn = new BatchNorm(params, "bn", 4, { eps: 0.8 });
 * const y = bn.apply(tf.randomNormal([2, 3, 3, 4]), true);
 * assert.deepEqual(y.shape, [2, 3, 3, 4]);
 * ```
 */
export class BatchNorm {
  readonly channels: number;
  readonly eps: number;
  readonly momentum: number;
  readonly gamma: tf.Variable | null;
  readonly beta: tf.Variable | null;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  /** Creates the layer's variables in `params` under `name/...`. */
  constructor(params: ParamSet, name: string, channels: number, options: BatchNormOptions = {}) {
    this.channels = channels;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.gamma = affine ? params.add(`${name}/weight`, tf.ones([channels]), true) : null;
    this.beta = affine ? params.add(`${name}/bias`, tf.zeros([channels]), true) : null;
    this.runningMean = params.add(`${name}/running_mean`, tf.zeros([channels]), false);
    this.runningVar = params.add(`${name}/running_var`, tf.ones([channels]), false);
  }

  /**
   * Normalises `x`. In training mode it uses the batch's statistics and
   * updates the running ones (a side effect, as in PyTorch); in inference
   * mode it uses the running statistics.
   */
  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    const { gamma, beta, eps, momentum } = this;
    if (!training) {
      // y = x * a + b with a = gamma / sqrt(runningVar + eps), b = beta - runningMean * a.
      return tf.tidy(() => {
        let a: tf.Tensor = tf.rsqrt(tf.add(this.runningVar, eps));
        if (gamma !== null) a = tf.mul(a, gamma);
        let b: tf.Tensor = tf.neg(tf.mul(this.runningMean, a));
        if (beta !== null) b = tf.add(b, beta);
        return tf.add(tf.mul(x, a), b);
      }) as T;
    }
    const count = x.size / this.channels;
    const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as tf.Tensor;
      const save = args[args.length - 1] as tf.GradSaveFunc;
      // The tape is off inside a custom gradient's forward pass: the batch statistics are not
      // differentiated here, the written-out gradient below accounts for them.
      const [xhat, rstd, value] = tf.tidy(() => {
        const mean = tf.div(channelSum(input), count);
        const centred = tf.sub(input, mean);
        const variance = tf.div(channelSum(tf.square(centred)), count);
        this.runningMean.assign(
          tf.add(tf.mul(this.runningMean, 1 - momentum), tf.mul(mean, momentum)),
        );
        const unbiased = tf.mul(variance, count / Math.max(count - 1, 1));
        this.runningVar.assign(
          tf.add(tf.mul(this.runningVar, 1 - momentum), tf.mul(unbiased, momentum)),
        );
        const rs = tf.rsqrt(tf.add(variance, eps));
        const xh = tf.mul(centred, rs);
        const y = gamma === null ? xh : tf.add(tf.mul(xh, gamma), beta as tf.Tensor);
        return [xh, rs, y];
      });
      save([xhat, rstd]); // clones them when a gradient is being recorded
      tf.dispose(gamma === null ? [rstd] : [rstd, xhat]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, rs] = saved as [tf.Tensor, tf.Tensor];
          const dBeta = channelSum(dy);
          const dGamma = channelSum(tf.mul(dy, xh));
          // dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
          const scale = gamma === null ? rs : tf.mul(gamma, rs);
          const b = tf.mul(tf.neg(scale), tf.div(dGamma, count));
          const c = tf.mul(tf.neg(scale), tf.div(dBeta, count));
          const dx = tf.add(tf.add(tf.mul(dy, scale), tf.mul(xh, b)), c);
          return gamma === null ? [dx] : [dx, dGamma, dBeta];
        },
      };
    });
    return (gamma === null ? normalise(x) : normalise(x, gamma, beta as tf.Tensor)) as T;
  }
}
