import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { forward } from "../../src/models/classifier.ts";
import { batchNormTraining, trainableParameterCount } from "../../src/models/layers.ts";
import { ARCHITECTURES, buildClassifier } from "../../src/models/registry.ts";
import { UserError } from "../../src/util/errors.ts";

await initBackend("wasm");

// Trainable parameter counts of the reference PyTorch definitions (sum of numel over
// model.parameters()). The issue gives lenet5, lenet5-half, resnet18, wrn-16-1 and wrn-40-2; every
// number here was also counted with PyTorch 1.13 (Debian python3-torch) on definitions rewritten
// from the references (tests/reference/torch_crosscheck.py): PRE-DFKD networks/lenet.py,
// resnet.py, mobilenet.py; CMI/DataFree wresnet.py, vgg.py (vgg11_bn).
const COUNTS: Record<string, Record<number, number>> = {
  "lenet5": { 10: 61_706 },
  "lenet5-half": { 10: 15_738 },
  "resnet18": { 10: 11_173_962, 100: 11_220_132, 200: 11_271_432 },
  "resnet34": { 10: 21_282_122, 100: 21_328_292, 200: 21_379_592 },
  "wrn-16-1": { 10: 175_066, 100: 180_916 },
  "wrn-16-2": { 10: 691_674, 100: 703_284 },
  "wrn-40-1": { 10: 563_930, 100: 569_780 },
  "wrn-40-2": { 10: 2_243_546, 100: 2_255_156 },
  "vgg11": { 10: 9_231_114, 100: 9_277_284 },
  "mobilenetv2": { 10: 2_236_682, 100: 2_351_972 },
  "mobilenetv2-cmi": { 10: 2_236_682, 100: 2_351_972 },
};

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

function shapeFor(arch: string, size = 32): [number, number, number] {
  return arch.startsWith("lenet") ? [32, 32, 1] : [size, size, 3];
}

Deno.test("every architecture has its reference PyTorch trainable parameter count", () => {
  assert.deepEqual(Object.keys(COUNTS).sort(), Object.keys(ARCHITECTURES).sort());
  for (const [arch, byClasses] of Object.entries(COUNTS)) {
    for (const [classes, expected] of Object.entries(byClasses)) {
      const c = buildClassifier(arch, {
        inputShape: shapeFor(arch),
        classes: Number(classes),
        seed: 1,
      });
      assert.equal(trainableParameterCount(c.model), expected, `${arch} with ${classes} classes`);
      c.model.dispose();
    }
  }
});

Deno.test("forward gives [N, classes] logits and [N, featureSize] features", () => {
  const features: Record<string, number> = {
    "lenet5": 120,
    "lenet5-half": 60,
    "resnet18": 512,
    "resnet34": 512,
    "wrn-16-1": 64,
    "wrn-16-2": 128,
    "wrn-40-1": 64,
    "wrn-40-2": 128,
    "vgg11": 512,
    "mobilenetv2": 1280,
    "mobilenetv2-cmi": 1280,
  };
  for (const arch of Object.keys(ARCHITECTURES)) {
    const c = buildClassifier(arch, { inputShape: shapeFor(arch), classes: 7, seed: 2 });
    assert.equal(c.featureSize, features[arch], arch);
    tf.tidy(() => {
      const { logits, features: f } = forward(c, tf.zeros([2, ...c.inputShape]), false);
      assert.deepEqual(logits.shape, [2, 7], arch);
      assert.deepEqual(f.shape, [2, c.featureSize], arch);
    });
    c.model.dispose();
  }
});

Deno.test("the ResNets run 64x64 Tiny-ImageNet input with global pooling", () => {
  for (const arch of ["resnet18", "resnet34"]) {
    const c = buildClassifier(arch, { inputShape: [64, 64, 3], classes: 200, seed: 3 });
    assert.equal(trainableParameterCount(c.model), COUNTS[arch]![200]);
    tf.tidy(() => {
      const { logits, features } = forward(
        c,
        tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 5) as tf.Tensor4D,
        false,
      );
      assert.deepEqual(logits.shape, [2, 200]);
      assert.deepEqual(features.shape, [2, 512]);
      assert.ok(Number.isFinite(logits.sum().dataSync()[0]!));
    });
    c.model.dispose();
  }
});

