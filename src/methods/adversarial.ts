/**
 * The adversarial data-free distillation loop the three methods share (the
 * PRE-DFKD release's `main.py` and `distillation.py`): per iteration,
 * generator steps, then student steps on fresh novel samples plus whatever a
 * {@linkcode Replay} strategy contributes. The methods differ only in their
 * replay (none, a memory bank, or PRE-DFKD's VAE).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Classifier, forward } from "../models/classifier.ts";
import { learningRateAt, type LrSchedule } from "../util/lr_schedule.ts";
import { Optimizer } from "../util/optim.ts";
import { Rng, type RngState } from "../util/rng.ts";
import { UserError } from "../util/errors.ts";
import { Generator } from "./blocks/generator.ts";
import { generatorLoss, l1LogitLoss } from "./blocks/losses.ts";
import { fromTensorData, tensorData } from "./blocks/params.ts";
import { HyperReader, type HyperTable, type HyperValues } from "./hyper.ts";
import { generatorPart, type MemoryPart } from "./memory_estimate.ts";
import {
  DivergenceError,
  type EpochControl,
  type EpochReport,
  type MemorySettings,
  type MethodContext,
  type MethodInstance,
  type MethodState,
  type StepProgress,
  type TensorData,
} from "./method.ts";

/**
 * Hyperparameters every adversarial method shares, with the release's
 * defaults (`main.py` arguments and `distillation.py` constants).
 */
export const ADVERSARIAL_HYPERPARAMETERS = {
  latentDim: {
    default: 1000,
    description: "Latent size L of the generators (release 1000).",
    min: 1,
    max: 65536,
    integer: true,
  },
  generatorWidth: {
    default: 1,
    description: "Generator channel multiplier: conv widths round(128w) and round(64w) " +
      "(release 1; CPU budgets use less).",
    min: 0,
    exclusiveMin: true,
    max: 64,
  },
  generatorLr: {
    default: 0.02,
    description: "Adam learning rate of the novel generator (lr_G).",
    min: 0,
  },
  generatorSteps: {
    default: 1,
    description: "Generator steps at the start of each iteration (gen_iter).",
    min: 0,
    integer: true,
  },
  oneHotWeight: {
    default: 1,
    description: "Weight of the one-hot loss in the generator loss (oh).",
  },
  entropyWeight: {
    default: 5,
    description: "Weight of the information-entropy loss in the generator loss (ie).",
  },
  activationWeight: {
    default: 0.1,
    description: "Weight of the activation loss in the generator loss (a).",
  },
  adversarialWeight: {
    default: 1,
    description: "Weight of the adversarial (JS) loss in the generator loss.",
  },
  adversarialTemperature: {
    default: 3,
    description: "Softmax temperature of the adversarial JS loss (release 3).",
    min: 0,
    exclusiveMin: true,
  },
  studentInTrainingModeForGenerator: {
    default: true,
    description: "Run the student in training mode (batch statistics) inside the generator " +
      "step, as the release does (it never switches the student to eval there).",
  },
  studentOptimizer: {
    default: "sgd",
    description: "Student optimiser: sgd (release for CIFAR/Tiny-ImageNet) or adam (release " +
      "for MNIST, with lr 0.1 and no weight decay).",
    choices: ["sgd", "adam"],
  },
  studentLr: { default: 0.1, description: "Student base learning rate (lr_S).", min: 0 },
  studentMomentum: { default: 0.9, description: "Student SGD momentum.", min: 0, max: 1 },
  studentWeightDecay: {
    default: 5e-4,
    description: "Student weight decay (coupled, as torch.optim; release 0 with Adam).",
    min: 0,
  },
  studentLrSchedule: {
    default: "cosine",
    description: "Student learning-rate schedule, stepped once per epoch: cosine " +
      "(CosineAnnealingLR) or constant.",
    choices: ["cosine", "constant"],
  },
  studentLrTMax: {
    default: 400,
    description: "Cosine schedule period T_max in epochs (release 400, fixed whatever the " +
      "epoch count).",
    min: 0,
    exclusiveMin: true,
  },
} as const satisfies HyperTable;

/**
 * The loop's settings: the shared hyperparameters as declared, with the
 * learning-rate schedule as one value.
 */
