/**
 * DAFL and DFAD specifics (the shared conformance tests in methods_test.ts and
 * stop_resume_test.ts cover them too): their step structure, the teacher
 * compute every method reports, determinism, divergence, settings errors.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { DivergenceError } from "../../src/methods/method.ts";
import { getMethod } from "../../src/methods/registry.ts";
import { UserError } from "../../src/util/errors.ts";
import { tinyContext } from "./helpers.ts";

// tinyContext: batch 16, 2 iterations of 3 student steps, 1 generator step per iteration.

Deno.test("teacher compute per epoch: images x passes of every method, counted by hand", async () => {
  await initBackend("wasm");
  // [method, hyper, forward, backward] for epoch 1 (after pre-dfkd's warm-up iteration).
  const cases: [string, Record<string, boolean>, number, number][] = [
    // Generator step 16 forward + 16 backward; student steps 3 x 16 forward; x 2 iterations.
    ["no-replay", {}, 2 * (16 + 48), 2 * 16],
    // memory-bank: epoch 0 stored B/8 = 2 images, replayed with every student step of epoch 1.
    ["memory-bank", {}, 2 * (16 + 3 * 18), 2 * 16],
    ["dfad", {}, 2 * (48 + 16), 2 * 16],
    // DAFL's first student step reuses the generator step's teacher pass.
    ["dafl", {}, 2 * (16 + 32), 2 * 16],
    ["dafl", { reuseGeneratorBatch: false }, 2 * (16 + 48), 2 * 16],
    // pre-dfkd per iteration: generator 16+16; 3 student steps each with a latent step on B/8 = 2
    // codes (2+2) and 16 + 2 images forward; 3 VAE steps each with a latent step (2+2), the
    // target of B/2 + 2 = 10 images (10) and the reconstruction's 10 forward + 10 backward.
    ["pre-dfkd", {}, 2 * (16 + 3 * (2 + 18) + 3 * (2 + 10 + 10)), 2 * (16 + 3 * 2 + 3 * (2 + 10))],
  ];
  for (const [name, hyper, forward, backward] of cases) {
    const m = getMethod(name).create(tinyContext(name, 1, hyper));
    await m.runEpoch(0);
    const r = await m.runEpoch(1);
    assert.equal(r.teacherForwardImages, forward, `${name} ${JSON.stringify(hyper)} forward`);
    assert.equal(r.teacherBackwardImages, backward, `${name} ${JSON.stringify(hyper)} backward`);
    m.dispose();
  }
});

Deno.test("dafl and dfad keep nothing of past data (0 replay bytes) and report their steps", async () => {
  await initBackend("wasm");
  for (const name of ["dafl", "dfad"]) {
    const m = getMethod(name).create(tinyContext(name, 2));
    const r = await m.runEpoch(0);
    assert.equal(r.replayBytes, 0);
    assert.equal(m.replayBytes(), 0);
    assert.equal(r.counters.generatorSteps, 2);
    assert.equal(r.counters.studentSteps, 6);
    assert.equal(r.counters.replayImages, undefined);
    if (name === "dafl") {
      assert.equal(r.counters.reusedImages, 2 * 16);
      for (const part of ["generatorOneHot", "generatorEntropy", "generatorActivation"]) {
        assert.ok(Number.isFinite(r.losses[part]), part);
      }
    } else {
      // DFAD's generator loss is -L1 of the discrepancy: never positive.
      assert.ok(r.losses.generator! <= 0);
    }
    m.dispose();
  }
});

Deno.test("dafl and dfad: the same seed gives the same losses, another seed does not", async () => {
  await initBackend("wasm");
  for (const name of ["dafl", "dfad"]) {
    const run = async (seed: number) => {
      const m = getMethod(name).create(tinyContext(name, seed));
      const r = await m.runEpoch(0);
      m.dispose();
      return r.losses;
    };
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    assert.deepEqual(a, b, name);
    assert.notDeepEqual(a, c, name);
  }
});

Deno.test("dafl and dfad: a NaN teacher throws DivergenceError naming the epoch and loss", async () => {
  await initBackend("wasm");
  for (const name of ["dafl", "dfad"]) {
    const context = tinyContext(name, 1);
    const nan = context.teacher.model.getWeights().map((w) => tf.fill(w.shape, NaN));
    context.teacher.model.setWeights(nan);
    tf.dispose(nan);
    const method = getMethod(name).create(context);
    const before = tf.memory().numTensors;
    await assert.rejects(method.runEpoch(2), (error: unknown) => {
      assert.ok(error instanceof DivergenceError, name);
      assert.equal(error.epoch, 2);
      // DAFL's generator step comes first; DFAD's student steps do.
      assert.equal(error.loss, name === "dafl" ? "generator" : "student");
      return true;
    });
    assert.equal(tf.memory().numTensors, before, `${name}: a diverged step leaks nothing`);
    method.dispose();
  }
});

Deno.test("dafl and dfad: bad settings are UserErrors naming the field", async () => {
  await initBackend("wasm");
  const bad: [string, Record<string, string | number | boolean>, RegExp][] = [
    ["dafl", { studentLrMilestones: "800,soon" }, /studentLrMilestones/],
    ["dafl", { kdTemperature: 0 }, /kdTemperature/],
    ["dafl", { generatorBeta1: 1 }, /generatorBeta1/],
    ["dfad", { studentLrSchedule: "linear" }, /studentLrSchedule/],
    ["dfad", { oneHotWeight: 1 }, /unknown hyperparameter "oneHotWeight"/],
  ];
  for (const [name, hyper, pattern] of bad) {
    assert.throws(
      () => getMethod(name).create(tinyContext(name, 1, hyper)),
      (e: unknown) => e instanceof UserError && pattern.test(e.message),
      `${name} ${JSON.stringify(hyper)}`,
    );
  }
});
