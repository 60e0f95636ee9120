import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { Rng } from "../../src/util/rng.ts";
import { relativeError } from "./conv_reference.ts";

/** A small CNN's parameters: conv (stride 2) -> batch norm -> max pool -> conv -> avg pool -> dense. */
function smallCnnParams(seed: number): tf.Variable[] {
  const rng = new Rng(seed);
  const init = (shape: number[]) =>
    tf.variable(tf.randomNormal(shape, 0, 0.3, "float32", rng.seed()));
  return [
    init([3, 3, 3, 8]), // conv1
    tf.variable(tf.ones([8])), // bn gamma
    tf.variable(tf.zeros([8])), // bn beta
    init([5, 5, 8, 6]), // conv2
    init([6, 4]), // dense kernel
    tf.variable(tf.zeros([4])), // dense bias
  ];
}

function smallCnnLoss(params: tf.Tensor[], x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
  const [w1, gamma, beta, w2, wd, bd] = params as [
    tf.Tensor4D,
    tf.Tensor1D,
    tf.Tensor1D,
    tf.Tensor4D,
    tf.Tensor2D,
    tf.Tensor1D,
  ];
  let h: tf.Tensor4D = tf.conv2d(x, w1, 2, "same");
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  h = tf.batchNorm(h, mean, variance, beta, gamma, 1e-5) as tf.Tensor4D;
  h = tf.relu(tf.maxPool(h, 2, 2, "valid"));
  h = tf.relu(tf.conv2d(h, w2, 1, "same"));
  const pooled = tf.avgPool(h, [h.shape[1], h.shape[2]], 1, "valid").reshape([x.shape[0], -1]);
  const logits = tf.add(tf.matMul(pooled, wd), bd);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

async function gradientsOn(backend: "wasm" | "cpu"): Promise<Float32Array[]> {
  await initBackend(backend);
  const params = smallCnnParams(7);
  const rng = new Rng("cnn-data");
  const xs = Float32Array.from({ length: 6 * 17 * 15 * 3 }, () => rng.normal());
  const ys = Array.from({ length: 6 }, () => rng.int(4));
  const grads = tf.tidy(() => {
    const x = tf.tensor4d(xs, [6, 17, 15, 3]);
    const labels = tf.oneHot(tf.tensor1d(ys, "int32"), 4) as tf.Tensor2D;
    const g = tf.grads((...p: tf.Tensor[]) => smallCnnLoss(p, x, labels))(params);
    return g.map((t) => t.dataSync() as Float32Array);
  });
  tf.dispose(params);
  return grads;
}

Deno.test("a small CNN's gradients (conv, batch norm, pooling, dense) on wasm match the cpu backend's", async () => {
  const wasm = await gradientsOn("wasm");
  const cpu = await gradientsOn("cpu");
  assert.equal(wasm.length, 6);
  wasm.forEach((g, i) => {
    const err = relativeError(g, cpu[i] as Float32Array);
    assert.ok(err < 1e-4, `parameter ${i}: relative error ${err}`);
    assert.ok(g.some((v) => v !== 0), `parameter ${i} has a non-zero gradient`);
  });
});

/** Trains a seeded layers model for a few steps on seeded data with seeded shuffles. */
function trainSmallModel(seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 4,
        kernelSize: 3,
        padding: "same",
        kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 3,
        kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
      }),
    ],
  });
  const optimizer = tf.train.sgd(0.1);
  const dataRng = rng.fork("data");
  const n = 24;
  const xs = Float32Array.from({ length: n * 144 }, () => dataRng.normal());
  const ys = Array.from({ length: n }, () => dataRng.int(3));
  for (let epoch = 0; epoch < 2; epoch++) {
    const order = dataRng.permutation(n);
    for (let b = 0; b < n; b += 8) {
      const idx = Array.from(order.subarray(b, b + 8));
      tf.tidy(() => {
        const x = tf.gather(tf.tensor4d(xs, [n, 12, 12, 1]), idx);
        const y = tf.oneHot(tf.tensor1d(idx.map((i) => ys[i] as number), "int32"), 3);
        optimizer.minimize(() =>
          tf.losses.softmaxCrossEntropy(
            y,
            model.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar
        );
      });
    }
  }
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  optimizer.dispose();
  return weights;
}

Deno.test("training with the same seed on wasm gives identical weights, another seed different ones", async () => {
  await initBackend("wasm");
  const a = trainSmallModel(1);
  const b = trainSmallModel(1);
  const c = trainSmallModel(2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("a training step does not grow the tensor count", async () => {
  await initBackend("wasm");
  const params = smallCnnParams(3);
  const optimizer = tf.train.adam(0.01);
  const x = tf.randomNormal([4, 9, 9, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], "int32"), 4) as tf.Tensor2D;
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => smallCnnLoss(params, x, labels), false, params);
    });
  step(); // creates the optimiser's slots
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([...params, x, labels]);
  optimizer.dispose();
});