export type AdversarialSettings =
  & Omit<HyperValues<typeof ADVERSARIAL_HYPERPARAMETERS>, "studentLrSchedule" | "studentLrTMax">
  & { studentLrSchedule: LrSchedule };

/** Reads {@linkcode ADVERSARIAL_HYPERPARAMETERS} (throws a `UserError` naming a bad one). */
export function readAdversarialSettings(h: HyperReader): AdversarialSettings {
  const { studentLrSchedule, studentLrTMax, ...rest } = h.values(ADVERSARIAL_HYPERPARAMETERS);
  return {
    ...rest,
    studentLrSchedule: studentLrSchedule === "cosine"
      ? { type: "cosine", tMax: studentLrTMax }
      : { type: "constant" },
  };
}

/** The fields that size a generator, as the memory estimate names them. */
export const GENERATOR_FIELDS = ["generatorWidth", "latentDim", "budget.batchSize"] as const;

/**
 * The `memory` declaration (`MethodPlugin.memory`) of a method that trains
 * one generator: its size from `latentDim` and `generatorWidth` in `table`.
 */
export function generatorMemory(
  name: string,
  table: HyperTable,
): (settings: MemorySettings) => MemoryPart[] {
  return (s) => {
    const v = new HyperReader(name, table, s.hyper).values();
    const latentDim = Number(v["latentDim"]);
    const generatorWidth = Number(v["generatorWidth"]);
    const { imageShape, budget } = s;
    return [
      generatorPart(latentDim, imageShape, generatorWidth, budget.batchSize, GENERATOR_FIELDS),
    ];
  };
}

/** Where the loop stands when it calls a {@linkcode Replay} hook. */
export interface StepInfo {
  /** Epoch, from 0. */
  epoch: number;
  /** Iteration within the epoch, from 0. */
  iteration: number;
  /** Iteration counted over the whole run (epoch * iterationsPerEpoch + iteration). */
  globalIteration: number;
  /** Student step within the iteration, from 0. */
  studentStep: number;
  /** True for the epoch's last student step. */
  lastOfEpoch: boolean;
}

/** The JSON state of an {@linkcode EpochMeter} (sums in insertion order, counters). */
export interface EpochMeterState {
  /** `[loss name, sum, count]` in the order the losses were first recorded. */
  sums: [string, number, number][];
  /** Counters. */
  counters: Record<string, number>;
  /** Teacher images forward and backward so far (absent in checkpoints before they were counted). */
  teacher?: [number, number];
}

/** Mean losses, counters and teacher compute of one epoch, filled by the loop and its replay. */
export class EpochMeter {
  readonly #epoch: number;
  readonly #sums = new Map<string, { sum: number; n: number }>();
  /** Counters of the epoch. */
  readonly counters: Record<string, number> = {};
  /** Images through the teacher's forward pass this epoch. */
  teacherForwardImages = 0;
  /** Images whose gradient went back through the teacher this epoch. */
  teacherBackwardImages = 0;

  /** Starts the meter of `epoch` (empty, or continuing a saved {@linkcode EpochMeter.state}). */
  constructor(epoch: number, state?: EpochMeterState) {
    this.#epoch = epoch;
    for (const [name, sum, n] of state?.sums ?? []) this.#sums.set(name, { sum, n });
    Object.assign(this.counters, state?.counters ?? {});
    [this.teacherForwardImages, this.teacherBackwardImages] = state?.teacher ?? [0, 0];
  }

