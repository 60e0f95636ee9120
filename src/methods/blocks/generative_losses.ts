/**
 * The losses DAFL and DFAD add to those of {@link ./losses.ts}: the
 * distillation KL divergence (DAFL's `kdloss`, and zju-vipa/CMI's tempered
 * `KLDiv`), DAFL's generator objective, and DFAD's adversarial L1 objective.
 * Each takes TensorFlow.js tensors and returns a scalar tensor.
 *
 * Notation: `T` teacher logits `[N, K]`, `S` student logits `[N, K]`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { activationLoss, informationEntropyLoss, l1LogitLoss, oneHotLoss } from "./losses.ts";

/**
 * Distillation KL divergence at temperature `t`:
 * `t^2 * (1/N) * sum_n sum_k p_nk * (log p_nk - log q_nk)` with
 * `p = softmax(T/t)` (the target) and `q = softmax(S/t)`. At `t = 1` this is
 * DAFL's `kdloss` (`F.kl_div(log_softmax(S), softmax(T), sum) / N`); at other
 * temperatures zju-vipa/CMI's `KLDiv(T=t)` (batch-mean KL times `t^2`). The
 * releases detach the teacher's logits: pass logits computed outside the
 * gradient tape.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { kdKlLoss } from "./generative_losses.ts";
 * const t = tf.tensor2d([[2, 0], [0, 2]]);
 * console.log(kdKlLoss(t, t).dataSync()[0]); // 0 (the same distributions)
 * ```
 */
export function kdKlLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  temperature = 1,
): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacherLogits, temperature), 1);
    const logQ = tf.logSoftmax(tf.div(studentLogits, temperature), 1);
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)));
    return tf.mul(tf.div(kl, studentLogits.shape[0]), temperature * temperature);
  });
}

/** Weights of DAFL's generator loss (the release's `--oh`, `--ie`, `--a`). */
export interface DaflWeights {
  /** One-hot loss weight (oh). */
  oneHot: number;
  /** Information-entropy loss weight (ie). */
  entropy: number;
  /** Activation loss weight (a). */
  activation: number;
}

/**
 * DAFL's generator objective on the teacher's logits and features of `G(z)`:
 * `oh * oneHot(T) + ie * IE(T) + a * activation(f)` (see
 * {@linkcode oneHotLoss}, {@linkcode informationEntropyLoss} with its base-10
 * logarithm, {@linkcode activationLoss}). Returns the total and its three
 * unweighted parts.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { daflGeneratorLoss } from "./generative_losses.ts";
 * const { total } = daflGeneratorLoss(tf.tensor2d([[9, 0], [0, 9]]), tf.tensor2d([[1, -1]]), {
 *   oneHot: 0, entropy: 1, activation: 1,
 * });
 * console.log(total.dataSync()[0]); // -1.30103 (= log10(1/2) - 1)
 * ```
 */
export function daflGeneratorLoss(
  teacherLogits: tf.Tensor2D,
  teacherFeatures: tf.Tensor,
  weights: DaflWeights,
): { total: tf.Scalar; oneHot: tf.Scalar; entropy: tf.Scalar; activation: tf.Scalar } {
  const oneHot = oneHotLoss(teacherLogits);
  const entropy = informationEntropyLoss(teacherLogits);
  const activation = activationLoss(teacherFeatures);
  const total = tf.tidy(() =>
    tf.addN([
      tf.mul(oneHot, weights.oneHot),
      tf.mul(entropy, weights.entropy),
      tf.mul(activation, weights.activation),
    ]) as tf.Scalar
  );
  return { total, oneHot, entropy, activation };
}

/**
 * DFAD's generator objective: `-(1/(N*K)) * sum |S - T|`, the negated mean
 * absolute logit discrepancy (`-F.l1_loss(s_logit, t_logit)`); minimising it
 * makes the generator seek samples on which student and teacher disagree.
 * Gradients flow into both logits (the generator reaches both networks).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dfadGeneratorLoss } from "./generative_losses.ts";
 * console.log(dfadGeneratorLoss(tf.tensor2d([[1, 2]]), tf.tensor2d([[0, 4]])).dataSync()[0]); // -1.5
 * ```
 */
export function dfadGeneratorLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(l1LogitLoss(studentLogits, teacherLogits)));
}
