/**
 * The one small interface every DFKD method implements. The runner drives a
 * method epoch by epoch and evaluates the student after each epoch; a method
 * knows nothing of evaluation, results or reports.
 *
 * @module
 */
import type { MemoryPart } from "./memory_estimate.ts";
import type { Classifier } from "../models/classifier.ts";
import type { Logger } from "../util/logger.ts";
import type { Rng } from "../util/rng.ts";
import type { TensorData } from "../util/tensor_data.ts";

/** A hyperparameter value as it appears in a benchmark file. */
export type HyperValue = number | string | boolean;

/** Resolved hyperparameters: the method's defaults overridden by the benchmark file. */
export type Hyperparameters = Record<string, HyperValue>;

/**
 * A default that follows another hyperparameter: unless set explicitly, the
 * value is `scale` times the resolved value of `name` (a number), e.g. the
 * VAE's learning rate `generatorLr / 40`. `default` then holds the value at
 * the other's default.
 */
export interface HyperLink {
  /** The hyperparameter followed (of the same plug-in). */
  name: string;
  /** Factor applied to its value. */
  scale: number;
}

/**
 * One hyperparameter as a method declares it. The default's type (number,
 * string or boolean) is the hyperparameter's type; the optional fields say
 * which values are valid, and are checked when a benchmark file is validated
 * and again when the method reads its settings.
 *
 * @example
 * ```ts
 * import type { HyperSpec } from "./method.ts";
 * const latentDim: HyperSpec = {
 *   default: 1000,
 *   description: "Latent size of the generator (release 1000).",
 *   min: 1,
 *   max: 65536,
 *   integer: true,
 * };
 * const optimiser: HyperSpec = { default: "sgd", description: "Student optimiser.", choices: ["sgd", "adam"] };
 * ```
 */
export interface HyperSpec {
  /** The default value. */
  default: HyperValue;
  /** What it does (and the release's value where that differs from the default). */
  description: string;
  /** Numbers: the smallest valid value (inclusive unless `exclusiveMin`). */
  min?: number;
  /** Numbers: `min` itself is not valid (the value must be greater). */
  exclusiveMin?: boolean;
  /** Numbers: the largest valid value (inclusive). */
  max?: number;
  /** Numbers: whole numbers only. */
  integer?: boolean;
  /** Strings: the valid values. */
  choices?: readonly string[];
  /** Set when the default follows another hyperparameter (see {@linkcode HyperLink}). */
  follows?: HyperLink;
}

/** The training budget shared by all methods of a comparison. */
export interface Budget {
  /** Epochs (the student is evaluated after each). */
  epochs: number;
  /** Iterations per epoch (release default 36). */
  iterationsPerEpoch: number;
  /** Batch size B of novel samples (release default 1024 for CIFAR). */
  batchSize: number;
  /** Student steps per iteration (release default 10). */
  studentStepsPerIteration: number;
}

/** Everything a method is set up from. */
export interface MethodContext {
  /** The trained teacher (frozen: always run in inference mode). */
  teacher: Classifier;
  /** The student to train; the runner evaluates it after each epoch. */
  student: Classifier;
  /** Image shape `[height, width, channels]` of the teacher's input. */
  imageShape: readonly [number, number, number];
  /** Number of classes. */
  classes: number;
  /**
   * The dataset's per-channel normalisation of pixels in [0, 1] (`(p - mean) / std`), which
   * the teacher's inputs carry: methods that synthesise pixels (image pools) need it.
   * Absent means the identity (mean 0, std 1).
   */
  normalisation?: { mean: readonly number[]; std: readonly number[] };
  /** The budget. */
  budget: Budget;
  /** Resolved hyperparameters (defaults merged with overrides). */
  hyper: Hyperparameters;
  /** The job's seeded generator: every random choice of the method comes from it. */
  rng: Rng;
  /** Where messages go. */
  log: Logger;
}

/** What one epoch reported. */
export interface EpochReport {
  /** Mean of each loss over the epoch's steps (e.g. `student`, `generator`, `vaeRec`). */
  losses: Record<string, number>;
  /** Replay memory in bytes at the end of the epoch. */
  replayBytes: number;
  /** Counters (e.g. `novelImages`, `replayImages`, `generatorSteps`). */
  counters: Record<string, number>;
  /**
   * Teacher compute of the epoch, forward: images x passes through the
   * teacher's forward pass (a batch of 64 forwarded twice counts 128).
   */
  teacherForwardImages: number;
  /**
   * Teacher compute of the epoch, backward: images x passes whose gradient
   * went back through the teacher (to a generator, to codes or images being
   * optimised); a forward pass under no gradient counts only as forward.
   */
  teacherBackwardImages: number;
  /**
   * Images the student trained on in the epoch (novel plus replayed, counted
   * once per student step that used them): the runner's throughput
   * (`imagesPerSecond`) is the sum over epochs per wall second.
   */
  studentImages: number;
  /**
   * Set when the epoch stopped early because {@linkcode EpochControl.shouldStop}
   * said so: the iterations done (fewer than the budget's). Losses and counters
   * then cover only those. {@linkcode MethodInstance.saveState} records the
   * position, and `runEpoch(epoch)` (on this instance, or on one restored from
   * that state) finishes the epoch; its report then covers the whole epoch,
   * exactly as if it had never stopped.
   */
  stoppedAfterIteration?: number;
}

