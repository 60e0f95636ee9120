/**
 * The skeleton DAFL and DFAD share: one generator G trained against a frozen
 * teacher, one student trained on G's samples, nothing stored between steps
 * (no replay, 0 bytes). A subclass says what one iteration does; this class
 * runs epochs of `budget.iterationsPerEpoch` iterations, stops early on
 * request, and saves and restores everything (G with its BatchNorm
 * statistics, the student, both optimisers, the random stream, the position
 * inside a stopped epoch).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forward } from "../models/classifier.ts";
import { learningRateAt, type LrSchedule } from "../util/lr_schedule.ts";
import { Optimizer, type OptimizerSpec } from "../util/optim.ts";
import { Rng, type RngState } from "../util/rng.ts";
import {
  checkGeneratorContext,
  EpochMeter,
  modelVariables,
  optimizerState,
  type PartialEpoch,
  randomCodes,
  restoreStudentRandom,
  restoreStudentWeights,
  resumeEpochMeter,
  runIterations,
  saveStudentWeights,
  studentRandomJson,
} from "./adversarial.ts";
import type { HyperReader, HyperTable } from "./hyper.ts";
import type {
  EpochControl,
  EpochReport,
  MethodContext,
  MethodInstance,
  MethodState,
  StepProgress,
  TensorData,
} from "./method.ts";
import { Generator, type GeneratorOptions } from "./blocks/generator.ts";

/** Release defaults of the student's and the schedule's hyperparameters, per method. */
export interface StudentDefaults {
  studentOptimizer: "sgd" | "adam";
  studentLr: number;
  studentWeightDecay: number;
  studentLrSchedule: "step" | "cosine" | "constant";
  studentLrMilestones: string;
  studentLrTMax: number;
  generatorLrScheduled: boolean;
}

/**
 * The student and schedule rows of a hyperparameter table, with a method's
 * release defaults (`release` says what the release does, for the descriptions).
 */
export function studentHyperparameters(d: StudentDefaults, release: string) {
  return {
    studentOptimizer: {
      default: d.studentOptimizer,
      description: `Student optimiser: sgd (momentum studentMomentum) or adam (${release}).`,
      choices: ["sgd", "adam"],
    },
    studentLr: {
      default: d.studentLr,
      description: `Student base learning rate (${release}).`,
      min: 0,
    },
    studentMomentum: {
      default: 0.9,
      description: "Student SGD momentum (0.9 in the release).",
      min: 0,
      max: 1,
    },
    studentWeightDecay: {
      default: d.studentWeightDecay,
      description: "Student weight decay, coupled as torch.optim's (release value).",
      min: 0,
    },
    studentLrSchedule: {
      default: d.studentLrSchedule,
      description: "Student learning-rate schedule, stepped once per epoch: step (MultiStepLR " +
        "at studentLrMilestones), cosine (CosineAnnealingLR, period studentLrTMax) or constant.",
      choices: ["step", "cosine", "constant"],
    },
    studentLrMilestones: {
      default: d.studentLrMilestones,
      description: "Step schedule: comma-separated 0-based epochs at which the rate is " +
        "multiplied by studentLrGamma.",
    },
    studentLrGamma: { default: 0.1, description: "Step schedule factor (release 0.1).", min: 0 },
    studentLrTMax: {
      default: d.studentLrTMax,
      description: "Cosine schedule period T_max in epochs.",
      min: 0,
      exclusiveMin: true,
    },
    generatorLrScheduled: {
      default: d.generatorLrScheduled,
      description: "The generator's rate follows the same schedule (factor of its base rate).",
    },
  } as const satisfies HyperTable;
}

/** What {@linkcode readStudentSettings} gives. */
export interface StudentSettings {
  optimizer: OptimizerSpec;
  lr: number;
  schedule: LrSchedule;
  generatorScheduled: boolean;
}

/** Reads {@linkcode studentHyperparameters} (a bad value is a `UserError` naming it). */
export function readStudentSettings(h: HyperReader): StudentSettings {
  const name = h.choice<"sgd" | "adam">("studentOptimizer");
  const lr = h.number("studentLr");
  const momentum = h.number("studentMomentum");
  const weightDecay = h.number("studentWeightDecay");
  const type = h.choice<"step" | "cosine" | "constant">("studentLrSchedule");
  let schedule: LrSchedule = { type: "constant" };
  if (type === "cosine") {
    schedule = { type, tMax: h.number("studentLrTMax") };
  } else if (type === "step") {
    const text = h.choice("studentLrMilestones").trim();
    const milestones = text === "" ? [] : text.split(",").map((m) => Number(m.trim()));
    if (milestones.some((m) => !Number.isInteger(m) || m < 0)) {
      throw h.error(
        "studentLrMilestones",
        `must be comma-separated whole epochs >= 0 (got ${JSON.stringify(text)})`,
      );
    }
    schedule = { type, milestones, gamma: h.number("studentLrGamma") };
  }
  return {
    optimizer: name === "sgd" ? { name, lr, momentum, weightDecay } : { name, lr, weightDecay },
    lr,
    schedule,
    generatorScheduled: h.boolean("generatorLrScheduled"),
  };
}

