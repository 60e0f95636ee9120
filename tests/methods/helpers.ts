/**
 * Test fixtures for the methods: tiny classifiers built with tf.layers
 * (functional models with outputs [logits, features], as the model zoo's)
 * and a tiny method context.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Classifier } from "../../src/models/classifier.ts";
import type { Hyperparameters, MethodContext } from "../../src/methods/method.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { Rng } from "../../src/util/rng.ts";
import { seededDropout } from "../../src/models/seeded_dropout.ts";
import { getMethod } from "../../src/methods/registry.ts";

/**
 * A small CNN classifier (conv, pool, dense features, dense logits), seeded;
 * with `dropoutRng`, dropout (rate 0.5) before the logits draws its masks
 * from it (listed in `randomSources`, as MobileNetV2's).
 */
export function tinyClassifier(
  inputShape: [number, number, number],
  classes: number,
  seed: number,
  filters = 4,
  featureSize = 16,
  dropoutRng?: Rng,
): Classifier {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  const input = tf.input({ shape: inputShape });
  let h = tf.layers.conv2d({
    filters,
    kernelSize: 3,
    activation: "relu",
    kernelInitializer: init(1),
  }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const features = tf.layers.dense({
    units: featureSize,
    activation: "relu",
    kernelInitializer: init(2),
  }).apply(h) as tf.SymbolicTensor;
  const head = dropoutRng === undefined
    ? features
    : seededDropout(features, { name: "dropout", rate: 0.5 }, dropoutRng);
  const logits = tf.layers.dense({ units: classes, kernelInitializer: init(3) })
    .apply(head) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [logits, features] });
  return {
    arch: "tiny",
    inputShape,
    classes,
    featureSize,
    model,
    ...(dropoutRng === undefined ? {} : { randomSources: [dropoutRng] }),
  };
}

/** Hyperparameters that make a method tiny (narrow generator and VAE, short latent). */
export function tinyHyper(method: string): Hyperparameters {
  const all: Hyperparameters = {
    latentDim: 8,
    generatorWidth: 0.0625,
    vaeWidth: 0.0625,
    synthesisSteps: 3,
    bankSize: 64,
    negatives: 8,
    headDim: 4,
  };
  // Each method takes the tiny settings it has (unknown names would be errors).
  const table = getMethod(method).hyperparameters;
  return Object.fromEntries(Object.entries(all).filter(([name]) => name in table));
}

/** A context for `method` on a tiny 8x8x1, 3-class problem. */
export function tinyContext(
  method: string,
  seed: number,
  hyper: Hyperparameters = {},
  student?: Classifier,
): MethodContext {
  const imageShape: [number, number, number] = [8, 8, 1];
  return {
    teacher: tinyClassifier(imageShape, 3, 1),
    student: student ?? tinyClassifier(imageShape, 3, 2, 2, 8),
    imageShape,
    classes: 3,
    budget: { epochs: 2, iterationsPerEpoch: 2, batchSize: 16, studentStepsPerIteration: 3 },
    hyper: { ...tinyHyper(method), ...hyper },
    rng: new Rng(seed),
    log: silentLogger,
  };
}
