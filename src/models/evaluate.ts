/**
 * Test-set accuracy of a classifier, in inference mode (BatchNorm running
 * statistics, no dropout).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { iterateBatches } from "../data/batches.ts";
import type { ImageSplit, Normalisation } from "../data/dataset.ts";
import { UserError } from "../util/errors.ts";
import { type Classifier, forward } from "./classifier.ts";

/** Options of {@linkcode evaluateAccuracy}. */
export interface EvaluateOptions {
  /** The split's image shape `[height, width, channels]` (must be the classifier's input shape). */
  imageShape: readonly [number, number, number];
  /** The dataset's normalisation. */
  normalisation: Normalisation;
  /** Images per forward pass (default 256). */
  batchSize?: number;
}

/**
 * The fraction of `split` that `classifier` labels correctly (top-1, in [0,
 * 1]), computed in inference mode in batches; every tensor is disposed and
 * the correct count is read once at the end. An image shape that differs
 * from the classifier's input is a `UserError`.
 *
 * @example
 * ```ts
 * import { evaluateAccuracy } from "./evaluate.ts";
 * import type { Classifier } from "./classifier.ts";
 * import type { ImageSplit } from "../data/dataset.ts";
 * declare const teacher: Classifier;
 * declare const test: ImageSplit;
 * const acc = await evaluateAccuracy(teacher, test, {
 *   imageShape: [32, 32, 1],
 *   normalisation: { mean: [0.1307], std: [0.3081] },
 * });
 * ```
 */
export async function evaluateAccuracy(
  classifier: Classifier,
  split: ImageSplit,
  options: EvaluateOptions,
): Promise<number> {
  const { imageShape, normalisation } = options;
  if (imageShape.some((d, i) => d !== classifier.inputShape[i])) {
    throw new UserError(
      `${classifier.arch} takes input [${classifier.inputShape.join(", ")}] but the images are [${
        imageShape.join(", ")
      }]`,
    );
  }
  if (split.size === 0) return NaN;
  let correct: tf.Scalar = tf.scalar(0, "int32");
  for (
    const { x, y } of iterateBatches(split, {
      imageShape,
      normalisation,
      batchSize: options.batchSize ?? 256,
      shuffle: false,
    })
  ) {
    const next = tf.tidy(() => {
      const { logits } = forward(classifier, x, false);
      return correct.add(tf.sum(tf.equal(tf.argMax(logits, 1), y).toInt())) as tf.Scalar;
    });
    tf.dispose([correct, x, y]);
    correct = next;
  }
  const total = (await correct.data())[0] as number;
  correct.dispose();
  return total / split.size;
}