/** How a {@linkcode GeneratorStudentLoop} is built. */
export interface LoopSetup {
  /** The generator's architecture (its Rng is the loop's). */
  generator: Omit<GeneratorOptions, "rng" | "imageShape">;
  /** Adam (or other) settings of the generator. */
  generatorOptimizer: OptimizerSpec;
  /** The student's optimiser and schedule. */
  student: StudentSettings;
}

/**
 * The DCGAN generator of the DAFL and DFAD releases: PyTorch's default
 * initialisation, no spectral norm, the given batch-norm epsilon on its
 * convolutions (DAFL 0.8, DFAD 1e-5).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseGenerator } from "./generator_student_loop.ts";
 * assert.equal(releaseGenerator({ latentDim: 100, generatorWidth: 1 }, 0.8).init, "pytorch");
 * ```
 */
export function releaseGenerator(
  v: { latentDim: number; generatorWidth: number },
  convBnEps: number,
): LoopSetup["generator"] {
  return {
    latentDim: v.latentDim,
    width: v.generatorWidth,
    spectralNorm: false,
    init: "pytorch",
    convBnEps,
  };
}

interface LoopJson {
  rng: RngState;
  epochsDone: number;
  generatorOptimizer: string[];
  studentOptimizer: string[];
  partial?: PartialEpoch;
  studentRandom?: RngState[];
}

/** A generator-and-student DFKD loop without replay; subclasses define {@linkcode iteration}. */
export abstract class GeneratorStudentLoop implements MethodInstance {
  readonly generator: Generator;
  protected readonly context: MethodContext;
  protected readonly setup: LoopSetup;
  protected readonly generatorOpt: Optimizer;
  protected readonly studentOpt: Optimizer;
  protected readonly studentVars: tf.Variable[];
  #rng: Rng;
  #epochsDone = 0;
  #partial: PartialEpoch | undefined;

