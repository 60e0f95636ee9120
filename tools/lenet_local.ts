/**
 * The classifiers the timing and MNIST scripts use: the model zoo's
 * (`src/models/registry.ts`, `buildClassifier`) when that module exists, else
 * local LeNet-5 / LeNet-5-half definitions equivalent to the release's
 * `networks/lenet.py` layer for layer (5x5 valid convs 6/16/120 or 3/8/60,
 * 2x2 max pools, linear 84 or 42, ReLU; features = the third conv's output).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Classifier } from "../src/models/classifier.ts";

type BuildClassifier = (
  arch: string,
  options: { inputShape: [number, number, number]; classes: number; seed: number },
) => Classifier;

/** LeNet-5 (`half` false) or LeNet-5-half for 32x32x1 input and 10 classes, seeded. */
export function localLeNet(half: boolean, seed: number): Classifier {
  const [c1, c2, c3, hidden] = half ? [3, 8, 60, 42] : [6, 16, 120, 84];
  const init = (k: number) => tf.initializers.heUniform({ seed: seed * 10 + k });
  const input = tf.input({ shape: [32, 32, 1] });
  const conv = (x: tf.SymbolicTensor, filters: number, k: number) =>
    tf.layers.conv2d({ filters, kernelSize: 5, activation: "relu", kernelInitializer: init(k) })
      .apply(x) as tf.SymbolicTensor;
  const pool = (x: tf.SymbolicTensor) =>
    tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  let x = pool(conv(input, c1, 1));
  x = pool(conv(x, c2, 2));
  const features = tf.layers.flatten().apply(conv(x, c3, 3)) as tf.SymbolicTensor;
  const h = tf.layers.dense({ units: hidden, activation: "relu", kernelInitializer: init(4) })
    .apply(features) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, kernelInitializer: init(5) })
    .apply(h) as tf.SymbolicTensor;
  return {
    arch: half ? "lenet5-half" : "lenet5",
    inputShape: [32, 32, 1],
    classes: 10,
    featureSize: c3,
    model: tf.model({ inputs: input, outputs: [logits, features] }),
  };
}

/**
 * A builder for `lenet5` / `lenet5-half` (MNIST shape): the zoo's when
 * `src/models/registry.ts` exists, else {@linkcode localLeNet}; `source` says which.
 */
export async function lenetBuilder(): Promise<
  { build: (half: boolean, seed: number) => Classifier; source: string }
> {
  const url = new URL("../src/models/registry.ts", import.meta.url);
  let zoo: BuildClassifier | undefined;
  try {
    await Deno.stat(url);
    zoo = (await import(url.href) as { buildClassifier?: BuildClassifier }).buildClassifier;
  } catch {
    zoo = undefined;
  }
  if (zoo === undefined) {
    return { build: localLeNet, source: "local definitions (model zoo absent)" };
  }
  const buildZoo = zoo;
  return {
    build: (half, seed) =>
      buildZoo(half ? "lenet5-half" : "lenet5", { inputShape: [32, 32, 1], classes: 10, seed }),
    source: "the model zoo",
  };
}
