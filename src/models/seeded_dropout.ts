/**
 * Dropout whose masks come from a seeded generator, for architectures that
 * train with dropout (MobileNetV2's classifier).
 *
 * TensorFlow.js's own `Dropout` either reuses one seed (the same mask at
 * every step) or draws from `Math.random` (not reproducible). This layer
 * draws a fresh seed from its {@linkcode Rng} at every training call, so the
 * masks follow the run's seed; the generator is returned to the model's
 * builder, which lists it in the classifier's `randomSources` so checkpoints
 * save and restore its position. It serialises as the built-in `Dropout`, so
 * saved models load in any TensorFlow.js.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";
import type { Sym } from "./layers.ts";

type DropoutCtor = new (args: Record<string, unknown>) => tf.layers.Layer;
const BuiltinDropout = (tf.layers.dropout({ rate: 0.5 }) as object).constructor as DropoutCtor;

class SeededDropout extends BuiltinDropout {
  static className = "Dropout";
  #rng: Rng;
  #rate: number;

  constructor(args: { name: string; rate: number; rng: Rng }) {
    super({ name: args.name, rate: args.rate });
    this.#rng = args.rng;
    this.#rate = args.rate;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
    if (kwargs["training"] !== true) return x.clone();
    return tf.dropout(x, this.#rate, undefined, this.#rng.seed());
  }
}

/**
 * Applies dropout with rate `rate` to `x`; in training mode every call draws
 * its mask's seed from `rng` (keep `rng` for the classifier's `randomSources`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { seededDropout } from "./seeded_dropout.ts";
 * import { Rng } from "../util/rng.ts";
 * const input = tf.input({ shape: [4] });
 * const out = seededDropout(input, { name: "drop", rate: 0.2 }, new Rng(1));
 * assert.deepEqual(out.shape, [null, 4]);
 * ```
 */
export function seededDropout(x: Sym, o: { name: string; rate: number }, rng: Rng): Sym {
  return new SeededDropout({ name: o.name, rate: o.rate, rng }).apply(x) as Sym;
}