  /** The meter's state (JSON numbers are float64, so the sums round-trip exactly). */
  state(): EpochMeterState {
    return {
      sums: [...this.#sums].map(([name, s]) => [name, s.sum, s.n]),
      counters: { ...this.counters },
      teacher: [this.teacherForwardImages, this.teacherBackwardImages],
    };
  }

  /**
   * Counts one teacher pass over `images` images: forward, and backward too
   * when its gradient is propagated (`backward` true).
   */
  teacherPass(images: number, backward: boolean): void {
    this.teacherForwardImages += images;
    if (backward) this.teacherBackwardImages += images;
  }

  /**
   * The epoch's report so far (`stoppedAfterIteration` set when it stopped
   * early); the student images are the `novelImages` and `replayImages` counters.
   */
  report(replayBytes: number, stoppedAfterIteration?: number): EpochReport {
    return {
      losses: this.means(),
      replayBytes,
      counters: { ...this.counters },
      studentImages: (this.counters.novelImages ?? 0) + (this.counters.replayImages ?? 0),
      teacherForwardImages: this.teacherForwardImages,
      teacherBackwardImages: this.teacherBackwardImages,
      ...(stoppedAfterIteration !== undefined ? { stoppedAfterIteration } : {}),
    };
  }

  /** Records one value of loss `name`; a NaN or infinite value throws {@linkcode DivergenceError}. */
  loss(name: string, value: number): void {
    if (!Number.isFinite(value)) throw new DivergenceError(this.#epoch, name, value);
    const s = this.#sums.get(name) ?? { sum: 0, n: 0 };
    s.sum += value;
    s.n += 1;
    this.#sums.set(name, s);
  }

  /** Adds `by` to counter `name`. */
  count(name: string, by = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + by;
  }

  /** Mean of every loss recorded. */
  means(): Record<string, number> {
    return Object.fromEntries([...this.#sums].map(([k, s]) => [k, s.sum / s.n]));
  }
}

/**
 * What a method adds to the shared loop: replay samples for the student and
 * its own updates after each student step. Every random draw uses the loop's
 * {@linkcode Rng}.
 */
export interface Replay {
  /**
   * Replay images to append to the student's batch at this step, or null
   * (may be a promise: reads of tensor values must be `await data()`, which
   * every backend supports, webgpu included).
   */
  sample(step: StepInfo, meter: EpochMeter): tf.Tensor4D | null | Promise<tf.Tensor4D | null>;
  /** Called after each student update with that step's novel batch (not to be disposed). */
  afterStudentStep(novel: tf.Tensor4D, step: StepInfo, meter: EpochMeter): void | Promise<void>;
  /** Replay memory in bytes. */
  replayBytes(): number;
  /** The replay's state (JSON part and tensors, names without prefix). */
  save(): Promise<{ json: unknown; tensors: Record<string, TensorData> }>;
  /** Restores {@linkcode Replay.save}'s output. */
  restore(json: unknown, tensors: Record<string, TensorData>): Promise<void>;
  /** Frees the replay's tensors. */
  dispose(): void;
}

/**
 * What a replay sees of its loop. Read `rng` at every use (never keep it):
 * restoring a checkpoint replaces the loop's generator of random numbers.
 */
export interface LoopHandle {
  /** The method's random stream. */
  readonly rng: Rng;
  /** The loop's settings. */
  readonly settings: AdversarialSettings;
}

/** Builds a method's replay from the context (after the loop has set up its generator). */
export type ReplayFactory = (
  context: MethodContext,
  hyper: HyperReader,
  loop: LoopHandle,
) => Replay;

/**
 * Saves an optimiser's slots under `prefix<i>` in order, returning their
 * names (the order is what TensorFlow.js's optimisers match slots by).
 */
async function saveOptimizer(
  opt: Optimizer,
  prefix: string,
  out: Record<string, TensorData>,
): Promise<string[]> {
  const slots = await opt.saveState();
  const names = Object.keys(slots);
  names.forEach((name, i) => {
    out[`${prefix}${i}`] = slots[name] as TensorData;
  });
  return names;
}

async function restoreOptimizer(
  opt: Optimizer,
  prefix: string,
  names: string[],
  tensors: Record<string, TensorData>,
): Promise<void> {
  const slots: Record<string, TensorData> = {};
  names.forEach((name, i) => {
    const t = tensors[`${prefix}${i}`];
    if (t === undefined) throw new Error(`Checkpoint lacks tensor "${prefix}${i}"`);
    slots[name] = t;
  });
  await opt.restoreState(slots);
}

/** Helpers for a replay's checkpoint: optimiser slots in a fixed order. */
export const optimizerState = { save: saveOptimizer, restore: restoreOptimizer };

/** The trainable tf.Variables of a layers model (in its weight order). */
export function modelVariables(classifier: Classifier): tf.Variable[] {
  return classifier.model.trainableWeights.map((w) =>
    (w as unknown as { read(): tf.Variable }).read()
  );
}

/**
 * Draws `[n, latentDim]` standard normal codes seeded from `rng`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../util/rng.ts";
 * import { randomCodes } from "./adversarial.ts";
 * assert.deepEqual(randomCodes(new Rng(1), 4, 8).shape, [4, 8]);
 * ```
 */
export function randomCodes(rng: Rng, n: number, latentDim: number): tf.Tensor2D {
  return tf.randomNormal([n, latentDim], 0, 1, "float32", rng.seed()) as tf.Tensor2D;
}

/** Where an epoch stopped early: its next iteration and its meter so far. */
export interface PartialEpoch {
  epoch: number;
  nextIteration: number;
  meter: EpochMeterState;
}

/** Saves a classifier's weights under `student/<i>`. */
export async function saveStudentWeights(
  student: Classifier,
  out: Record<string, TensorData>,
): Promise<void> {
  const weights = student.model.getWeights();
  for (let i = 0; i < weights.length; i++) out[`student/${i}`] = await tensorData(weights[i]!);
}

/** Restores {@linkcode saveStudentWeights}'s output (shapes checked). */
export function restoreStudentWeights(
  student: Classifier,
  tensors: Record<string, TensorData>,
): void {
  const values = student.model.getWeights().map((w, i) => {
    const d = tensors[`student/${i}`];
    if (d === undefined) throw new Error(`Checkpoint lacks tensor "student/${i}"`);
    if (d.shape.join() !== w.shape.join()) {
      throw new Error(`Checkpoint tensor "student/${i}" has shape [${d.shape}], not [${w.shape}]`);
    }
    return fromTensorData(d);
  });
  student.model.setWeights(values);
  tf.dispose(values);
}

/**
 * The student's random sources (its dropout streams) as checkpoint data:
 * `{ studentRandom }`, or nothing when it has none.
 */
export function studentRandomJson(student: Classifier): { studentRandom?: RngState[] } {
  const sources = student.randomSources;
  return sources === undefined ? {} : { studentRandom: sources.map((r) => r.state()) };
}

/**
 * Restores {@linkcode studentRandomJson}'s `studentRandom` into `student`; a
 * checkpoint with another number of sources is an error.
 */
export function restoreStudentRandom(student: Classifier, saved: RngState[] | undefined): void {
  const sources = student.randomSources ?? [];
  const states = saved ?? [];
  if (states.length !== sources.length) {
    throw new Error(
      `Checkpoint holds ${states.length} student random source(s), the student has ${sources.length}`,
    );
  }
  sources.forEach((r, i) => r.restore(states[i]!));
}

/**
 * Runs an epoch's iterations `start .. total - 1` with `iteration(i)`; after
 * each one counts it on `meter`, reports progress, lets timers and signal
 * handlers run, and stops when `control.shouldStop()` says so (never after
 * the last). Returns the number of iterations done when it stopped early,
 * else undefined. The stop-and-resume loop every method's `runEpoch` shares.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EpochMeter, runIterations } from "./adversarial.ts";
 * const done: number[] = [];
 * const stop = { shouldStop: () => done.length === 2 };
 * const stopped = await runIterations(new EpochMeter(0), 0, 4, async (i) => {
 *   done.push(i);
 * }, undefined, stop);
 * assert.equal(stopped, 2);
 * assert.deepEqual(done, [0, 1]);
 * ```
 */
export async function runIterations(
  meter: EpochMeter,
  start: number,
  total: number,
  iteration: (i: number) => Promise<void>,
  onStep?: StepProgress,
  control?: EpochControl,
): Promise<number | undefined> {
  for (let i = start; i < total; i++) {
    await iteration(i);
    meter.count("iterations");
    onStep?.(i + 1, total);
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (i + 1 < total && control?.shouldStop?.() === true) return i + 1;
  }
  return undefined;
}

/**
 * The meter for `epoch`: continuing `partial`'s when an earlier call stopped
 * that epoch early, else a fresh one. A stopped epoch must be finished first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resumeEpochMeter } from "./adversarial.ts";
 * assert.ok(resumeEpochMeter(undefined, 0));
 * ```
 */
export function resumeEpochMeter(partial: PartialEpoch | undefined, epoch: number): EpochMeter {
  if (partial !== undefined && partial.epoch !== epoch) {
    throw new Error(
      `Epoch ${partial.epoch + 1} stopped after iteration ${partial.nextIteration} and must ` +
        `be finished before epoch ${epoch + 1} starts`,
    );
  }
  return new EpochMeter(epoch, partial?.meter);
}

/**
 * Checks what a generator-based method needs of its context: whole positive
 * budget fields, image sides divisible by 4, teacher and student with the
 * dataset's class count. Throws a `UserError` naming method `name`.
 */
export function checkGeneratorContext(name: string, context: MethodContext): void {
  const { budget, imageShape, teacher, student } = context;
  for (const [field, value] of Object.entries(budget)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new UserError(`Method "${name}": budget.${field} must be a positive whole number`);
    }
  }
  const [h, w] = imageShape;
  if (h % 4 !== 0 || w % 4 !== 0) {
    throw new UserError(
      `Method "${name}": the generator needs image height and width divisible by 4 ` +
        `(got ${h}x${w})`,
    );
  }
  if (teacher.classes !== context.classes || student.classes !== context.classes) {
    throw new UserError(
      `Method "${name}": teacher (${teacher.classes}) and student (${student.classes}) ` +
        `must both have ${context.classes} classes`,
    );
  }
}

interface LoopJson {
  rng: RngState;
  epochsDone: number;
  generatorOptimizer: string[];
  studentOptimizer: string[];
  replay: unknown;
  partial?: PartialEpoch;
  /** Positions of the student's random sources (dropout), in order. */
  studentRandom?: RngState[];
}

/**
 * One job's adversarial DFKD loop (a {@linkcode MethodInstance}).
 *
 * Per iteration: `generatorSteps` generator steps (fresh codes; loss
 * `oh*oneHot + ie*entropy + a*activation + adv*adversarialJs` on the
 * teacher's and student's outputs, the adversarial term with the teacher's
 * logits detached as in the release; only the generator is updated), then
 * `studentStepsPerIteration` student steps, each on a fresh novel batch
 * `G(z)` (training mode, no gradient) plus the replay's samples, with the L1
 * logit loss against the teacher (inference mode). The student's learning
 * rate follows its schedule, set at the start of each epoch. Unlike the
 * release, the student loss is not back-propagated into the generator: the
 * release does it but clears those gradients before the generator's next
 * update, so no update changes.
 */
export class AdversarialLoop implements MethodInstance, LoopHandle {
  readonly settings: AdversarialSettings;
  readonly generator: Generator;
  readonly #context: MethodContext;
  readonly #replay: Replay;
  #rng: Rng;
  readonly #generatorOpt: Optimizer;
  readonly #studentOpt: Optimizer;
  readonly #studentVars: tf.Variable[];
  #epochsDone = 0;
  #partial: PartialEpoch | undefined;
  /**
   * Wall seconds of the last epoch by phase (`generator`, `novel` generation, replay `sample`,
   * `student` update, replay `update`); for profiling, not part of the report.
   */
  phaseSeconds: Record<string, number> = {};

  /** Sets the loop up (the method's Rng is forked from the context's under `name`). */
  constructor(
    name: string,
    context: MethodContext,
    hyper: HyperReader,
    replayFactory: ReplayFactory,
  ) {
    this.#context = context;
    const settings = readAdversarialSettings(hyper);
    this.settings = settings;
    const { imageShape, student } = context;
    checkGeneratorContext(name, context);
    this.#rng = context.rng.fork(`method:${name}`);
    this.generator = new Generator({
      latentDim: settings.latentDim,
      imageShape,
      width: settings.generatorWidth,
      spectralNorm: true,
      rng: this.#rng,
    });
    this.#generatorOpt = new Optimizer({ name: "adam", lr: settings.generatorLr });
    this.#studentOpt = new Optimizer(
      settings.studentOptimizer === "sgd"
        ? {
          name: "sgd",
          lr: settings.studentLr,
          momentum: settings.studentMomentum,
          weightDecay: settings.studentWeightDecay,
        }
        : { name: "adam", lr: settings.studentLr, weightDecay: settings.studentWeightDecay },
    );
    this.#studentVars = modelVariables(student);
    try {
      this.#replay = replayFactory(context, hyper, this);
    } catch (error) {
      // A replay that rejects its hyperparameters leaves nothing allocated behind.
      this.generator.dispose();
      this.#generatorOpt.dispose();
      this.#studentOpt.dispose();
      throw error;
    }
  }

  /** The method's random stream (forked from the context's at creation). */
  get rng(): Rng {
    return this.#rng;
  }

  /**
   * Trains one epoch, or its rest when an earlier call stopped it early (see
   * {@linkcode EpochControl}); `control.shouldStop` is polled after each iteration.
   */
  async runEpoch(
    epoch: number,
    onStep?: StepProgress,
    control?: EpochControl,
  ): Promise<EpochReport> {
    const { budget } = this.#context;
    const partial = this.#partial;
    const meter = resumeEpochMeter(partial, epoch);
    this.#partial = undefined;
    const s = this.settings;
    this.#studentOpt.setLearningRate(learningRateAt(s.studentLrSchedule, s.studentLr, epoch));
    const phases: Record<string, number> = {};
    const timed = async <T>(phase: string, f: () => T | Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await f();
      } finally {
        phases[phase] = (phases[phase] ?? 0) + (performance.now() - t0) / 1000;
      }
    };
    this.phaseSeconds = phases;
    const stopped = await runIterations(
      meter,
      partial?.nextIteration ?? 0,
      budget.iterationsPerEpoch,
      (i) => this.#iteration(epoch, i, meter, timed),
      onStep,
      control,
    );
    if (stopped !== undefined) {
      this.#partial = { epoch, nextIteration: stopped, meter: meter.state() };
      return meter.report(this.replayBytes(), stopped);
    }
    this.#epochsDone = epoch + 1;
    return meter.report(this.replayBytes());
  }

  /** One iteration: the generator steps, then the student steps with their replay. */
  async #iteration(
    epoch: number,
    i: number,
    meter: EpochMeter,
    timed: <T>(phase: string, f: () => T | Promise<T>) => Promise<T>,
  ): Promise<void> {
    const { budget } = this.#context;
    const s = this.settings;
    for (let k = 0; k < s.generatorSteps; k++) {
      await timed("generator", () => this.#generatorStep(meter));
    }
    for (let j = 0; j < budget.studentStepsPerIteration; j++) {
      const info: StepInfo = {
        epoch,
        iteration: i,
        globalIteration: epoch * budget.iterationsPerEpoch + i,
        studentStep: j,
        lastOfEpoch: i === budget.iterationsPerEpoch - 1 &&
          j === budget.studentStepsPerIteration - 1,
      };
      const novel = await timed(
        "novel",
        () =>
          tf.tidy(() =>
            this.generator.forward(randomCodes(this.#rng, budget.batchSize, s.latentDim), true)
          ),
      );
      try {
        const replay = await timed("sample", () => this.#replay.sample(info, meter));
        try {
          await timed("student", () => this.#studentStep(novel, replay, meter));
        } finally {
          replay?.dispose();
        }
        await timed("update", () => this.#replay.afterStudentStep(novel, info, meter));
      } finally {
        novel.dispose();
      }
    }
  }

  async #generatorStep(meter: EpochMeter): Promise<void> {
    const s = this.settings;
    const { teacher, student, budget } = this.#context;
    const vars = this.generator.trainable;
    const z = randomCodes(this.#rng, budget.batchSize, s.latentDim);
    const held: { parts?: tf.Tensor } = {};
    const weights = {
      oneHot: s.oneHotWeight,
      entropy: s.entropyWeight,
      activation: s.activationWeight,
      adversarial: s.adversarialWeight,
      temperature: s.adversarialTemperature,
    };
    const { value, grads } = tf.variableGrads(() => {
      const x = this.generator.forward(z, true);
      const t = forward(teacher, x, false);
      const sLogits = forward(student, x, s.studentInTrainingModeForGenerator).logits;
      const { total, parts } = generatorLoss(t.logits, t.features, sLogits, weights);
      held.parts = tf.keep(parts);
      return total;
    }, vars);
    z.dispose();
    meter.teacherPass(budget.batchSize, true);
    const total = (await value.data())[0] as number;
    const [oh, ie, act, adv] = await (held.parts as tf.Tensor).data();
    tf.dispose([value, held.parts as tf.Tensor]);
    try {
      meter.loss("generator", total);
      meter.loss("generatorOneHot", oh as number);
      meter.loss("generatorEntropy", ie as number);
      meter.loss("generatorActivation", act as number);
      meter.loss("generatorAdversarial", adv as number);
    } catch (error) {
      tf.dispose(Object.values(grads));
      throw error;
    }
    this.#generatorOpt.applyGradients(grads, vars);
    meter.count("generatorSteps");
  }

  async #studentStep(
    novel: tf.Tensor4D,
    replay: tf.Tensor4D | null,
    meter: EpochMeter,
  ): Promise<void> {
    const { teacher, student } = this.#context;
    const x = replay === null ? novel : tf.concat([novel, replay], 0);
    try {
      const target = tf.tidy(() => forward(teacher, x, false).logits);
      meter.teacherPass(x.shape[0], false);
      const { value, grads } = tf.variableGrads(
        () => l1LogitLoss(forward(student, x, true).logits, target),
        this.#studentVars,
      );
      target.dispose();
      const loss = (await value.data())[0] as number;
      value.dispose();
      try {
        meter.loss("student", loss);
      } catch (error) {
        tf.dispose(Object.values(grads));
        throw error;
      }
      this.#studentOpt.applyGradients(grads, this.#studentVars);
    } finally {
      if (x !== novel) x.dispose();
    }
    meter.count("studentSteps");
    meter.count("novelImages", novel.shape[0]);
    if (replay !== null) meter.count("replayImages", replay.shape[0]);
  }

  /** Replay memory in bytes (0 without replay). */
  replayBytes(): number {
    return this.#replay.replayBytes();
  }

  /** Everything to continue: generator, student weights, optimisers, replay, Rng, counters. */
  async saveState(): Promise<MethodState> {
    const tensors: Record<string, TensorData> = {
      ...await this.generator.params.save("generator/"),
    };
    await saveStudentWeights(this.#context.student, tensors);
    const generatorOptimizer = await saveOptimizer(
      this.#generatorOpt,
      "optimizer/generator/",
      tensors,
    );
    const studentOptimizer = await saveOptimizer(this.#studentOpt, "optimizer/student/", tensors);
    const replay = await this.#replay.save();
    for (const [k, v] of Object.entries(replay.tensors)) tensors[`replay/${k}`] = v;
    const json: LoopJson = {
      rng: this.#rng.state(),
      epochsDone: this.#epochsDone,
      generatorOptimizer,
      studentOptimizer,
      replay: replay.json,
      ...(this.#partial !== undefined ? { partial: structuredClone(this.#partial) } : {}),
      ...studentRandomJson(this.#context.student),
    };
    return { json, tensors };
  }

  /** Restores {@linkcode AdversarialLoop.saveState}'s output. */
  async restoreState(state: MethodState): Promise<void> {
    const json = state.json as LoopJson;
    const t = state.tensors;
    this.generator.params.load("generator/", t);
    restoreStudentWeights(this.#context.student, t);
    await restoreOptimizer(this.#generatorOpt, "optimizer/generator/", json.generatorOptimizer, t);
    await restoreOptimizer(this.#studentOpt, "optimizer/student/", json.studentOptimizer, t);
    const replayTensors: Record<string, TensorData> = {};
    for (const [k, v] of Object.entries(t)) {
      if (k.startsWith("replay/")) replayTensors[k.slice("replay/".length)] = v;
    }
    await this.#replay.restore(json.replay, replayTensors);
    restoreStudentRandom(this.#context.student, json.studentRandom);
    this.#rng = Rng.fromState(json.rng);
    this.#epochsDone = json.epochsDone;
    this.#partial = json.partial === undefined ? undefined : structuredClone(json.partial);
  }

  /** Frees the generator, the optimisers' slots and the replay (not the teacher or student). */
  dispose(): void {
    this.generator.dispose();
    this.#generatorOpt.dispose();
    this.#studentOpt.dispose();
    this.#replay.dispose();
  }
}
