import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { forward } from "../../src/models/classifier.ts";
import { evaluateAccuracy } from "../../src/models/evaluate.ts";
import { buildClassifier } from "../../src/models/registry.ts";
import { saveClassifier } from "../../src/models/io.ts";
import {
  keyFor,
  listCachedTeachers,
  obtainTeacher,
  teacherKey,
} from "../../src/models/teacher/cache.ts";
import { loadTeacherFromPath } from "../../src/models/teacher/load.ts";
import { declareTeacher, type TeacherDeclaration } from "../../src/models/teacher/recipe.ts";
import { trainStep, trainTeacher } from "../../src/models/teacher/train.ts";
import { UserError } from "../../src/util/errors.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { Optimizer } from "../../src/util/optim.ts";
import { squaresDataset } from "./squares_dataset.ts";

await initBackend("wasm");

const TINY = { epochs: 2, batchSize: 40, augment: { crop: null }, schedule: { type: "constant" } };

function tiny(overrides: Record<string, unknown> = {}): TeacherDeclaration {
  return declareTeacher("lenet5-half", "mnist", { ...TINY, ...overrides });
}

Deno.test("a tiny teacher trains on fixture data and beats chance by far", async () => {
  const data = squaresDataset();
  const chance = 1 / data.classes;
  const before = buildClassifier("lenet5-half", { inputShape: [32, 32, 1], classes: 10, seed: 1 });
  const untrained = await evaluateAccuracy(before, data.test, {
    imageShape: data.imageShape,
    normalisation: data.normalisation,
  });
  before.model.dispose();
  const t = await trainTeacher(tiny({ epochs: 6, batchSize: 20 }), data, { log: silentLogger });
  assert.equal(t.history.length, 6);
  assert.ok(t.history[5]!.loss < t.history[0]!.loss, "the loss falls");
  assert.ok(t.testAccuracy > 0.8, `test accuracy ${t.testAccuracy} (untrained ${untrained})`);
  assert.ok(untrained < 3 * chance);
  assert.equal(t.history[5]!.testAccuracy, t.testAccuracy);
  t.classifier.model.dispose();
});

Deno.test("the same declaration trains to identical weights", async () => {
  const data = squaresDataset(80, 20);
  const weights = async () => {
    const t = await trainTeacher(
      tiny({ epochs: 1, augment: { crop: { size: 32, padding: 2 } } }),
      data,
      {
        log: silentLogger,
        evalEvery: 0,
      },
    );
    const w = t.classifier.model.getWeights().map((v) => Array.from(v.dataSync()));
    t.classifier.model.dispose();
    return w;
  };
  assert.deepEqual(await weights(), await weights());
});

Deno.test("a training step does not grow the number of tensors", () => {
  const data = squaresDataset(40, 10);
  for (const arch of ["lenet5-half", "wrn-16-1"]) {
    const shape: [number, number, number] = arch === "wrn-16-1" ? [8, 8, 3] : [32, 32, 1];
    const c = buildClassifier(arch, { inputShape: shape, classes: 10, seed: 3 });
    const vars = c.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new Optimizer({ name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const x = arch === "wrn-16-1"
      ? tf.randomNormal([8, ...shape], 0, 1, "float32", 1) as tf.Tensor4D
      : tf.tensor4d(Float32Array.from(data.train.images.slice(0, 8 * 1024), (v) => v / 255), [
        8,
        32,
        32,
        1,
      ]);
    const y = tf.tensor1d(Array.from(data.train.labels.slice(0, 8)), "int32");
    let sums = { lossSum: tf.scalar(0), correct: tf.scalar(0, "int32") };
    const step = () => {
      const next = trainStep(c, opt, vars, x, y, sums);
      tf.dispose([sums.lossSum, sums.correct]);
      sums = next;
    };
    step(); // creates the optimiser's momentum slots
    const count = tf.memory().numTensors;
    step();
    step();
    assert.equal(tf.memory().numTensors, count, arch);
    assert.ok(Number.isFinite(sums.lossSum.dataSync()[0]!));
    tf.dispose([x, y, sums.lossSum, sums.correct]);
    opt.dispose();
    c.model.dispose();
  }
});

Deno.test("evaluation is in inference mode and disposes its tensors", async () => {
  const data = squaresDataset(20, 30);
  // A model with BatchNorm: inference mode must leave its running statistics alone.
  const c = buildClassifier("wrn-16-1", { inputShape: [32, 32, 1], classes: 10, seed: 4 });
  const weightsBefore = c.model.getWeights().map((w) => Array.from(w.dataSync()));
  const options = { imageShape: data.imageShape, normalisation: data.normalisation, batchSize: 7 };
  const count = tf.memory().numTensors;
  const a = await evaluateAccuracy(c, data.test, options);
  assert.equal(tf.memory().numTensors, count);
  // Against a direct count over the whole split in one batch.
  const expected = tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from(data.test.images, (v) => (v / 255 - 0.1307) / 0.3081),
      [30, 32, 32, 1],
    );
    const pred = forward(c, x, false).logits.argMax(1).dataSync();
    return Array.from(pred).filter((p, i) => p === data.test.labels[i]).length / 30;
  });
  assert.ok(Math.abs(a - expected) < 1e-9, `${a} vs ${expected}`);
  assert.deepEqual(c.model.getWeights().map((w) => Array.from(w.dataSync())), weightsBefore);
  await assert.rejects(
    () => evaluateAccuracy(c, data.test, { ...options, imageShape: [28, 28, 1] }),
    UserError,
  );
  c.model.dispose();
});

