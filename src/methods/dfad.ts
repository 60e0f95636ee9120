/**
 * DFAD (Fang et al., 2019, "Data-Free Adversarial Distillation"), following
 * the authors' release (VainF/Data-Free-Adversarial-Distillation,
 * `DFAD_cifar.py`, `DFAD_mnist.py`, `network/gan.py` `GeneratorA`): student
 * steps that minimise the L1 distance between student and teacher logits on
 * the generator's samples, then a generator step that maximises it.
 * Specification: `docs/methods/dfad.md`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forward } from "../models/classifier.ts";
import { type EpochMeter, generatorMemory } from "./adversarial.ts";
import { dfadGeneratorLoss } from "./blocks/generative_losses.ts";
import { l1LogitLoss } from "./blocks/losses.ts";
import {
  GeneratorStudentLoop,
  type LoopSetup,
  readStudentSettings,
  releaseGenerator,
  studentHyperparameters,
} from "./generator_student_loop.ts";
import { HyperReader, type HyperTable } from "./hyper.ts";
import type { MethodContext, MethodPlugin } from "./method.ts";

/** DFAD's hyperparameters with the release's CIFAR defaults (`DFAD_cifar.py --scheduler`). */
export const DFAD_HYPERPARAMETERS = {
  latentDim: {
    default: 256,
    description: "Latent size of GeneratorA (--nz: 256 CIFAR, 100 MNIST).",
    min: 1,
    max: 65536,
    integer: true,
  },
  generatorWidth: {
    default: 1,
    description: "Generator channel multiplier: widths round(128w), round(64w) (ngf 64: 1).",
    min: 0,
    exclusiveMin: true,
    max: 64,
  },
  generatorLr: {
    default: 1e-3,
    description: "Generator Adam learning rate (--lr_G 1e-3).",
    min: 0,
  },
  generatorSteps: {
    default: 1,
    description: "Generator steps after the student steps of each iteration (release 1).",
    min: 0,
    max: 1000,
    integer: true,
  },
  studentInTrainingModeForGenerator: {
    default: true,
    description: "The student runs in training mode (batch statistics, running ones updated) " +
      "inside the generator step, as the release does (student.train() for the whole epoch).",
  },
  ...studentHyperparameters(
    {
      studentOptimizer: "sgd",
      studentLr: 0.1,
      studentWeightDecay: 5e-4,
      studentLrSchedule: "step",
      studentLrMilestones: "99,199",
      studentLrTMax: 500,
      generatorLrScheduled: true,
    },
    "release CIFAR: SGD lr 0.1 wd 5e-4, MultiStepLR [100, 200] stepped at each epoch's start " +
      "= x0.1 from 0-based epochs 99 and 199, generator too; MNIST: lr 0.01, wd 1e-4, constant",
  ),
} as const satisfies HyperTable;

/** The DFAD loop: student steps on G's samples, then adversarial generator steps. */
class DfadLoop extends GeneratorStudentLoop {
  readonly #generatorSteps: number;
  readonly #studentTraining: boolean;

  constructor(
    context: MethodContext,
    setup: LoopSetup,
    generatorSteps: number,
    studentTraining: boolean,
  ) {
    super("dfad", context, setup);
    this.#generatorSteps = generatorSteps;
    this.#studentTraining = studentTraining;
  }

  /**
   * `studentStepsPerIteration` student steps, each on a fresh `G(z)`
   * (training mode, no gradient) with loss `L1(S, T)`; then
   * `generatorSteps` generator steps on fresh `z` with loss `-L1(S, T)`, the
   * gradient reaching G through both teacher (inference mode) and student.
   */
  protected async iteration(_epoch: number, _i: number, meter: EpochMeter): Promise<void> {
    const { teacher, student, budget } = this.context;
    for (let j = 0; j < budget.studentStepsPerIteration; j++) {
      const x = this.sample(budget.batchSize);
      const target = this.teacherLogits(x, meter);
      try {
        await this.studentStep(x, target, l1LogitLoss, meter);
      } finally {
        tf.dispose([x, target]);
      }
    }
    for (let k = 0; k < this.#generatorSteps; k++) {
      await this.generatorStep((z) => {
        const x = this.generator.forward(z, true);
        const t = forward(teacher, x, false).logits;
        const s = forward(student, x, this.#studentTraining).logits;
        return { total: dfadGeneratorLoss(s, t), parts: {} };
      }, meter);
      meter.teacherPass(budget.batchSize, true);
    }
  }
}

/**
 * The `dfad` method (no replay: 0 bytes).
 *
 * @example
 * ```ts
 * import { dfad } from "./dfad.ts";
 * console.log(dfad.hyperparameters.latentDim?.default); // 256
 * ```
 */
export const dfad: MethodPlugin = {
  name: "dfad",
  description: "DFAD: a generator that maximises the L1 teacher-student logit discrepancy " +
    "against a student that minimises it (Fang et al., 2019; the authors' release).",
  hyperparameters: DFAD_HYPERPARAMETERS,
  create(context) {
    const h = new HyperReader("dfad", DFAD_HYPERPARAMETERS, context.hyper);
    const v = h.values();
    const setup: LoopSetup = {
      generator: releaseGenerator(v, 1e-5),
      generatorOptimizer: { name: "adam", lr: v.generatorLr },
      student: readStudentSettings(h),
    };
    return new DfadLoop(context, setup, v.generatorSteps, v.studentInTrainingModeForGenerator);
  },
  memory: generatorMemory("dfad", DFAD_HYPERPARAMETERS),
};
