/**
 * The model-inversion distillation loop DeepInversion (ADI) and CMI share
 * (zju-vipa/CMI `datafree_kd.py`): per iteration one synthesis round adds a
 * batch of images to a pool that keeps every round's images, then the student
 * distils on shuffled pool batches. The methods differ only in their
 * {@linkcode Synthesizer}. `docs/methods/deepinversion.md` maps the budget.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forward } from "../models/classifier.ts";
import { UserError } from "../util/errors.ts";
import { learningRateAt, type LrSchedule } from "../util/lr_schedule.ts";
import { Optimizer } from "../util/optim.ts";
import { Rng, type RngState } from "../util/rng.ts";
import {
  EpochMeter,
  modelVariables,
  optimizerState,
  type PartialEpoch,
  restoreStudentRandom,
  restoreStudentWeights,
  resumeEpochMeter,
  runIterations,
  saveStudentWeights,
  studentRandomJson,
} from "./adversarial.ts";
import {
  ImagePool,
  type ImagePoolState,
  type PixelNormalisation,
  quantise,
  studentBatch,
} from "./blocks/image_pool.ts";
import { kdKlLoss } from "./blocks/generative_losses.ts";
import { HyperReader, type HyperTable } from "./hyper.ts";
import type { MemoryPart } from "./memory_estimate.ts";
import type {
  EpochControl,
  EpochReport,
  MemorySettings,
  MethodContext,
  MethodInstance,
  MethodState,
  StepProgress,
  TensorData,
} from "./method.ts";

/** The distillation side's hyperparameters (CMI `datafree_kd.py` defaults). */
export const INVERSION_STUDENT_HYPERPARAMETERS = {
  kdTemperature: {
    default: 20,
    description: "Temperature T of the distillation loss T^2 KL(t/T || s/T) (scripts: --T 20).",
    min: 0,
    exclusiveMin: true,
  },
  studentLr: { default: 0.1, description: "Student SGD learning rate (--lr 0.1).", min: 0 },
  studentMomentum: { default: 0.9, description: "Student SGD momentum (0.9).", min: 0, max: 1 },
  studentWeightDecay: { default: 1e-4, description: "Student weight decay (--wd 1e-4).", min: 0 },
  studentLrSchedule: {
    default: "cosine",
    description:
      "Student learning-rate schedule per epoch: cosine (CosineAnnealingLR) or constant.",
    choices: ["cosine", "constant"],
  },
  studentLrTMax: {
    default: 0,
    description: "Cosine period in epochs; 0 = the budget's epochs (the release's T_max=epochs).",
    min: 0,
  },
  studentAugment: {
    default: "crop-flip",
    description: "Training transform of pool images: crop-flip (RandomCrop(size, padding=4) + " +
      "RandomHorizontalFlip, CIFAR/Tiny-ImageNet) or none (MNIST).",
    choices: ["crop-flip", "none"],
  },
  iterationsPerRound: {
    default: 1,
    description: "Iterations per synthesis round: a round starts every k-th iteration of the run " +
      "(1 = every iteration; the release runs one round per epoch of kd_steps student steps).",
    min: 1,
    max: 1e6,
    integer: true,
  },
  poolCapacity: {
    default: 0,
    description: "Images the pool keeps at most, oldest dropped first; 0 = every round's " +
      "images (the release).",
    min: 0,
    max: 1e9,
    integer: true,
  },
} as const satisfies HyperTable;

/**
 * What every inversion method holds besides its networks, for the memory
 * estimate (`MethodPlugin.memory`): the batch of images under optimisation
 * (with Adam's moments) and the pool of every round's images (at most
 * `poolCapacity`).
 */
export function inversionMemory(name: string, table: HyperTable, s: MemorySettings): MemoryPart[] {
  const { poolCapacity } = new HyperReader(name, table, s.hyper).values(
    INVERSION_STUDENT_HYPERPARAMETERS,
  );
  const [h, w, c] = s.imageShape;
  const { epochs, iterationsPerEpoch, batchSize } = s.budget;
  const rounds = epochs * iterationsPerEpoch * batchSize;
  const pooled = poolCapacity > 0 ? Math.min(poolCapacity, rounds) : rounds;
  const image = h * w * c;
  return [
    {
      what: "synthesised batch",
      parameters: batchSize * image,
      trained: true,
      activationsPerImage: 0,
      batch: 0,
      fields: ["budget.batchSize"],
    },
    {
      what: "image pool",
      parameters: 0,
      trained: false,
      activationsPerImage: 0,
      batch: 0,
      bufferFloats: pooled * image,
      fields: ["poolCapacity", "budget.epochs", "budget.iterationsPerEpoch", "budget.batchSize"],
    },
  ];
}

