/**
 * The losses of adversarial data-free distillation as the PRE-DFKD release
 * (kuluhan/PRE-DFKD, `distillation.py` and `utils/aux.py`) computes them. Each
 * takes TensorFlow.js tensors and returns a scalar tensor; all are
 * differentiable with TensorFlow.js's autodiff.
 *
 * Notation: `T` teacher logits `[N, K]`, `S` student logits `[N, K]`,
 * `softmax` along the class axis.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { stopGradient } from "./ops.ts";

/**
 * One-hot loss: the cross-entropy of the teacher's logits against their own
 * arg-max, averaged over the batch,
 * `-(1/N) * sum_n log softmax(T_n)[argmax T_n]` (PyTorch's
 * `CrossEntropyLoss()(T, T.max(1)[1])`). The arg-max is a constant for
 * differentiation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { oneHotLoss } from "./losses.ts";
 * const loss = oneHotLoss(tf.tensor2d([[2, 0], [0, 2]]));
 * assert.ok(Math.abs((await loss.data())[0]! - Math.log(1 + Math.exp(-2))) < 1e-6);
 * ```
 */
export function oneHotLoss(teacherLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const classes = teacherLogits.shape[1];
    const target = tf.oneHot(tf.argMax(teacherLogits, 1), classes).asType("float32");
    const logp = tf.logSoftmax(teacherLogits, 1);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logp), 1)));
  });
}

/**
 * Information-entropy loss: with `pbar = (1/N) * sum_n softmax(T_n)` (the
 * batch's mean class distribution), `sum_k pbar_k * log10(pbar_k)`, the
 * negative entropy in base 10. Minimising it balances the classes. As in the
 * release, a class whose mean probability underflows to 0 gives NaN.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { informationEntropyLoss } from "./losses.ts";
 * const loss = informationEntropyLoss(tf.tensor2d([[9, 0], [0, 9]]));
 * assert.ok(Math.abs((await loss.data())[0]! - Math.log10(1 / 2)) < 1e-6); // balanced
 * ```
 */
export function informationEntropyLoss(teacherLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const pbar = tf.mean(tf.softmax(teacherLogits, 1), 0);
    return tf.sum(tf.mul(pbar, tf.div(tf.log(pbar), Math.LN10)));
  });
}

/**
 * Activation loss: `-mean(|f|)` over every element of the teacher's
 * penultimate features `f` `[N, D]` (the release's `-features[-1].abs().mean()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { activationLoss } from "./losses.ts";
 * assert.ok(Math.abs((await activationLoss(tf.tensor2d([[1, -3], [0, 2]])).data())[0]! - (-1.5)) < 1e-6);
 * ```
 */
export function activationLoss(features: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.abs(features))));
}

/**
 * Adversarial ("JS") loss of the release's `JS_divergence`, at temperature
 * `t` (3 in the release):
 * `P = clamp(softmax(T/t), 0.01, 0.99)`, `Q = clamp(softmax(S/t), 0.01, 0.99)`,
 * `M = clamp((softmax(T/t) + softmax(S/t)) / 2, 0.01, 0.99)`,
 * `js = 0.5 * KL(P, M) + 0.5 * KL(Q, M)` where `KL(P, M) = sum(M * (log M - log P)) / (N*K)`
 * (PyTorch's `KLDivLoss(log P, M)` with its default element-mean reduction),
 * and the loss is `1 - clamp(js, 0, 1)`. Minimising it maximises the
 * teacher-student disagreement (the generator's adversarial objective).
 * Worked example of the specification: S = [[1,2,3,-1],[0.5,0,-0.5,2]],
 * T = [[3,2,1,0],[0,0,0,4]] give 0.9938282.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { adversarialJsLoss } from "./losses.ts";
 * const s = tf.tensor2d([[1, 2, 3, -1], [0.5, 0, -0.5, 2]]);
 * const t = tf.tensor2d([[3, 2, 1, 0], [0, 0, 0, 4]]);
 * assert.ok(Math.abs((await adversarialJsLoss(s, t).data())[0]! - 0.9938282) < 1e-6);
 * ```
 */
