import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import type { Classifier } from "../../src/models/classifier.ts";
import { FeatureBank } from "../../src/methods/blocks/contrastive.ts";
import { ImagePool, quantise, studentBatch } from "../../src/methods/blocks/image_pool.ts";
import { cropAndFlip, resample, resizedCropAndFlip } from "../../src/methods/blocks/resample.ts";
import { DivergenceError } from "../../src/methods/method.ts";
import { getMethod } from "../../src/methods/registry.ts";
import { UserError } from "../../src/util/errors.ts";
import { Rng } from "../../src/util/rng.ts";
import { tinyContext } from "./helpers.ts";

const METHODS = ["deepinversion", "cmi"] as const;

/** A tiny seeded teacher with BatchNorm (conv, BN, ReLU, pool, dense) and non-trivial running stats. */
function bnTeacher(): Classifier {
  const input = tf.input({ shape: [8, 8, 1] });
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 70 + k });
  let h = tf.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    padding: "same",
    kernelInitializer: init(1),
  })
    .apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ epsilon: 1e-5 });
  h = bn.apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  const features = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 3, kernelInitializer: init(2) }).apply(
    features,
  ) as tf.SymbolicTensor;
  bn.setWeights([
    tf.tensor1d([1, 0.8, 1.2, 1]),
    tf.tensor1d([0, 0.1, -0.1, 0.2]),
    tf.tensor1d([0.1, -0.2, 0.3, 0]),
    tf.tensor1d([0.5, 1, 1.5, 0.8]),
  ]);
  const model = tf.model({ inputs: input, outputs: [logits, features] });
  return { arch: "tiny-bn", inputShape: [8, 8, 1], classes: 3, featureSize: 4, model };
}

function bnContext(name: string, seed: number) {
  return {
    ...tinyContext(name, seed),
    teacher: bnTeacher(),
    normalisation: { mean: [0.5], std: [0.25] },
  };
}

for (const name of METHODS) {
  Deno.test(`${name}: with a BatchNorm teacher the BN term is active, runs are seeded and leak nothing`, async () => {
    await initBackend("wasm");
    const run = async (seed: number) => {
      const m = getMethod(name).create(bnContext(name, seed));
      const r0 = await m.runEpoch(0);
      const n = tf.memory().numTensors;
      const r1 = await m.runEpoch(1);
      assert.equal(tf.memory().numTensors, n, "no tensors leak between epochs");
      m.dispose();
      return [r0, r1];
    };
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    assert.ok(a[0]!.losses.synthesisBn! > 0, "BN statistics loss is computed");
    assert.deepEqual(a, b, "same seed, same reports");
    assert.notDeepEqual(a[1]!.losses, c[1]!.losses, "another seed differs");
    // Teacher compute: per synthesis step B forward + B backward (x2 views for CMI), plus B
    // forward per student step.
    const views = name === "cmi" ? 2 : 1;
    assert.equal(a[1]!.counters.teacherBackwardImages, 2 * 3 * 16 * views);
    assert.equal(a[1]!.counters.teacherForwardImages, 2 * 3 * 16 * views + 6 * 16);
  });

  Deno.test(`${name}: a non-finite loss throws DivergenceError in the synthesis`, async () => {
    await initBackend("wasm");
    const context = tinyContext(name, 1);
    context.teacher.model.setWeights(
      context.teacher.model.getWeights().map((w) => tf.fill(w.shape, NaN)),
    );
    const method = getMethod(name).create(context);
    await assert.rejects(method.runEpoch(2), (error: unknown) => {
      assert.ok(error instanceof DivergenceError);
      assert.equal(error.epoch, 2);
      assert.equal(error.loss, "synthesis");
      return true;
    });
    method.dispose();
  });
}

Deno.test("inversion hyperparameters are checked: choices, ranges, CMI's bank multiple", () => {
  const create = (name: string, hyper: Record<string, number | string | boolean>) => () =>
    getMethod(name).create(tinyContext(name, 1, hyper));
  const names = (field: string) => (e: unknown) =>
    e instanceof UserError && e.message.includes(field);
  assert.throws(create("deepinversion", { tvNorm: "l3" }), names("tvNorm"));
  assert.throws(create("deepinversion", { synthesisSteps: 0 }), names("synthesisSteps"));
  assert.throws(create("cmi", { bankSize: 40 }), names("bankSize"));
  assert.throws(create("cmi", { studentAugment: "mixup" }), names("studentAugment"));
});

