import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { DivergenceError, type EpochReport } from "../../src/methods/method.ts";
import { getMethod, METHODS } from "../../src/methods/registry.ts";
import { UserError } from "../../src/util/errors.ts";
import { tinyClassifier, tinyContext } from "./helpers.ts";

// The model-inversion methods (a synthesis round per iteration, an image pool).
const INVERSION = new Set(["deepinversion", "cmi"]);

// Tiny configuration (tests/methods/helpers.ts): 8x8x1 images, 3 classes, batch 16, 2 iterations
// of 3 student steps per epoch, latent 8, generator width 1/16.

for (const name of Object.keys(METHODS)) {
  Deno.test(`${name}: two epochs run, report finite losses, and hold tensors steady`, async () => {
    await initBackend("wasm");
    const method = getMethod(name).create(tinyContext(name, 1));
    const r0 = await method.runEpoch(0);
    const after0 = tf.memory().numTensors;
    const r1 = await method.runEpoch(1);
    assert.equal(tf.memory().numTensors, after0, "no tensors leak between epochs");
    for (const report of [r0, r1]) {
      assert.ok(Object.values(report.losses).every(Number.isFinite));
      assert.equal(report.counters.studentSteps, 6);
      if (INVERSION.has(name)) {
        // One synthesis round per iteration (3 steps), then the student steps on the pool.
        assert.ok(report.losses.student !== undefined && report.losses.synthesis !== undefined);
        assert.equal(report.counters.synthesisRounds, 2);
        assert.equal(report.counters.synthesisSteps, 2 * 3);
        assert.equal(report.counters.poolImages, 6 * 16);
        continue;
      }
      assert.ok(report.losses.student !== undefined && report.losses.generator !== undefined);
      assert.equal(report.counters.generatorSteps, 2);
      assert.equal(report.counters.novelImages, 6 * 16);
    }
    assert.equal(r1.replayBytes, method.replayBytes());
    if (INVERSION.has(name)) {
      // The pool keeps every round's 16 uint8 8x8 images (2 rounds after epoch 0, 4 after
      // epoch 1); CMI's bank adds 16 float32 rows of 2 x 16 features (the tiny teacher has no
      // BatchNorm: its penultimate features) per round, up to its 64 rows.
      const bank = (rounds: number) => (name === "cmi" ? Math.min(64, 16 * rounds) * 32 * 4 : 0);
      assert.equal(r0.replayBytes, 2 * 16 * 64 + bank(2));
      assert.equal(r1.replayBytes, 4 * 16 * 64 + bank(4));
    }
    if (name === "no-replay") assert.equal(r1.replayBytes, 0);
    if (name === "pre-dfkd") {
      // Every student step adds B/8 = 2 memory samples; VAE steps after the first 3 student
      // steps of each iteration; the warm-up (iteration 0 of epoch 0) uses no memory samples.
      assert.equal(r1.counters.replayImages, 6 * 2);
      assert.equal(r1.counters.vaeSteps, 6);
      assert.equal(r0.counters.replayImagesVae, 3 * 2);
      assert.equal(r1.counters.replayImagesVae, 6 * 2);
      assert.ok(r1.losses.vae !== undefined && r1.losses.latent !== undefined);
    }
    if (name === "memory-bank") {
      // Epoch 0 pushes (0 % 5 == 0) one batch of B/8 = 2 images; epoch 1 replays it.
      assert.equal(r0.replayBytes, 2 * 8 * 8 * 1 * 4);
      assert.equal(r0.counters.replayImages, undefined);
      assert.equal(r1.counters.replayImages, 6 * 2);
    }
    method.dispose();
  });

  Deno.test(`${name}: a restored checkpoint continues identically`, async () => {
    await initBackend("wasm");
    const hyper = name === "memory-bank" ? { bankPushPeriod: 1 } : {};
    const a = getMethod(name).create(tinyContext(name, 5, hyper));
    await a.runEpoch(0);
    const state = await a.saveState();
    // A fresh instance (its student initialised differently) restored from the checkpoint.
    const bContext = tinyContext(name, 5, hyper, tinyClassifier([8, 8, 1], 3, 99, 2, 8));
    const b = getMethod(name).create(bContext);
    await b.restoreState(state);
    const ra: EpochReport = await a.runEpoch(1);
    const rb: EpochReport = await b.runEpoch(1);
    assert.deepEqual(rb.losses, ra.losses);
    assert.deepEqual(rb.counters, ra.counters);
    assert.equal(rb.replayBytes, ra.replayBytes);
    a.dispose();
    b.dispose();
  });
}