/**
 * How the runner may cut an epoch short (the first Ctrl-C finishes the
 * current iteration, checkpoints and exits). A method that ignores it simply
 * finishes the epoch.
 */
export interface EpochControl {
  /**
   * Polled after each iteration (after yielding to the event loop, so signal
   * handlers have run); once it returns true the method returns a report with
   * {@linkcode EpochReport.stoppedAfterIteration} instead of starting the next
   * iteration.
   */
  shouldStop?: () => boolean;
}

/** Tensor data in a checkpoint (declared in `util/tensor_data.ts`; re-exported for plug-ins). */
export type { TensorData };

/**
 * A method's full state: JSON-safe values plus named tensors (weights,
 * optimiser slots, stored images). Restoring it continues the run exactly.
 */
export interface MethodState {
  /** JSON-safe state (counters, schedule position, generator state). */
  json: unknown;
  /** Named tensors. */
  tensors: Record<string, TensorData>;
}

/**
 * Thrown by {@linkcode MethodInstance.runEpoch} when a loss becomes NaN or
 * infinite. The runner records status `diverged` with `epoch` and `loss`, and
 * keeps every epoch reported before.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DivergenceError } from "./method.ts";
 * const error = new DivergenceError(3, "student", NaN);
 * assert.equal(error.message, 'Loss "student" became NaN in epoch 3');
 * ```
 */
export class DivergenceError extends Error {
  /** Epoch (from 0) in which the loss went non-finite. */
  readonly epoch: number;
  /** Name of the loss (as in {@linkcode EpochReport.losses}). */
  readonly loss: string;
  /** The non-finite value (NaN, Infinity or -Infinity). */
  readonly value: number;
  /** Creates the error. */
  constructor(epoch: number, loss: string, value: number) {
    super(`Loss "${loss}" became ${value} in epoch ${epoch}`);
    this.name = "DivergenceError";
    this.epoch = epoch;
    this.loss = loss;
    this.value = value;
  }
}

/** Reports of one epoch's progress (steps done of the epoch's total). */
export type StepProgress = (done: number, total: number) => void;

/** A running method for one job. */
export interface MethodInstance {
  /**
   * Trains for one epoch (`epoch` counts from 0) and reports. A NaN or
   * infinite loss throws {@linkcode DivergenceError}: the runner records the
   * job as `diverged` at that epoch and keeps the epochs reported before it.
   * `control` may stop the epoch early (see {@linkcode EpochControl}).
   */
  runEpoch(epoch: number, onStep?: StepProgress, control?: EpochControl): Promise<EpochReport>;
  /** Replay memory in bytes right now. */
  replayBytes(): number;
  /**
   * Everything needed to continue later (including the student's weights and
   * optimiser, every random generator's state, and the position inside an
   * epoch that stopped early). Saving changes nothing: a run that saves
   * continues exactly like one that does not. Asynchronous because optimiser
   * slots are read asynchronously.
   */
  saveState(): Promise<MethodState>;
  /**
   * Restores {@linkcode saveState}'s output into a freshly created instance
   * (created from the same context), which then continues identically.
   */
  restoreState(state: MethodState): Promise<void>;
  /** Frees the method's tensors (not the teacher's or student's). */
  dispose(): void;
}

/**
 * A method plug-in in the registry.
 *
 * @example
 * ```ts
 * import type { MethodPlugin } from "./method.ts";
 * declare const plugin: MethodPlugin;
 * // const instance = plugin.create(context);
 * // const report = await instance.runEpoch(0);
 * ```
 */
export interface MethodPlugin {
  /** Registry name (`pre-dfkd`, `no-replay`, `memory-bank`). */
  name: string;
  /** One line describing it. */
  description: string;
  /**
   * Every hyperparameter: default, description and the values it may take
   * (see {@linkcode HyperSpec}). This one declaration is what the reader
   * (`HyperReader`), the benchmark-file validation, its JSON Schema and the
   * generated method docs use.
   */
  hyperparameters: Readonly<Record<string, HyperSpec>>;
  /** Creates an instance; invalid hyperparameters throw a `UserError` naming the field. */
  create(context: MethodContext): MethodInstance;
  /**
   * The networks and buffers the method adds to the teacher and the student,
   * sized from the settings alone (nothing allocated), for the memory estimate
   * that `validate` and a run's preflight make before {@linkcode create}
   * (`memory_estimate.ts`). Optional: without it only the classifiers count.
   */
  memory?(settings: MemorySettings): MemoryPart[];
}

/** What a method's memory estimate is computed from. */
export type MemorySettings = Pick<MethodContext, "imageShape" | "classes" | "budget" | "hyper">;
