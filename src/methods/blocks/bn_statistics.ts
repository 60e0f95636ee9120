/**
 * DeepInversion's BatchNorm-statistics hooks (DeepInversionHook and CMI's
 * InstanceMeanHook) for a frozen layers-model teacher: a probe model that
 * shares the teacher's weights and also returns the inputs of chosen layers,
 * and the losses computed from them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Classifier } from "../../models/classifier.ts";

/** Running statistics of one BatchNorm layer (the teacher's, fixed). */
export interface BnRunningStats {
  /** Layer name. */
  name: string;
  /** Running mean per channel. */
  mean: tf.Tensor1D;
  /** Running variance per channel. */
  variance: tf.Tensor1D;
}

/** What one probe forward pass returns (the caller disposes it). */
export interface ProbeOutput {
  /** Logits `[N, K]`. */
  logits: tf.Tensor2D;
  /** Penultimate features `[N, F]`. */
  features: tf.Tensor2D;
  /** Inputs of the watched BatchNorm layers, in model order. */
  bnInputs: tf.Tensor4D[];
  /** Inputs of the extra feature layers, in the order given. */
  featureInputs: tf.Tensor[];
}

/** The teacher's BatchNorm layers in model order. */
export function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === "BatchNormalization");
}

function weightNamed(layer: tf.layers.Layer, suffix: string): tf.Tensor1D {
  const w = layer.weights.find((v) => v.originalName.endsWith(suffix));
  if (w === undefined) throw new Error(`BatchNorm layer "${layer.name}" has no ${suffix} weight`);
  return tf.keep(tf.clone(w.read())) as tf.Tensor1D;
}

/**
 * A teacher probe: the teacher's own layers (shared weights) with extra
 * outputs for the inputs of its BatchNorm layers and of `featureLayers`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { TeacherProbe } from "./bn_statistics.ts";
 * const input = tf.input({ shape: [4, 4, 1] });
 * const h = tf.layers.batchNormalization({}).apply(input) as tf.SymbolicTensor;
 * const features = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
 * const logits = tf.layers.dense({ units: 2 }).apply(features) as tf.SymbolicTensor;
 * const model = tf.model({ inputs: input, outputs: [logits, features] });
 * const teacher = { arch: "tiny", inputShape: [4, 4, 1] as const, classes: 2, featureSize: 16, model };
 * const probe = new TeacherProbe(teacher, []);
 * assert.deepEqual(probe.forward(tf.zeros([3, 4, 4, 1])).bnInputs[0]?.shape, [3, 4, 4, 1]);
 * ```
 */
export class TeacherProbe {
  readonly #model: tf.LayersModel;
  /** The watched BatchNorm layers' running statistics. */
  readonly stats: BnRunningStats[];
  readonly #featureCount: number;

  /** Builds the probe; `featureLayers` are layer names whose inputs {@linkcode forward} returns. */
  constructor(teacher: Classifier, featureLayers: readonly string[]) {
    const model = teacher.model;
    const bns = batchNormLayers(model);
    const extra = featureLayers.map((n) => model.getLayer(n).input as tf.SymbolicTensor);
    this.#model = tf.model({
      inputs: model.inputs,
      outputs: [
        ...model.outputs,
        ...bns.map((l) => l.input as tf.SymbolicTensor),
        ...extra,
      ],
    });
    this.#featureCount = extra.length;
    this.stats = bns.map((l) => ({
      name: l.name,
      mean: weightNamed(l, "moving_mean"),
      variance: weightNamed(l, "moving_variance"),
    }));
  }

  /** Runs the teacher in inference mode on NHWC `x` (differentiable in `x`). */
  forward(x: tf.Tensor4D): ProbeOutput {
    const out = this.#model.apply(x, { training: false });
    const all = Array.isArray(out) ? out : [out];
    const [logits, features, ...rest] = all as tf.Tensor[];
    const nBn = this.stats.length;
    return {
      logits: logits as tf.Tensor2D,
      features: features as tf.Tensor2D,
      bnInputs: rest.slice(0, nBn) as tf.Tensor4D[],
      featureInputs: rest.slice(nBn, nBn + this.#featureCount),
    };
  }

  /** Frees the kept running statistics (not the teacher's weights). */
  dispose(): void {
    for (const s of this.stats) tf.dispose([s.mean, s.variance]);
  }
}

/**
 * DeepInversion's feature-distribution loss:
 * `sum_l ||var_l - runVar_l||_2 + ||mean_l - runMean_l||_2`, with the batch
 * mean and biased variance of each BN input over `(N, H, W)`. 0 without layers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { bnStatisticsLoss } from "./bn_statistics.ts";
 * const x = tf.tensor4d([1, 3], [2, 1, 1, 1]); // mean 2, variance 1
 * const stats = [{ name: "bn", mean: tf.tensor1d([0]), variance: tf.tensor1d([1]) }];
 * assert.deepEqual((await bnStatisticsLoss([x], stats).data())[0], 2);
 * ```
 */
export function bnStatisticsLoss(inputs: tf.Tensor4D[], stats: BnRunningStats[]): tf.Scalar {
  return tf.tidy(() => {
    if (inputs.length === 0) return tf.scalar(0);
    const terms = inputs.map((x, i) => {
      const s = stats[i] as BnRunningStats;
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.add(tf.norm(tf.sub(s.variance, variance)), tf.norm(tf.sub(s.mean, mean)));
    });
    return tf.addN(terms) as tf.Scalar;
  });
}

/**
 * CMI's InstanceMeanHook feature: the spatial mean of each NHWC input per
 * image and channel, concatenated over layers (`[N, sum C_l]`); 2-D inputs
 * are taken as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { instanceMeans } from "./bn_statistics.ts";
 * assert.deepEqual(instanceMeans([tf.ones([2, 3, 3, 4]), tf.ones([2, 5])]).shape, [2, 9]);
 * ```
 */
export function instanceMeans(inputs: tf.Tensor[]): tf.Tensor2D {
  return tf.tidy(() =>
    tf.concat(inputs.map((x) => (x.rank === 4 ? tf.mean(x, [1, 2]) : x) as tf.Tensor2D), 1)
  );
}
