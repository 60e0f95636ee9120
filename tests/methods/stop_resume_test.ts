/**
 * Stopping an epoch early (the runner's first Ctrl-C) and finishing it later,
 * on the same instance or on one restored from a checkpoint, gives exactly the
 * reports and weights of an epoch that never stopped.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import type { EpochReport } from "../../src/methods/method.ts";
import { getMethod, METHODS } from "../../src/methods/registry.ts";
import { tinyClassifier, tinyContext } from "./helpers.ts";
import { Rng } from "../../src/util/rng.ts";

// tinyContext: 2 iterations of 3 student steps per epoch.
for (const name of Object.keys(METHODS)) {
  Deno.test(`${name}: an epoch stopped after an iteration and restored elsewhere ends identically`, async () => {
    await initBackend("wasm");
    const hyper = name === "memory-bank" ? { bankPushPeriod: 1 } : {};
    // Students with dropout: its generator's position is part of the state.
    const student = (seed: number, dropoutSeed: number) =>
      tinyClassifier([8, 8, 1], 3, seed, 2, 8, new Rng(dropoutSeed));
    const a = getMethod(name).create(tinyContext(name, 7, hyper, student(2, 5)));
    const b = getMethod(name).create(tinyContext(name, 7, hyper, student(2, 5)));
    await a.runEpoch(0);
    await b.runEpoch(0);
    const full: EpochReport = await a.runEpoch(1);
    let polls = 0;
    const part = await b.runEpoch(1, undefined, { shouldStop: () => ++polls >= 1 });
    assert.equal(part.stoppedAfterIteration, 1);
    assert.equal(part.counters.studentSteps, 3, "one iteration of 3 student steps");
    const state = await b.saveState();
    // Finishing on a fresh instance (another student init and dropout position) restored from
    // the state.
    const c = getMethod(name).create(tinyContext(name, 7, hyper, student(42, 6)));
    await c.restoreState(state);
    const rest = await c.runEpoch(1);
    assert.equal(rest.stoppedAfterIteration, undefined);
    assert.deepStrictEqual(rest.losses, full.losses);
    assert.deepStrictEqual(rest.counters, full.counters);
    assert.equal(rest.replayBytes, full.replayBytes);
    // The same instance also finishes the epoch it stopped.
    const restB = await b.runEpoch(1);
    assert.deepStrictEqual(restB.losses, full.losses);
    // And the next epoch continues identically (weights, optimisers, Rng all equal).
    const [na, nc] = [await a.runEpoch(2), await c.runEpoch(2)];
    assert.deepStrictEqual(nc.losses, na.losses);
    const wa = (await a.saveState()).tensors;
    const wc = (await c.saveState()).tensors;
    assert.deepStrictEqual(Object.keys(wc).sort(), Object.keys(wa).sort());
    for (const k of Object.keys(wa)) assert.deepStrictEqual(wc[k]!.data, wa[k]!.data, k);
    for (const m of [a, b, c]) m.dispose();
  });
}

Deno.test("a stopped epoch must be finished before another starts; saving changes nothing", async () => {
  await initBackend("wasm");
  const m = getMethod("pre-dfkd").create(tinyContext("pre-dfkd", 3));
  const ref = getMethod("pre-dfkd").create(tinyContext("pre-dfkd", 3));
  await m.runEpoch(0, undefined, { shouldStop: () => true });
  await assert.rejects(m.runEpoch(1), /Epoch 1 stopped after iteration 1/);
  const before = tf.memory().numTensors;
  await m.saveState();
  assert.equal(tf.memory().numTensors, before, "saving leaks no tensors");
  const r = await m.runEpoch(0);
  const r0 = await ref.runEpoch(0);
  assert.deepStrictEqual(r.losses, r0.losses);
  m.dispose();
  ref.dispose();
});