export function adversarialJsLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature = 3,
): tf.Scalar {
  return tf.tidy(() => {
    const p0 = tf.softmax(tf.div(teacherLogits, temperature), 1);
    const q0 = tf.softmax(tf.div(studentLogits, temperature), 1);
    const m = tf.clipByValue(tf.mul(tf.add(p0, q0), 0.5), 0.01, 0.99);
    const p = tf.clipByValue(p0, 0.01, 0.99);
    const q = tf.clipByValue(q0, 0.01, 0.99);
    const logM = tf.log(m);
    const klP = tf.mean(tf.mul(m, tf.sub(logM, tf.log(p))));
    const klQ = tf.mean(tf.mul(m, tf.sub(logM, tf.log(q))));
    const js = tf.add(tf.mul(klP, 0.5), tf.mul(klQ, 0.5));
    return tf.sub(1, tf.clipByValue(js, 0, 1));
  });
}

/**
 * Student distillation loss: the mean absolute difference between student
 * and teacher logits over every element, `(1/(N*K)) * sum |S - T|`
 * (PyTorch's `F.l1_loss`). Also the VAE's reconstruction term on images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { l1LogitLoss } from "./losses.ts";
 * assert.ok(Math.abs((await l1LogitLoss(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 4]])).data())[0]! - 1.5) < 1e-6);
 * ```
 */
export function l1LogitLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(studentLogits, teacherLogits))));
}

/**
 * The VAE's KL term as the release weights it:
 * `weight * (1/N) * sum_n -0.5 * sum_j (1 + logVar_nj - mu_nj^2 - exp(logVar_nj))`,
 * the batch mean of the KL divergence of `N(mu, exp(logVar))` from `N(0, I)`,
 * times `weight` (1e-5 in the release; pass 1 for the plain KL).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { vaeKlLoss } from "./losses.ts";
 * const mu = tf.tensor2d([[1, 0]]);
 * const logVar = tf.tensor2d([[0, 0]]);
 * assert.ok(Math.abs((await vaeKlLoss(mu, logVar, 1).data())[0]! - 0.5) < 1e-6);
 * ```
 */
export function vaeKlLoss(mu: tf.Tensor2D, logVar: tf.Tensor2D, weight = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const inner = tf.sub(tf.sub(tf.add(1, logVar), tf.square(mu)), tf.exp(logVar));
    return tf.mul(tf.mean(tf.mul(tf.sum(inner, 1), -0.5)), weight);
  });
}

/** Weights and temperature of {@linkcode generatorLoss} (the release's oh, ie, a, 1 and 3). */
export interface GeneratorLossWeights {
  /** Weight of the one-hot loss (oh, release 1). */
  oneHot: number;
  /** Weight of the information-entropy loss (ie, release 5). */
  entropy: number;
  /** Weight of the activation loss (a, release 0.1). */
  activation: number;
  /** Weight of the adversarial loss (release 1). */
  adversarial: number;
  /** Temperature of the adversarial loss (release 3). */
  temperature: number;
}

/**
 * The novel generator's loss of the release's `train_novel_generator`:
 * `oh * oneHot(T) + ie * IE(T) + a * activation(f) + adv * adversarialJs(S,
 * detach(T))`. The adversarial term gets the teacher's logits detached (the
 * release's `outputs_T.detach()`): its gradient reaches the generator through
 * the student only, while the priors' gradient goes through the teacher.
 * Returns the total and the four unweighted terms `[oneHot, entropy,
 * activation, adversarial]` stacked.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { generatorLoss } from "./losses.ts";
 * const t = tf.tensor2d([[3, 2, 1, 0], [0, 0, 0, 4]]);
 * const s = tf.tensor2d([[1, 2, 3, -1], [0.5, 0, -0.5, 2]]);
 * const w = { oneHot: 0, entropy: 0, activation: 0, adversarial: 1, temperature: 3 };
 * const { total } = generatorLoss(t, tf.zeros([2, 4]), s, w);
 * console.log(total.dataSync()[0]); // 0.9938282
 * ```
 */
export function generatorLoss(
  teacherLogits: tf.Tensor2D,
  teacherFeatures: tf.Tensor,
  studentLogits: tf.Tensor2D,
  w: GeneratorLossWeights,
): { total: tf.Scalar; parts: tf.Tensor1D } {
  return tf.tidy(() => {
    const oh = oneHotLoss(teacherLogits);
    const ie = informationEntropyLoss(teacherLogits);
    const act = activationLoss(teacherFeatures);
    const adv = adversarialJsLoss(studentLogits, stopGradient(teacherLogits), w.temperature);
    const total = tf.addN([
      tf.mul(oh, w.oneHot),
      tf.mul(ie, w.entropy),
      tf.mul(act, w.activation),
      tf.mul(adv, w.adversarial),
    ]) as tf.Scalar;
    return { total, parts: tf.stack([oh, ie, act, adv]) as tf.Tensor1D };
  });
}