Deno.test("the same seed gives the same losses; another seed does not", async () => {
  await initBackend("wasm");
  const run = async (seed: number) => {
    const m = getMethod("pre-dfkd").create(tinyContext("pre-dfkd", seed));
    const r = await m.runEpoch(0);
    m.dispose();
    return r.losses;
  };
  const [a, b, c] = [await run(3), await run(3), await run(4)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("memory-bank holds capacity x image bytes once full (float32 pixels)", async () => {
  await initBackend("wasm");
  const method = getMethod("memory-bank").create(
    tinyContext("memory-bank", 2, { bankCapacity: 2, bankPushPeriod: 1 }),
  );
  const bytes: number[] = [];
  for (let e = 0; e < 4; e++) bytes.push((await method.runEpoch(e)).replayBytes);
  const batchBytes = 2 * 8 * 8 * 1 * 4; // B/8 = 2 images of 8x8x1 float32
  assert.deepEqual(bytes, [batchBytes, 2 * batchBytes, 2 * batchBytes, 2 * batchBytes]);
  method.dispose();
});

Deno.test("pre-dfkd's replay memory is its VAE's parameters in float32", async () => {
  await initBackend("wasm");
  const method = getMethod("pre-dfkd").create(tinyContext("pre-dfkd", 2));
  // Encoder (width 1/16 of 64/128 -> 4, 8 channels; heads 8*1*1 -> 8) and decoder (generator at
  // width 1/16 -> 8, 4 channels, latent 8) parameters, counted by hand:
  const encoder = (9 * 1 * 4 + 4) + 8 + (9 * 4 * 8 + 8) + 16 + (9 * 8 * 8 + 8) + 16 +
    2 * (8 * 8 + 8);
  const decoder = (8 * 8 * 4 + 8 * 4) + 16 + (9 * 8 * 8 + 8) + 16 + (9 * 8 * 4 + 4) + 8 +
    (9 * 4 * 1 + 1);
  assert.equal(method.replayBytes(), (encoder + decoder) * 4);
  method.dispose();
});

Deno.test("a non-finite loss throws DivergenceError naming the epoch and the loss", async () => {
  await initBackend("wasm");
  const context = tinyContext("no-replay", 1);
  const nan = context.teacher.model.getWeights().map((w) => tf.fill(w.shape, NaN));
  context.teacher.model.setWeights(nan);
  const method = getMethod("no-replay").create(context);
  await assert.rejects(method.runEpoch(3), (error: unknown) => {
    assert.ok(error instanceof DivergenceError);
    assert.equal(error.epoch, 3);
    assert.equal(error.loss, "generator");
    return true;
  });
  method.dispose();
});

Deno.test("bad hyperparameters and unknown methods are UserErrors naming the field", async () => {
  await initBackend("wasm");
  const create = (name: string, hyper: Record<string, number | string | boolean>) => () =>
    getMethod(name).create(tinyContext(name, 1, hyper));
  assert.throws(
    create("pre-dfkd", { vaeLearningRate: 1 }),
    (e: unknown) =>
      e instanceof UserError && /vaeLearningRate/.test(e.message) && /vaeLr/.test(e.message),
  );
  assert.throws(
    create("no-replay", { studentLr: "fast" }),
    (e: unknown) => e instanceof UserError && /studentLr/.test(e.message),
  );
  assert.throws(
    create("no-replay", { studentOptimizer: "rmsprop" }),
    (e: unknown) => e instanceof UserError && /studentOptimizer/.test(e.message),
  );
  assert.throws(
    create("pre-dfkd", { memoryBatchDivisor: 16 }),
    (e: unknown) => e instanceof UserError && /memoryBatchDivisor/.test(e.message),
  );
  assert.throws(
    create("memory-bank", { bankCapacity: 0 }),
    (e: unknown) => e instanceof UserError && /bankCapacity/.test(e.message),
  );
  assert.throws(
    () => getMethod("dafl"),
    (e: unknown) => e instanceof UserError && /pre-dfkd, no-replay, memory-bank/.test(e.message),
  );
});