Deno.test("the same seed gives identical weights, a different seed different ones", () => {
  const weights = (seed: number) => {
    const c = buildClassifier("wrn-16-1", { inputShape: [32, 32, 3], classes: 10, seed });
    const values = c.model.getWeights().map((w) => Array.from(w.dataSync()));
    c.model.dispose();
    return values;
  };
  const a = weights(11);
  assert.deepEqual(weights(11), a);
  const b = weights(12);
  assert.notDeepEqual(b, a);
});

Deno.test("initialisation follows the reference's PyTorch initialisers", () => {
  // LeNet-5 (PyTorch defaults): conv1 weight and bias uniform in +-1/sqrt(1*5*5) = +-0.2.
  const lenet = buildClassifier("lenet5", { inputShape: [32, 32, 1], classes: 10, seed: 4 });
  const kernel = values(lenet.model.getLayer("conv1").getWeights()[0]!);
  const bias = values(lenet.model.getLayer("conv1").getWeights()[1]!);
  assert.ok(kernel.every((v) => Math.abs(v) <= 0.2) && bias.every((v) => Math.abs(v) <= 0.2));
  assert.ok(Math.max(...kernel) > 0.15 && Math.min(...kernel) < -0.15);
  lenet.model.dispose();
  // WRN: conv weight normal(0, sqrt(2 / (3*3*out))); block3 conv2 of wrn-40-2 has out = 128.
  const wrn = buildClassifier("wrn-40-2", { inputShape: [32, 32, 3], classes: 10, seed: 4 });
  const w = values(wrn.model.getLayer("block3.layer.0.conv2").getWeights()[0]!);
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  const expected = Math.sqrt(2 / (9 * 128));
  assert.ok(Math.abs(std / expected - 1) < 0.02, `std ${std} vs ${expected}`);
  assert.ok(w.some((v) => Math.abs(v) > 2.5 * expected), "normal, not truncated");
  const fcBias = values(wrn.model.getLayer("fc").getWeights()[1]!);
  assert.ok(fcBias.every((v) => v === 0));
  wrn.model.dispose();
});

Deno.test("stride-2 3x3 convolutions pad explicitly (PyTorch's symmetric padding), stride 1 uses same", () => {
  const c = buildClassifier("resnet18", { inputShape: [8, 8, 3], classes: 10, seed: 5 });
  const padding = (name: string) =>
    (c.model.getLayer(name).getConfig() as { padding: string }).padding;
  assert.equal(c.model.getLayer("layer2.0.conv1.pad").getClassName(), "ZeroPadding2D");
  assert.equal(padding("layer2.0.conv1"), "valid");
  assert.equal(padding("layer1.0.conv1"), "same");
  // Symmetric padding: a stride-2 3x3 conv whose kernel is 1 at the centre only reads x[2i, 2j]
  // (TensorFlow's "same" would pad only bottom/right and read x[2i + 1, 2j + 1]).
  tf.tidy(() => {
    const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const k = tf.tensor4d([0, 0, 0, 0, 1, 0, 0, 0, 0], [3, 3, 1, 1]);
    assert.deepEqual(Array.from(tf.conv2d(padded as tf.Tensor4D, k, 2, "valid").dataSync()), [
      0,
      2,
      8,
      10,
    ]);
  });
  c.model.dispose();
});

Deno.test("batch norm in training mode uses batch statistics and updates running ones as PyTorch", () => {
  const c = buildClassifier("wrn-16-1", { inputShape: [8, 8, 3], classes: 10, seed: 6 });
  const bn = c.model.getLayer("block1.layer.0.bn1");
  const cfg = bn.getConfig() as { epsilon: number; momentum: number };
  assert.equal(cfg.epsilon, 1e-5);
  assert.equal(cfg.momentum, 0.9);
  assert.equal(bn.getClassName(), "BatchNormalization");
  // block1.layer.0.bn1 sees conv1's output; run one training forward and check the running
  // statistics against the batch mean and the unbiased variance of that output.
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const probe = tf.model({
    inputs: c.model.inputs,
    outputs: c.model.getLayer("conv1").output as tf.SymbolicTensor,
  });
  const h = probe.predict(x) as tf.Tensor4D;
  const n = 4 * 8 * 8;
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  forward(c, x, true);
  const [, , movingMean, movingVar] = bn.getWeights() as tf.Tensor[];
  const expMean = values(mean.mul(0.1));
  const expVar = values(variance.mul(n / (n - 1)).mul(0.1).add(0.9));
  values(movingMean!).forEach((v, i) => assert.ok(Math.abs(v - expMean[i]!) < 1e-5));
  values(movingVar!).forEach((v, i) => assert.ok(Math.abs(v - expVar[i]!) < 1e-5));
  c.model.dispose();
});