/** Where a synthesis round stands. */
export interface RoundInfo {
  epoch: number;
  iteration: number;
  /** Images to synthesise (the budget's batch size). */
  size: number;
}

/** What the loop offers its synthesizer. Read `rng` at every use (restoring replaces it). */
export interface InversionHandle {
  readonly rng: Rng;
  readonly context: MethodContext;
  readonly normalisation: PixelNormalisation;
}

/** A method's synthesis side. */
export interface Synthesizer {
  /**
   * Runs one round and returns its images as NHWC pixel values in [0, 1]
   * (`size` images), recording its losses and counters (`teacherForwardImages`,
   * `teacherBackwardImages`, `synthesisSteps`) in `meter`.
   */
  synthesize(round: RoundInfo, meter: EpochMeter): Float32Array | Promise<Float32Array>;
  /** Bytes kept of past synthetic data besides the image pool (CMI's feature bank). */
  replayBytes(): number;
  /** The synthesizer's persistent state. */
  save(): Promise<{ json: unknown; tensors: Record<string, TensorData> }>;
  /** Restores {@linkcode Synthesizer.save}'s output. */
  restore(json: unknown, tensors: Record<string, TensorData>): Promise<void>;
  /** Frees its tensors. */
  dispose(): void;
}

interface Settings {
  iterationsPerRound: number;
  kdTemperature: number;
  studentLr: number;
  schedule: LrSchedule;
  cropFlip: boolean;
}

interface LoopJson {
  rng: RngState;
  studentOptimizer: string[];
  pool: ImagePoolState;
  synthesizer: unknown;
  partial?: PartialEpoch;
  studentRandom?: RngState[];
}

/** The dataset normalisation from the context (identity when the runner gives none). */
function normalisationOf(context: MethodContext): PixelNormalisation {
  const c = context.imageShape[2];
  return context.normalisation ?? {
    mean: Array.from({ length: c }, () => 0),
    std: Array.from({ length: c }, () => 1),
  };
}

/** One job's inversion loop (a {@linkcode MethodInstance}). */
export class InversionLoop implements MethodInstance, InversionHandle {
  readonly context: MethodContext;
  readonly normalisation: PixelNormalisation;
  readonly pool: ImagePool;
  readonly #settings: Settings;
  readonly #synth: Synthesizer;
  readonly #opt: Optimizer;
  readonly #vars: tf.Variable[];
  #rng: Rng;
  #partial: PartialEpoch | undefined;

