/**
 * The no-replay baseline: the adversarial loop with nothing replayed (the
 * DFAD/DAFL-style adversarial DFKD baseline of the specification).
 *
 * @module
 */
import { ADVERSARIAL_HYPERPARAMETERS, AdversarialLoop, type Replay } from "./adversarial.ts";
import { HyperReader } from "./hyper.ts";
import type { MethodPlugin } from "./method.ts";

/** A replay that replays nothing and stores nothing (0 bytes). */
export const NO_REPLAY: Replay = {
  sample: () => null,
  afterStudentStep: () => {},
  replayBytes: () => 0,
  save: () => Promise.resolve({ json: null, tensors: {} }),
  restore: () => Promise.resolve(),
  dispose: () => {},
};

/**
 * The `no-replay` method: generator steps and student steps on novel
 * samples only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noReplay } from "./no_replay.ts";
 * assert.equal(noReplay.name, "no-replay");
 * assert.ok(Object.keys(noReplay.hyperparameters).length > 0);
 * ```
 */
export const noReplay: MethodPlugin = {
  name: "no-replay",
  description: "Adversarial DFKD without replay: the student sees only the current generator's " +
    "samples (DFAD/DAFL-style baseline).",
  hyperparameters: ADVERSARIAL_HYPERPARAMETERS,
  create(context) {
    const hyper = new HyperReader("no-replay", ADVERSARIAL_HYPERPARAMETERS, context.hyper);
    return new AdversarialLoop("no-replay", context, hyper, () => NO_REPLAY);
  },
};