Deno.test("the cache returns the same teacher for the same declaration and retrains when it changes", async () => {
  const cacheDir = await Deno.makeTempDir();
  const dataset = squaresDataset(80, 20);
  const options = { dataRoot: "/nonexistent", cacheDir, log: silentLogger, dataset };
  try {
    const first = await obtainTeacher(tiny(), options);
    assert.equal(first.trained, true);
    assert.ok(first.path.startsWith(cacheDir));
    const files = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
    assert.deepEqual(files, [first.path.slice(cacheDir.length + 1)], "no lock or temporary folder");
    const second = await obtainTeacher(tiny(), options);
    assert.equal(second.trained, false);
    assert.equal(second.hash, first.hash);
    assert.equal(second.testAccuracy, first.testAccuracy);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, "float32", 5) as tf.Tensor4D;
    assert.deepEqual(
      Array.from(forward(second.classifier, x, false).logits.dataSync()),
      Array.from(forward(first.classifier, x, false).logits.dataSync()),
    );
    const meta = second.meta;
    assert.equal(meta.declaration.arch, "lenet5-half");
    assert.equal(meta.trainableParams, 15_738);
    assert.ok(meta.environment.tfjs.length > 0 && meta.wallSeconds > 0);
    assert.equal(meta.history.length, 2);
    const changed = await obtainTeacher(tiny({ seed: 1 }), options);
    assert.equal(changed.trained, true);
    assert.notEqual(changed.hash, first.hash);
    assert.equal((await listCachedTeachers(cacheDir)).length, 2);
    const forced = await obtainTeacher(tiny(), { ...options, force: true });
    assert.equal(forced.trained, true);
    assert.equal(forced.hash, first.hash);
    tf.dispose([x]);
    for (const t of [first, second, changed, forced]) t.classifier.model.dispose();
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("parallel requests for one teacher train it once", async () => {
  const cacheDir = await Deno.makeTempDir();
  const dataset = squaresDataset(40, 10);
  const options = { dataRoot: "/nonexistent", cacheDir, log: silentLogger, dataset };
  try {
    const [a, b] = await Promise.all([
      obtainTeacher(tiny({ epochs: 1 }), options),
      obtainTeacher(tiny({ epochs: 1 }), options),
    ]);
    assert.equal([a, b].filter((t) => t.trained).length, 1);
    assert.equal(a.hash, b.hash);
    a.classifier.model.dispose();
    b.classifier.model.dispose();
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("every field of the declaration and the source code is part of the hash", async () => {
  const base = tiny();
  const key = await teacherKey(base);
  assert.match(key.hash, /^[0-9a-f]{64}$/);
  assert.equal(key.id, key.hash.slice(0, 16));
  assert.deepEqual(Object.keys(key.code).sort(), ["layers.ts", "lenet.ts", "train.ts"]);
  assert.equal((await teacherKey(tiny())).hash, key.hash, "deterministic");
  const variants: TeacherDeclaration[] = [
    { ...base, arch: "lenet5" },
    { ...base, dataset: "mnist-other" },
    tiny({ epochs: 3 }),
    tiny({ batchSize: 41 }),
    tiny({ seed: 9 }),
    tiny({ optimizer: { lr: 0.002 } }),
    tiny({ optimizer: { name: "sgd", lr: 0.1 } }),
    tiny({ optimizer: { name: "sgd", lr: 0.1, momentum: 0.9 } }),
    tiny({ schedule: { type: "cosine" } }),
    tiny({ schedule: { type: "step", milestones: [1], gamma: 0.1 } }),
    tiny({ augment: { crop: { size: 32, padding: 2 } } }),
    tiny({ augment: { flip: true } }),
  ];
  const hashes = new Set([key.hash]);
  for (const v of variants) hashes.add(keyFor(v, key.code).hash);
  assert.equal(hashes.size, variants.length + 1);
  const edited = { ...key.code, "lenet.ts": "0".repeat(64) };
  assert.notEqual(keyFor(base, edited).hash, key.hash);
  assert.equal(keyFor(base, key.code).hash, key.hash);
});

Deno.test("recipes: defaults follow the public recipes; overrides are checked field by field", () => {
  const mnist = declareTeacher("lenet5", "mnist");
  assert.deepEqual(mnist.recipe.optimizer, { name: "adam", lr: 1e-3 });
  assert.deepEqual(
    declareTeacher("lenet5", "mnist", { augment: { crop: null } }).recipe.augment,
    {},
  );
  assert.deepEqual(tiny().recipe.augment, {});
  const cifar = declareTeacher("resnet34", "cifar10");
  assert.deepEqual(cifar.recipe.optimizer, {
    name: "sgd",
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
  });
  assert.deepEqual(cifar.recipe.schedule, { type: "step", milestones: [80, 120], gamma: 0.1 });
  assert.deepEqual(cifar.recipe.augment, { crop: { size: 32, padding: 4 }, flip: true });
  assert.equal(cifar.recipe.batchSize, 128);
  const wrn = declareTeacher("wrn-40-2", "cifar100");
  assert.deepEqual(wrn.recipe.schedule, { type: "step", milestones: [120, 150, 180], gamma: 0.1 });
  assert.equal(wrn.recipe.optimizer.weightDecay, 1e-4);
  const merged = declareTeacher("resnet34", "cifar10", {
    epochs: 30,
    optimizer: { lr: 0.05 },
    schedule: { type: "cosine" },
  });
  assert.deepEqual(merged.recipe.optimizer, {
    name: "sgd",
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 5e-4,
  });
  assert.deepEqual(merged.recipe.schedule, { type: "cosine", tMax: 30 });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ epochs: 0 }, /recipe\.epochs: must be a whole number of at least 1 \(got 0\)/],
    [{ epoch: 3 }, /recipe\.epoch: unknown field/],
    [{ optimizer: { name: "rmsprop", lr: 1 } }, /recipe\.optimizer\.name/],
    [{ optimizer: { lr: -1 } }, /recipe\.optimizer\.lr: must be a positive number/],
    [{ optimizer: { name: "sgd", lr: 0.1, betas: 1 } }, /recipe\.optimizer\.betas: unknown field/],
    [{ schedule: { type: "step", milestones: "80" } }, /recipe\.schedule\.milestones/],
    [{ augment: { crop: { size: 28, padding: 2 } } }, /recipe\.augment\.crop\.size/],
    [{ augment: { flip: "yes" } }, /recipe\.augment\.flip/],
  ];
  for (const [overrides, pattern] of bad) {
    assert.throws(
      () => declareTeacher("lenet5", "mnist", overrides, "bench.json"),
      (e: unknown) =>
        e instanceof UserError && e.message.startsWith("bench.json: ") && pattern.test(e.message),
      JSON.stringify(overrides),
    );
  }
  assert.throws(() => declareTeacher("lenet5", "cifar10"), /lenet5 cannot take cifar10 images/);
  assert.throws(() => declareTeacher("lenet6", "mnist"), /Unknown architecture "lenet6"/);
  assert.throws(() => declareTeacher("lenet5", "svhn"), /Unknown dataset "svhn"/);
});

Deno.test("bring-your-own teachers are checked against the dataset's shape and classes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = buildClassifier("lenet5-half", { inputShape: [32, 32, 1], classes: 10, seed: 8 });
    await saveClassifier(c, dir);
    c.model.dispose();
    const ok = await loadTeacherFromPath(dir, { inputShape: [32, 32, 1], classes: 10 });
    assert.equal(ok.arch, "lenet5-half");
    ok.model.dispose();
    await assert.rejects(
      loadTeacherFromPath(dir, { inputShape: [32, 32, 3], classes: 100 }),
      (e: unknown) =>
        e instanceof UserError && e.message.startsWith(`${dir}/model.json: `) &&
        e.message.includes("[32, 32, 1]") && e.message.includes("[32, 32, 3]") &&
        e.message.includes("10 classes") && e.message.includes("has 100"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