  /** Sets the loop up; `factory` builds the method's synthesizer. */
  constructor(
    name: string,
    context: MethodContext,
    factory: (loop: InversionHandle) => Synthesizer,
  ) {
    for (const [field, value] of Object.entries(context.budget)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new UserError(`Method "${name}": budget.${field} must be a positive whole number`);
      }
    }
    const { teacher, student, classes } = context;
    if (teacher.classes !== classes || student.classes !== classes) {
      throw new UserError(
        `Method "${name}": teacher (${teacher.classes}) and student (${student.classes}) ` +
          `must both have ${classes} classes`,
      );
    }
    const own = Object.fromEntries(
      Object.entries(context.hyper).filter(([k]) => k in INVERSION_STUDENT_HYPERPARAMETERS),
    );
    const v = new HyperReader(name, INVERSION_STUDENT_HYPERPARAMETERS, own).values();
    this.#settings = {
      iterationsPerRound: v.iterationsPerRound,
      kdTemperature: v.kdTemperature,
      studentLr: v.studentLr,
      schedule: v.studentLrSchedule === "cosine"
        ? { type: "cosine", tMax: v.studentLrTMax > 0 ? v.studentLrTMax : context.budget.epochs }
        : { type: "constant" },
      cropFlip: v.studentAugment === "crop-flip",
    };
    this.context = context;
    this.normalisation = normalisationOf(context);
    this.pool = new ImagePool(context.imageShape, v.poolCapacity);
    this.#rng = context.rng.fork(`method:${name}`);
    this.#synth = factory(this);
    this.#opt = new Optimizer({
      name: "sgd",
      lr: v.studentLr,
      momentum: v.studentMomentum,
      weightDecay: v.studentWeightDecay,
    });
    this.#vars = modelVariables(student);
  }

  /** The method's random stream. */
  get rng(): Rng {
    return this.#rng;
  }

  /**
   * One epoch: per iteration a synthesis round (every `iterationsPerRound`-th iteration of the
   * run), then the budget's student steps on the pool.
   */
  async runEpoch(
    epoch: number,
    onStep?: StepProgress,
    control?: EpochControl,
  ): Promise<EpochReport> {
    const { budget } = this.context;
    const partial = this.#partial;
    const meter = resumeEpochMeter(partial, epoch);
    this.#partial = undefined;
    const s = this.#settings;
    this.#opt.setLearningRate(learningRateAt(s.schedule, s.studentLr, epoch));
    const stopped = await runIterations(
      meter,
      partial?.nextIteration ?? 0,
      budget.iterationsPerEpoch,
      (i) => this.#iteration(epoch, i, meter),
      onStep,
      control,
    );
    if (stopped !== undefined) {
      this.#partial = { epoch, nextIteration: stopped, meter: meter.state() };
      return { ...this.#report(meter), stoppedAfterIteration: stopped };
    }
    return this.#report(meter);
  }

  /** One iteration: a synthesis round when one is due, then the student steps on the pool. */
  async #iteration(epoch: number, i: number, meter: EpochMeter): Promise<void> {
    const { budget } = this.context;
    const s = this.#settings;
    if ((epoch * budget.iterationsPerEpoch + i) % s.iterationsPerRound === 0) {
      const images = await this.#synth.synthesize(
        { epoch, iteration: i, size: budget.batchSize },
        meter,
      );
      this.pool.add(quantise(images), this.#rng);
      meter.count("synthesisRounds");
      meter.count("synthesizedImages", budget.batchSize);
    }
    for (let j = 0; j < budget.studentStepsPerIteration; j++) await this.#studentStep(meter);
  }

  /** The epoch's report, with its teacher compute (images x passes) from the counters. */
  #report(meter: EpochMeter): EpochReport {
    const counters = { ...meter.counters };
    const report = {
      losses: meter.means(),
      replayBytes: this.replayBytes(),
      counters,
      studentImages: counters.poolImages ?? 0,
      teacherForwardImages: counters.teacherForwardImages ?? 0,
      teacherBackwardImages: counters.teacherBackwardImages ?? 0,
    };
    return report;
  }

  async #studentStep(meter: EpochMeter): Promise<void> {
    const { teacher, student, budget } = this.context;
    const indices = this.pool.nextBatch(budget.batchSize, this.#rng);
    const x = studentBatch(
      this.pool,
      indices,
      this.#settings.cropFlip,
      this.normalisation,
      this.#rng,
    );
    try {
      const target = tf.tidy(() => forward(teacher, x, false).logits);
      const { value, grads } = tf.variableGrads(
        () => kdKlLoss(forward(student, x, true).logits, target, this.#settings.kdTemperature),
        this.#vars,
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
      this.#opt.applyGradients(grads, this.#vars);
    } finally {
      x.dispose();
    }
    meter.count("studentSteps");
    meter.count("poolImages", indices.length);
    meter.count("teacherForwardImages", indices.length);
  }

  /** Pool bytes plus what the synthesizer keeps. */
  replayBytes(): number {
    return this.pool.bytes() + this.#synth.replayBytes();
  }

  /** Student weights and optimiser, pool, synthesizer, Rng and any partial epoch. */
  async saveState(): Promise<MethodState> {
    const tensors: Record<string, TensorData> = {};
    await saveStudentWeights(this.context.student, tensors);
    const studentOptimizer = await optimizerState.save(this.#opt, "optimizer/student/", tensors);
    const pool = this.pool.save();
    for (const [k, v] of Object.entries(pool.tensors)) tensors[`pool/${k}`] = v;
    const synth = await this.#synth.save();
    for (const [k, v] of Object.entries(synth.tensors)) tensors[`synth/${k}`] = v;
    const json: LoopJson = {
      rng: this.#rng.state(),
      studentOptimizer,
      pool: pool.json,
      synthesizer: synth.json,
      ...(this.#partial !== undefined ? { partial: structuredClone(this.#partial) } : {}),
      ...studentRandomJson(this.context.student),
    };
    return { json, tensors };
  }

  /** Restores {@linkcode InversionLoop.saveState}'s output. */
  async restoreState(state: MethodState): Promise<void> {
    const json = state.json as LoopJson;
    const t = state.tensors;
    restoreStudentWeights(this.context.student, t);
    await optimizerState.restore(this.#opt, "optimizer/student/", json.studentOptimizer, t);
    const prefixed = (prefix: string) =>
      Object.fromEntries(
        Object.entries(t).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [
          k.slice(prefix.length),
          v,
        ]),
      );
    this.pool.restore(json.pool, prefixed("pool/"));
    await this.#synth.restore(json.synthesizer, prefixed("synth/"));
    restoreStudentRandom(this.context.student, json.studentRandom);
    this.#rng = Rng.fromState(json.rng);
    this.#partial = json.partial === undefined ? undefined : structuredClone(json.partial);
  }

  /** Frees the optimiser's slots and the synthesizer (not the teacher or student). */
  dispose(): void {
    this.#opt.dispose();
    this.#synth.dispose();
  }
}