Deno.test("unknown architectures and input shapes an architecture cannot take are UserErrors", () => {
  assert.throws(
    () => buildClassifier("resnet19", { inputShape: [32, 32, 3], classes: 10, seed: 1 }),
    (e: unknown) =>
      e instanceof UserError && /resnet19/.test(e.message) && /resnet18/.test(e.message),
  );
  assert.throws(
    () => buildClassifier("lenet5", { inputShape: [28, 28, 1], classes: 10, seed: 1 }),
    (e: unknown) =>
      e instanceof UserError && /32, 32, 1/.test(e.message) && /28, 28, 1/.test(e.message),
  );
  assert.throws(
    () => buildClassifier("resnet18", { inputShape: [30, 30, 3], classes: 10, seed: 1 }),
    UserError,
  );
});

Deno.test("batch norm's hand-written gradient matches autodiff of the textbook formula", () => {
  const x = tf.randomNormal([3, 4, 5, 6], 0.5, 2, "float32", 11) as tf.Tensor4D;
  const gamma = tf.randomNormal([6], 1, 0.3, "float32", 12) as tf.Tensor1D;
  const beta = tf.randomNormal([6], 0, 0.3, "float32", 13) as tf.Tensor1D;
  const weights = tf.randomNormal([3, 4, 5, 6], 0, 1, "float32", 14);
  const ours = tf.grads((a, g, b) =>
    batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y.mul(weights)
      .sum()
  )([x, gamma, beta]);
  const reference = tf.grads((a, g, b) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.batchNorm(a as tf.Tensor4D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5)
      .mul(weights).sum();
  })([x, gamma, beta]);
  ours.forEach((g, i) => {
    const a = values(g);
    const b = values(reference[i]!);
    const scale = Math.max(...b.map(Math.abs));
    a.forEach((v, j) =>
      assert.ok(Math.abs(v - b[j]!) <= 1e-4 * scale, `input ${i}[${j}]: ${v} vs ${b[j]}`)
    );
  });
  tf.dispose([x, gamma, beta, weights, ...ours, ...reference]);
});

Deno.test("a training-mode forward outside a gradient leaves no tensors behind", () => {
  const c = buildClassifier("wrn-16-1", { inputShape: [8, 8, 3], classes: 10, seed: 7 });
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const run = () =>
    tf.tidy(() => {
      forward(c, x, true);
    });
  run();
  const count = tf.memory().numTensors;
  run();
  run();
  assert.equal(tf.memory().numTensors, count);
  x.dispose();
  c.model.dispose();
});

Deno.test("mobilenetv2 lists its dropout generator; training-mode masks follow its position", async () => {
  await initBackend("wasm");
  const c = buildClassifier("mobilenetv2", { inputShape: [32, 32, 3], classes: 10, seed: 0 });
  assert.equal(c.randomSources?.length, 1);
  assert.equal(
    buildClassifier("lenet5", { inputShape: [32, 32, 1], classes: 10, seed: 0 })
      .randomSources,
    undefined,
  );
  const dropout = c.randomSources![0]!;
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const saved = dropout.state();
  const logits = () => {
    const out = tf.tidy(() => forward(c, x, true).logits);
    const values = out.arraySync();
    out.dispose();
    return values;
  };
  const first = logits();
  const second = logits();
  assert.notDeepStrictEqual(second, first, "a fresh mask at every training call");
  dropout.restore(saved);
  assert.deepStrictEqual(logits(), first, "the same position gives the same mask");
  x.dispose();
  c.model.dispose();
});