  /** Checks the context, forks the method's Rng under `name` and builds G and the optimisers. */
  constructor(name: string, context: MethodContext, setup: LoopSetup) {
    const { imageShape, student } = context;
    checkGeneratorContext(name, context);
    this.context = context;
    this.setup = setup;
    this.#rng = context.rng.fork(`method:${name}`);
    this.generator = new Generator({ ...setup.generator, imageShape, rng: this.#rng });
    this.generatorOpt = new Optimizer(setup.generatorOptimizer);
    this.studentOpt = new Optimizer(setup.student.optimizer);
    this.studentVars = modelVariables(student);
  }

  /** The method's random stream (read it at every use: restoring replaces it). */
  protected get rng(): Rng {
    return this.#rng;
  }

  /** One iteration of the method (generator and student steps), recording into `meter`. */
  protected abstract iteration(epoch: number, iteration: number, meter: EpochMeter): Promise<void>;

  /** `[n, latentDim]` standard normal codes from the method's stream. */
  protected codes(n: number): tf.Tensor2D {
    return randomCodes(this.#rng, n, this.generator.options.latentDim);
  }

  /** A batch `G(z)` in training mode (batch statistics, running ones updated), no gradient. */
  protected sample(n: number): tf.Tensor4D {
    return tf.tidy(() => this.generator.forward(this.codes(n), true));
  }

  /** The teacher's logits of `x` in inference mode (counted as a forward pass). */
  protected teacherLogits(x: tf.Tensor4D, meter: EpochMeter): tf.Tensor2D {
    meter.teacherPass(x.shape[0], false);
    return tf.tidy(() => forward(this.context.teacher, x, false).logits);
  }

  /**
   * One student step on `x` (training mode) against constant teacher logits
   * `target`: records loss `student`, counts `studentSteps` and `novelImages`.
   */
  protected async studentStep(
    x: tf.Tensor4D,
    target: tf.Tensor2D,
    loss: (student: tf.Tensor2D, teacher: tf.Tensor2D) => tf.Scalar,
    meter: EpochMeter,
  ): Promise<void> {
    const { value, grads } = tf.variableGrads(
      () => loss(forward(this.context.student, x, true).logits, target),
      this.studentVars,
    );
    const v = (await value.data())[0] as number;
    value.dispose();
    try {
      meter.loss("student", v);
    } catch (error) {
      tf.dispose(Object.values(grads));
      throw error;
    }
    this.studentOpt.applyGradients(grads, this.studentVars);
    meter.count("studentSteps");
    meter.count("novelImages", x.shape[0]);
  }

  /**
   * One generator step: `objective` returns the total loss and named parts
   * (kept scalars) computed from fresh codes; records `generator` and each
   * part, then updates G with its optimiser.
   */
  protected async generatorStep(
    objective: (z: tf.Tensor2D) => { total: tf.Scalar; parts: Record<string, tf.Scalar> },
    meter: EpochMeter,
  ): Promise<void> {
    const z = this.codes(this.context.budget.batchSize);
    let parts: Record<string, tf.Scalar> = {};
    const vars = this.generator.trainable;
    const { value, grads } = tf.variableGrads(() => {
      const out = objective(z);
      parts = Object.fromEntries(Object.entries(out.parts).map(([k, v]) => [k, tf.keep(v)]));
      return out.total;
    }, vars);
    z.dispose();
    const total = (await value.data())[0] as number;
    const values: (readonly [string, number])[] = [];
    for (const [k, v] of Object.entries(parts)) values.push([k, (await v.data())[0] as number]);
    tf.dispose([value, ...Object.values(parts)]);
    try {
      meter.loss("generator", total);
      for (const [k, v] of values) meter.loss(k, v);
    } catch (error) {
      tf.dispose(Object.values(grads));
      throw error;
    }
    this.generatorOpt.applyGradients(grads, vars);
    meter.count("generatorSteps");
  }

  /** Trains one epoch, or finishes one an earlier call stopped (see {@linkcode EpochControl}). */
  async runEpoch(
    epoch: number,
    onStep?: StepProgress,
    control?: EpochControl,
  ): Promise<EpochReport> {
    const { budget } = this.context;
    const partial = this.#partial;
    const meter = resumeEpochMeter(partial, epoch);
    this.#partial = undefined;
    const s = this.setup.student;
    const factor = s.lr > 0 ? learningRateAt(s.schedule, s.lr, epoch) / s.lr : 1;
    this.studentOpt.setLearningRate(learningRateAt(s.schedule, s.lr, epoch));
    const gLr = this.setup.generatorOptimizer.lr;
    this.generatorOpt.setLearningRate(s.generatorScheduled ? gLr * factor : gLr);
    const stopped = await runIterations(
      meter,
      partial?.nextIteration ?? 0,
      budget.iterationsPerEpoch,
      (i) => this.iteration(epoch, i, meter),
      onStep,
      control,
    );
    if (stopped !== undefined) {
      this.#partial = { epoch, nextIteration: stopped, meter: meter.state() };
      return meter.report(0, stopped);
    }
    this.#epochsDone = epoch + 1;
    return meter.report(0);
  }

  /** Always 0: these methods keep no past synthetic data and no model of it. */
  replayBytes(): number {
    return 0;
  }

  /** Generator, student weights, both optimisers, Rng, position and the student's random sources. */
  async saveState(): Promise<MethodState> {
    const tensors: Record<string, TensorData> = {
      ...(await this.generator.params.save("generator/")),
    };
    await saveStudentWeights(this.context.student, tensors);
    const generatorOptimizer = await optimizerState.save(
      this.generatorOpt,
      "optimizer/generator/",
      tensors,
    );
    const studentOptimizer = await optimizerState.save(
      this.studentOpt,
      "optimizer/student/",
      tensors,
    );
    const json: LoopJson = {
      rng: this.#rng.state(),
      epochsDone: this.#epochsDone,
      generatorOptimizer,
      studentOptimizer,
      ...(this.#partial !== undefined ? { partial: structuredClone(this.#partial) } : {}),
      ...studentRandomJson(this.context.student),
    };
    return { json, tensors };
  }

  /** Restores {@linkcode saveState}'s output into an instance made from the same context. */
  async restoreState(state: MethodState): Promise<void> {
    const json = state.json as LoopJson;
    const t = state.tensors;
    this.generator.params.load("generator/", t);
    restoreStudentWeights(this.context.student, t);
    await optimizerState.restore(
      this.generatorOpt,
      "optimizer/generator/",
      json.generatorOptimizer,
      t,
    );
    await optimizerState.restore(this.studentOpt, "optimizer/student/", json.studentOptimizer, t);
    restoreStudentRandom(this.context.student, json.studentRandom);
    this.#rng = Rng.fromState(json.rng);
    this.#epochsDone = json.epochsDone;
    this.#partial = json.partial === undefined ? undefined : structuredClone(json.partial);
  }

  /** Frees G and the optimisers' slots (not the teacher or the student). */
  dispose(): void {
    this.generator.dispose();
    this.generatorOpt.dispose();
    this.studentOpt.dispose();
  }
}
