/**
 * DAFL (Chen et al., ICCV 2019, "Data-Free Learning of Student Networks"),
 * following the authors' release (huawei-noah/Efficient-Computing,
 * `Data-Efficient-Model-Compression/DAFL/DAFL-train.py`): a generator trained
 * only against the teacher (one-hot, information-entropy and activation
 * priors; no adversary), and a student distilled with the KL divergence on
 * the generator's samples. Specification: `docs/methods/dafl.md`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forward } from "../models/classifier.ts";
import { type EpochMeter, generatorMemory } from "./adversarial.ts";
import { daflGeneratorLoss, type DaflWeights, kdKlLoss } from "./blocks/generative_losses.ts";
import {
  GeneratorStudentLoop,
  type LoopSetup,
  readStudentSettings,
  releaseGenerator,
  studentHyperparameters,
} from "./generator_student_loop.ts";
import { HyperReader, type HyperTable } from "./hyper.ts";
import type { MethodContext, MethodPlugin } from "./method.ts";

/** DAFL's hyperparameters with the release's CIFAR-10 defaults (README command). */
export const DAFL_HYPERPARAMETERS = {
  latentDim: {
    default: 1000,
    description: "Latent size of the generator (--latent_dim: 1000 CIFAR, 100 MNIST).",
    min: 1,
    max: 65536,
    integer: true,
  },
  generatorWidth: {
    default: 1,
    description: "Generator channel multiplier: widths round(128w), round(64w) (release 1).",
    min: 0,
    exclusiveMin: true,
    max: 64,
  },
  generatorLr: {
    default: 0.02,
    description: "Generator Adam learning rate (--lr_G: 0.02 CIFAR, 0.2 MNIST).",
    min: 0,
  },
  generatorBeta1: {
    default: 0.9,
    description: "Generator Adam beta1 (release: PyTorch's 0.9; zju-vipa/CMI's re-run 0.5).",
    min: 0,
    max: 0.9999,
  },
  generatorSteps: {
    default: 1,
    description: "Generator steps at the start of each iteration (release 1).",
    min: 0,
    max: 1000,
    integer: true,
  },
  oneHotWeight: {
    default: 0.05,
    description: "One-hot loss weight (--oh: 0.05 CIFAR-10, 0.5 CIFAR-100, 1 MNIST).",
  },
  entropyWeight: {
    default: 5,
    description: "Information-entropy loss weight (--ie: 5 CIFAR-10 and MNIST, 20 CIFAR-100).",
  },
  activationWeight: {
    default: 0.01,
    description: "Activation loss weight (--a: 0.01 CIFAR-10, 0.1 CIFAR-100 and MNIST).",
  },
  kdTemperature: {
    default: 1,
    description: "Temperature of the student's KL loss (release 1; CMI's re-run 20, times T^2).",
    min: 0,
    exclusiveMin: true,
  },
  reuseGeneratorBatch: {
    default: true,
    description: "The first student step of an iteration trains on the generator step's own " +
      "images and teacher logits (the release's single forward pass); later steps draw fresh " +
      "batches. false: every student step draws a fresh batch.",
  },
  ...studentHyperparameters({
    studentOptimizer: "sgd",
    studentLr: 0.1,
    studentWeightDecay: 5e-4,
    studentLrSchedule: "step",
    studentLrMilestones: "800,1600",
    studentLrTMax: 2000,
    generatorLrScheduled: false,
  }, "release CIFAR: SGD lr 0.1, x0.1 at epochs 800 and 1600; MNIST: Adam lr 2e-3, constant"),
} as const satisfies HyperTable;

interface DaflSettings {
  weights: DaflWeights;
  temperature: number;
  reuse: boolean;
  generatorSteps: number;
}

/** The DAFL loop: generator steps on the teacher's priors, then KL student steps. */
class DaflLoop extends GeneratorStudentLoop {
  readonly #s: DaflSettings;

  constructor(context: MethodContext, setup: LoopSetup, settings: DaflSettings) {
    super("dafl", context, setup);
    this.#s = settings;
  }

  /**
   * `generatorSteps` generator steps (fresh `z`, `G(z)` in training mode,
   * teacher in inference mode, loss `oh*oneHot + ie*IE + a*activation`), then
   * `studentStepsPerIteration` student steps with the KL loss; the first
   * reuses the last generator step's images and logits when
   * `reuseGeneratorBatch` (no extra teacher pass), the others draw `G(z)`.
   */
  protected async iteration(_epoch: number, _i: number, meter: EpochMeter): Promise<void> {
    const { teacher, budget } = this.context;
    const kept: { x?: tf.Tensor4D; logits?: tf.Tensor2D } = {};
    const keep = this.#s.reuse;
    try {
      for (let k = 0; k < this.#s.generatorSteps; k++) {
        const last = k === this.#s.generatorSteps - 1;
        await this.generatorStep((z) => {
          const x = this.generator.forward(z, true);
          const t = forward(teacher, x, false);
          if (keep && last) [kept.x, kept.logits] = [tf.keep(x), tf.keep(t.logits)];
          const loss = daflGeneratorLoss(t.logits, t.features, this.#s.weights);
          return {
            total: loss.total,
            parts: {
              generatorOneHot: loss.oneHot,
              generatorEntropy: loss.entropy,
              generatorActivation: loss.activation,
            },
          };
        }, meter);
        meter.teacherPass(budget.batchSize, true);
      }
      const kd = (s: tf.Tensor2D, t: tf.Tensor2D) => kdKlLoss(s, t, this.#s.temperature);
      for (let j = 0; j < budget.studentStepsPerIteration; j++) {
        if (j === 0 && kept.x !== undefined && kept.logits !== undefined) {
          await this.studentStep(kept.x, kept.logits, kd, meter);
          meter.count("reusedImages", kept.x.shape[0]);
          continue;
        }
        const x = this.sample(budget.batchSize);
        const target = this.teacherLogits(x, meter);
        try {
          await this.studentStep(x, target, kd, meter);
        } finally {
          tf.dispose([x, target]);
        }
      }
    } finally {
      if (kept.x !== undefined) kept.x.dispose();
      if (kept.logits !== undefined) kept.logits.dispose();
    }
  }
}

/**
 * The `dafl` method (no replay: 0 bytes).
 *
 * @example
 * ```ts
 * import { dafl } from "./dafl.ts";
 * console.log(dafl.hyperparameters.oneHotWeight?.default); // 0.05
 * ```
 */
export const dafl: MethodPlugin = {
  name: "dafl",
  description: "DAFL: a generator trained on the teacher's one-hot, information-entropy and " +
    "activation priors, the student distilled by KL on its samples (Chen et al., ICCV 2019; " +
    "the authors' release).",
  hyperparameters: DAFL_HYPERPARAMETERS,
  create(context) {
    const h = new HyperReader("dafl", DAFL_HYPERPARAMETERS, context.hyper);
    const v = h.values();
    const setup: LoopSetup = {
      generator: releaseGenerator(v, 0.8),
      generatorOptimizer: { name: "adam", lr: v.generatorLr, beta1: v.generatorBeta1 },
      student: readStudentSettings(h),
    };
    const settings: DaflSettings = {
      weights: {
        oneHot: v.oneHotWeight,
        entropy: v.entropyWeight,
        activation: v.activationWeight,
      },
      temperature: v.kdTemperature,
      reuse: v.reuseGeneratorBatch,
      generatorSteps: v.generatorSteps,
    };
    return new DaflLoop(context, setup, settings);
  },
  memory: generatorMemory("dafl", DAFL_HYPERPARAMETERS),
};
