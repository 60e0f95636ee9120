/**
 * The no-replay baseline: PRE-DFKD's own adversarial loop with nothing
 * replayed (no VAE, no memory samples). It is not DFAD (an L1 adversary
 * without priors, on its own schedule) nor DAFL (no adversary): those are
 * their own plug-ins, and no published row stands beside this one.
 *
 * @module
 */
import {
  ADVERSARIAL_HYPERPARAMETERS,
  AdversarialLoop,
  generatorMemory,
  type Replay,
} from "./adversarial.ts";
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
  description: "PRE-DFKD's loop without replay: the student sees only the current generator's " +
    "samples (not DFAD or DAFL, which are their own methods).",
  hyperparameters: ADVERSARIAL_HYPERPARAMETERS,
  create(context) {
    const hyper = new HyperReader("no-replay", ADVERSARIAL_HYPERPARAMETERS, context.hyper);
    return new AdversarialLoop("no-replay", context, hyper, () => NO_REPLAY);
  },
  memory: generatorMemory("no-replay", ADVERSARIAL_HYPERPARAMETERS),
};
