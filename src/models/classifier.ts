/**
 * The classifier interface shared by teachers and students: a TensorFlow.js
 * layers model whose forward pass gives the logits and the penultimate
 * (pooled) features that the DFKD losses need.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";

/**
 * A classifier built from the model zoo (or loaded from disk).
 *
 * `model` takes normalised NHWC images and has two outputs, in this order:
 * logits `[N, classes]` and features `[N, featureSize]`.
 */
export interface Classifier {
  /** Architecture name in the model registry (e.g. `lenet5`). */
  arch: string;
  /** Input shape `[height, width, channels]`. */
  inputShape: readonly [number, number, number];
  /** Number of classes. */
  classes: number;
  /** Size of the penultimate feature vector. */
  featureSize: number;
  /** The layers model: input images, outputs `[logits, features]`. */
  model: tf.LayersModel;
  /**
   * Generators the training-mode forward pass draws from (MobileNetV2's
   * dropout masks), in a fixed order. They are part of a training run's
   * state: a method's checkpoint saves and restores their positions, so a
   * resumed student draws the same masks as an uninterrupted one. Absent
   * when the forward pass is deterministic.
   */
  randomSources?: readonly Rng[];
}

/**
 * Runs `classifier` on `x` in training mode (batch statistics, updating the
 * moving averages) or inference mode, returning logits and features.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { forward, type Classifier } from "./classifier.ts";
 * declare const c: Classifier;
 * // const { logits } = forward(c, tf.zeros([2, 32, 32, 1]), false);
 * ```
 */
export function forward(
  classifier: Classifier,
  x: tf.Tensor4D,
  training: boolean,
): { logits: tf.Tensor2D; features: tf.Tensor2D } {
  const out = classifier.model.apply(x, { training }) as tf.Tensor[];
  const [logits, features] = out as [tf.Tensor2D, tf.Tensor2D];
  return { logits, features };
}