Deno.test("image pool: uint8 like the release's PNGs, shuffled passes with a remainder batch", () => {
  assert.deepEqual(Array.from(quantise(new Float32Array([-0.5, 0, 0.5, 1, 1.5]))), [
    0,
    0,
    127,
    255,
    255,
  ]);
  const pool = new ImagePool([1, 1, 1], 0);
  const rng = new Rng(1);
  pool.add(Uint8Array.of(0, 1, 2, 3, 4), rng);
  const pass = [...pool.nextBatch(2, rng), ...pool.nextBatch(2, rng)];
  const last = pool.nextBatch(2, rng);
  assert.equal(last.length, 1, "the last batch of a pass is the remainder");
  assert.deepEqual([...pass, ...last].sort(), [0, 1, 2, 3, 4], "a pass visits every image once");
  assert.equal(pool.nextBatch(2, rng).length, 2, "then a new pass starts");
  const capped = new ImagePool([1, 1, 1], 3);
  capped.add(Uint8Array.of(1, 2), rng);
  capped.add(Uint8Array.of(3, 4), rng);
  assert.deepEqual(
    Array.from([0, 1, 2].map((i) => capped.image(i)[0])),
    [2, 3, 4],
    "oldest dropped",
  );
  const saved = pool.save();
  const copy = new ImagePool([1, 1, 1], 0);
  copy.restore(saved.json, saved.tensors);
  assert.deepEqual(copy.save(), saved, "save/restore round-trips bit-exactly");
  const x = studentBatch(pool, Int32Array.of(4), false, { mean: [0], std: [1] }, rng);
  assert.deepEqual(Array.from(x.dataSync()), [Math.fround(4 / 255)]);
  x.dispose();
});

Deno.test("feature bank: ring writes, draws from written rows, none right after wrapping (release)", () => {
  const bank = new FeatureBank(4, 1);
  const rng = new Rng(2);
  assert.equal(bank.sample(3, rng).rows, 0);
  bank.add(Float32Array.of(1, 2), 2);
  assert.deepEqual(Array.from(bank.sample(5, rng).data).sort(), [1, 2]);
  bank.add(Float32Array.of(3, 4), 2);
  assert.equal(bank.sample(5, rng).rows, 0, "pointer back at 0 and not more than capacity written");
  bank.add(Float32Array.of(5, 6), 2);
  assert.deepEqual(Array.from(bank.sample(4, rng).data).sort(), [3, 4, 5, 6]);
  assert.equal(bank.bytes(), 4 * 4);
  assert.throws(() => bank.add(Float32Array.of(1, 2, 3), 3), /cannot take 3 rows/);
});

Deno.test("per-image crops: padding crop equals pad-and-slice; a full resized crop is the identity or a flip", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([3, 6, 6, 2], 0, 1, "float32", 5) as tf.Tensor4D;
  const r = cropAndFlip(3, 6, 6, 2, new Rng(3));
  const got = resample(x, r).arraySync();
  // The same draws, in cropAndFlip's order: row offset, column offset, flip.
  const draws = new Rng(3);
  const padded = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]]);
  for (let i = 0; i < 3; i++) {
    const oy = draws.int(5) - 2;
    const ox = draws.int(5) - 2;
    const flip = draws.next() < 0.5;
    let want = tf.slice(padded, [i, oy + 2, ox + 2, 0], [1, 6, 6, 2]);
    if (flip) want = tf.reverse(want, 2);
    assert.deepEqual(got[i], (want.arraySync() as number[][][][])[0]);
  }
  const full = resizedCropAndFlip(3, 6, 6, [1, 1], new Rng(4));
  const y = resample(x, full);
  for (let i = 0; i < 3; i++) {
    const xi = tf.slice(x, [i, 0, 0, 0], [1, 6, 6, 2]);
    const yi = tf.slice(y, [i, 0, 0, 0], [1, 6, 6, 2]);
    const same = tf.max(tf.abs(tf.sub(xi, yi))).dataSync()[0]!;
    const flipped = tf.max(tf.abs(tf.sub(tf.reverse(xi, 2), yi))).dataSync()[0]!;
    assert.ok(Math.min(same, flipped) < 1e-5, `image ${i}: ${same} / ${flipped}`);
  }
});
