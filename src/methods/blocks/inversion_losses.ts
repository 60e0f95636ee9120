/**
 * The losses of the model-inversion methods (DeepInversion/ADI and CMI), as
 * their releases compute them: image priors (total variation, L2), the
 * Jensen-Shannon competition, CMI's decision-adversarial term, the one-hot
 * cross-entropy and the temperature-scaled KL distillation loss. Images are
 * NHWC. `docs/methods/deepinversion.md` and `docs/methods/cmi.md` give the
 * formulas.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The four neighbour differences of NHWC `x`: along width, height and both diagonals. */
function neighbourDifferences(x: tf.Tensor4D): tf.Tensor4D[] {
  const [n, h, w, c] = x.shape;
  const s = (y: number, xx: number, hh: number, ww: number) =>
    tf.slice(x, [0, y, xx, 0], [n, hh, ww, c]);
  return [
    tf.sub(s(0, 0, h, w - 1), s(0, 1, h, w - 1)),
    tf.sub(s(0, 0, h - 1, w), s(1, 0, h - 1, w)),
    tf.sub(s(1, 0, h - 1, w - 1), s(0, 1, h - 1, w - 1)),
    tf.sub(s(0, 0, h - 1, w - 1), s(1, 1, h - 1, w - 1)),
  ];
}

/**
 * CMI's total-variation prior (`get_image_prior_losses`): the sum over the
 * four neighbour differences of their mean absolute value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { totalVariationL1 } from "./inversion_losses.ts";
 * const x = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]); // columns 0 and 1
 * assert.deepEqual((await totalVariationL1(x).data())[0], 3);
 * ```
 */
export function totalVariationL1(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.addN(neighbourDifferences(x).map((d) => tf.mean(tf.abs(d)))));
}

/**
 * NVlabs DeepInversion's total-variation prior: the sum over the four
 * neighbour differences of their Euclidean (Frobenius) norm over the batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { totalVariationL2 } from "./inversion_losses.ts";
 * const x = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
 * assert.equal((await totalVariationL2(x).data())[0]!.toFixed(4), "3.4142");
 * ```
 */
export function totalVariationL2(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.addN(neighbourDifferences(x).map((d) => tf.norm(d))) as tf.Scalar);
}

/**
 * The L2 prior `||x||_2` over the whole batch (`torch.norm(inputs, 2)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { imageL2 } from "./inversion_losses.ts";
 * assert.deepEqual((await imageL2(tf.tensor4d([3, 4], [1, 1, 2, 1])).data())[0], 5);
 * ```
 */
export function imageL2(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.norm(x) as tf.Scalar);
}

/**
 * Mean cross-entropy of `logits` against integer `targets` (`F.cross_entropy`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { crossEntropy } from "./inversion_losses.ts";
 * const v = (await crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32")).data())[0]!;
 * assert.equal(v.toFixed(4), "0.6931");
 * ```
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, 1);
    const onehot = tf.oneHot(tf.cast(targets, "int32"), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1)));
  });
}

/**
 * CMI's `jsdiv(student, teacher, T)`: with `P = softmax(s/T)`, `Q = softmax(t/T)`,
 * `M = (P+Q)/2`, all clamped to [0.01, 0.99],
 * `1/2 KL(M||P) + 1/2 KL(M||Q)`, each KL summed over classes and averaged over
 * the batch (`reduction='batchmean'`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { jsDivergence } from "./inversion_losses.ts";
 * const s = tf.tensor2d([[1, 2, 3]]);
 * assert.deepEqual((await jsDivergence(s, s, 3).data())[0], 0);
 * ```
 */
export function jsDivergence(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const p0 = tf.softmax(tf.div(studentLogits, temperature), 1);
    const q0 = tf.softmax(tf.div(teacherLogits, temperature), 1);
    const m = tf.clipByValue(tf.mul(tf.add(p0, q0), 0.5), 0.01, 0.99);
    const p = tf.clipByValue(p0, 0.01, 0.99);
    const q = tf.clipByValue(q0, 0.01, 0.99);
    const n = studentLogits.shape[0];
    const logM = tf.log(m);
    const kl = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(m, tf.sub(logM, tf.log(x)))), n);
    return tf.add(tf.mul(kl(p), 0.5), tf.mul(kl(q), 0.5)) as tf.Scalar;
  });
}

/** How the ADI competition term is formed from the JS divergence. */
export type CompetitionForm = "neg-js" | "one-minus-js";

/**
 * The ADI competition loss: CMI's `-JS` (`neg-js`) or NVlabs'
 * `1 - clamp(JS, 0, 1)` (`one-minus-js`), both with temperature `T` (3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { competitionLoss } from "./inversion_losses.ts";
 * const s = tf.tensor2d([[1, 2, 3]]);
 * assert.deepEqual((await competitionLoss(s, s, 3, "one-minus-js").data())[0], 1);
 * ```
 */
export function competitionLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature: number,
  form: CompetitionForm,
): tf.Scalar {
  return tf.tidy(() => {
    const js = jsDivergence(studentLogits, teacherLogits, temperature);
    return form === "neg-js" ? tf.neg(js) : tf.sub(1, tf.clipByValue(js, 0, 1));
  });
}

/**
 * Per-image KL of CMI's `kldiv(s, t, reduction='none').sum(1)`:
 * `T^2 sum_k p_k (log p_k - log q_k)` with `p = softmax(t/T)`, `q = softmax(s/T)`.
 */
function klPerImage(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature: number): tf.Tensor1D {
  const logq = tf.logSoftmax(tf.div(student, temperature), 1);
  const logp = tf.logSoftmax(tf.div(teacher, temperature), 1);
  const kl = tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), 1) as tf.Tensor1D;
  return tf.mul(kl, temperature * temperature);
}

/**
 * The distillation loss `KLDiv(T)`: `T^2 * KL(softmax(t/T) || softmax(s/T))`
 * summed over classes and averaged over the batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { kdKlLoss } from "./inversion_losses.ts";
 * const s = tf.tensor2d([[1, 2, 3]]);
 * assert.deepEqual((await kdKlLoss(s, s, 20).data())[0], 0);
 * ```
 */
export function kdKlLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => tf.mean(klPerImage(studentLogits, teacherLogits, temperature)));
}

/**
 * CMI's decision-adversarial loss: `-(1/N) sum_i mask_i KL_i(t || s)` (T = 1)
 * where `mask_i` is 1 when student and teacher predict the same class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { decisionAdversarialLoss } from "./inversion_losses.ts";
 * const s = tf.tensor2d([[0, 1]]);
 * const v = (await decisionAdversarialLoss(s, tf.tensor2d([[1, 0]])).data())[0]!;
 * assert.deepEqual(Math.abs(v), 0);
 * ```
 */
export function decisionAdversarialLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    // A constant for differentiation (no gradient flows through argmax or equality).
    const mask = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, b] = args as [tf.Tensor2D, tf.Tensor2D];
      return {
        value: tf.cast(tf.equal(tf.argMax(a, 1), tf.argMax(b, 1)), "float32"),
        gradFunc: () => [tf.zerosLike(a), tf.zerosLike(b)],
      };
    });
    const agree = mask(studentLogits, teacherLogits);
    return tf.neg(tf.mean(tf.mul(klPerImage(studentLogits, teacherLogits, 1), agree)));
  });
}
