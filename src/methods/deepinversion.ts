/**
 * DeepInversion with Adaptive DeepInversion's competition (ADI), as zju-vipa/CMI
 * `datafree/synthesis/deepinversion.py` runs it for distillation, with the
 * NVlabs/DeepInversion (`cifar10/deepinversion_cifar10.py`) variants as
 * hyperparameters. Specification: `docs/methods/deepinversion.md`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Classifier, forward } from "../models/classifier.ts";
import { Optimizer } from "../util/optim.ts";
import type { EpochMeter } from "./adversarial.ts";
import { bnStatisticsLoss, TeacherProbe } from "./blocks/bn_statistics.ts";
import {
  type CompetitionForm,
  competitionLoss,
  crossEntropy,
  imageL2,
  totalVariationL1,
  totalVariationL2,
} from "./blocks/inversion_losses.ts";
import { resample, rollAndFlip } from "./blocks/resample.ts";
import { HyperReader, type HyperTable } from "./hyper.ts";
import {
  INVERSION_STUDENT_HYPERPARAMETERS,
  type InversionHandle,
  InversionLoop,
  inversionMemory,
  type RoundInfo,
  type Synthesizer,
} from "./inversion_loop.ts";
import type { MethodPlugin } from "./method.ts";

/** DeepInversion's hyperparameters with the CMI release's defaults (`scripts/deepinv`). */
export const DEEPINVERSION_HYPERPARAMETERS = {
  synthesisSteps: {
    default: 1000,
    description: "Adam steps on the images per synthesis round (--g_steps 1000; NVlabs 2000).",
    min: 1,
    max: 1e6,
    integer: true,
  },
  synthesisLr: {
    default: 0.1,
    description: "Adam learning rate on the images (--lr_g 0.1).",
    min: 0,
  },
  synthesisBeta1: {
    default: 0.5,
    description: "Adam beta1 on the images (CMI 0.5; NVlabs 0.9).",
    min: 0,
    max: 1,
  },
  synthesisBeta2: {
    default: 0.99,
    description: "Adam beta2 on the images (CMI 0.99; NVlabs 0.999).",
    min: 0,
    max: 1,
  },
  bnWeight: { default: 10, description: "Weight of the BN-statistics loss (--bn 10).", min: 0 },
  oneHotWeight: {
    default: 1,
    description: "Weight of the one-hot cross-entropy (--oh 1).",
    min: 0,
  },
  competitionWeight: {
    default: 1,
    description: "Weight of the ADI competition term (--adv 1; 0 = plain DeepInversion).",
    min: 0,
  },
  competitionForm: {
    default: "neg-js",
    description: "Competition term: neg-js (CMI, -JS) or one-minus-js (NVlabs, 1 - clamp(JS)).",
    choices: ["neg-js", "one-minus-js"],
  },
  competitionTemperature: {
    default: 3,
    description: "Softmax temperature of the JS term (3).",
    min: 0,
    exclusiveMin: true,
  },
  tvWeight: {
    default: 0.001,
    description: "Weight of the total-variation prior (tv 0.001).",
    min: 0,
  },
  tvNorm: {
    default: "l1-mean",
    description: "Total variation: l1-mean (CMI, sum of mean |d|) or l2-norm (NVlabs, sum ||d||).",
    choices: ["l1-mean", "l2-norm"],
  },
  l2Weight: { default: 0, description: "Weight of the L2 prior ||x|| (l2 0).", min: 0 },
  jitter: {
    default: 0,
    description: "Largest roll in pixels; 0 = floor(H/8) as CMI (NVlabs: 2).",
    min: 0,
    max: 4096,
    integer: true,
  },
  flip: {
    default: true,
    description: "Random horizontal flip of the batch (CMI true; NVlabs false).",
  },
  clip: {
    default: true,
    description: "Clip images to the valid pixel range after each step (CMI true; NVlabs false).",
  },
  priorsOnAugmented: {
    default: false,
    description: "Compute the priors on the augmented batch (NVlabs) instead of the images (CMI).",
  },
  ...INVERSION_STUDENT_HYPERPARAMETERS,
} as const satisfies HyperTable;

/** DeepInversion's synthesis settings, read from its hyperparameters. */
export interface DiSettings {
  steps: number;
  lr: number;
  beta1: number;
  beta2: number;
  bn: number;
  oh: number;
  adv: number;
  form: CompetitionForm;
  temperature: number;
  tv: number;
  tvNorm: "l1-mean" | "l2-norm";
  l2: number;
  jitter: number;
  flip: boolean;
  clip: boolean;
  priorsOnAugmented: boolean;
}

/** Reads {@linkcode DEEPINVERSION_HYPERPARAMETERS}' synthesis part (`height` sets the jitter rule). */
export function readDeepInversionSettings(
  h: HyperReader<typeof DEEPINVERSION_HYPERPARAMETERS>,
  height: number,
): DiSettings {
  const v = h.values();
  return {
    steps: v.synthesisSteps,
    lr: v.synthesisLr,
    beta1: v.synthesisBeta1,
    beta2: v.synthesisBeta2,
    bn: v.bnWeight,
    oh: v.oneHotWeight,
    adv: v.competitionWeight,
    form: v.competitionForm,
    temperature: v.competitionTemperature,
    tv: v.tvWeight,
    tvNorm: v.tvNorm,
    l2: v.l2Weight,
    jitter: v.jitter > 0 ? v.jitter : Math.floor(height / 8),
    flip: v.flip,
    clip: v.clip,
    priorsOnAugmented: v.priorsOnAugmented,
  };
}

/** Sorted uniform class targets (the release sorts them). */
export function sortedTargets(loop: InversionHandle, n: number): tf.Tensor1D {
  const k = loop.context.classes;
  const y = Array.from({ length: n }, () => loop.rng.int(k)).sort((a, b) => a - b);
  return tf.tensor1d(y, "int32");
}

/** The valid range of normalised pixels per channel, as `[1, 1, 1, C]` tensors. */
export function pixelRange(loop: InversionHandle): { lo: tf.Tensor; hi: tf.Tensor } {
  const { mean, std } = loop.normalisation;
  const lo = mean.map((m, c) => (0 - m) / (std[c] as number));
  const hi = mean.map((m, c) => (1 - m) / (std[c] as number));
  return { lo: tf.tensor4d(lo, [1, 1, 1, lo.length]), hi: tf.tensor4d(hi, [1, 1, 1, hi.length]) };
}

/**
 * One DeepInversion step's loss on images `x` and their augmented batch
 * `aug`, with its terms `[bn, oneHot, competition, tv, l2]` (unweighted).
 */
export function deepInversionLoss(
  probe: TeacherProbe,
  student: Classifier,
  s: DiSettings,
  x: tf.Tensor4D,
  aug: tf.Tensor4D,
  targets: tf.Tensor1D,
): { total: tf.Scalar; parts: tf.Tensor1D } {
  const t = probe.forward(aug);
  const bn = bnStatisticsLoss(t.bnInputs, probe.stats);
  const oh = crossEntropy(t.logits, targets);
  const adv = s.adv !== 0
    ? competitionLoss(
      forward(student, aug, false).logits,
      t.logits,
      s.temperature,
      s.form,
    )
    : tf.scalar(0);
  const p = s.priorsOnAugmented ? aug : x;
  const tv = s.tvNorm === "l1-mean" ? totalVariationL1(p) : totalVariationL2(p);
  const l2 = imageL2(p);
  const total = tf.addN([
    tf.mul(bn, s.bn),
    tf.mul(oh, s.oh),
    tf.mul(adv, s.adv),
    tf.mul(tv, s.tv),
    tf.mul(l2, s.l2),
  ]) as tf.Scalar;
  return { total, parts: tf.stack([bn, oh, adv, tv, l2]) as tf.Tensor1D };
}

/** DeepInversion's synthesis: images optimised directly through the frozen teacher. */
class DeepInversionSynthesizer implements Synthesizer {
  readonly #loop: InversionHandle;
  readonly #s: DiSettings;
  readonly #probe: TeacherProbe;

  constructor(loop: InversionHandle, s: DiSettings) {
    this.#loop = loop;
    this.#s = s;
    this.#probe = new TeacherProbe(loop.context.teacher, []);
    if (this.#probe.stats.length === 0 && s.bn !== 0) {
      loop.context.log.warn(
        `deepinversion: teacher ${loop.context.teacher.arch} has no BatchNorm layer; the BN ` +
          "statistics term is 0 (the release requires BatchNorm)",
      );
    }
  }

  async synthesize(round: RoundInfo, meter: EpochMeter): Promise<Float32Array> {
    const s = this.#s;
    const [h, w, c] = this.#loop.context.imageShape;
    const n = round.size;
    const rng = this.#loop.rng;
    const targets = sortedTargets(this.#loop, n);
    const x0 = tf.randomNormal([n, h, w, c], 0, 1, "float32", rng.seed());
    const x = tf.variable(x0);
    x0.dispose();
    const opt = new Optimizer({ name: "adam", lr: s.lr, beta1: s.beta1, beta2: s.beta2 });
    const range = pixelRange(this.#loop);
    try {
      for (let it = 0; it < s.steps; it++) {
        const dy = rng.int(2 * s.jitter + 1) - s.jitter;
        const dx = rng.int(2 * s.jitter + 1) - s.jitter;
        const flip = s.flip && rng.next() > 0.5;
        const r = rollAndFlip(n, h, w, dy, dx, flip);
        const held: { parts?: tf.Tensor1D } = {};
        const { value, grads } = tf.variableGrads(() => {
          const images = x as tf.Tensor4D;
          const aug = resample(images, r);
          const out = deepInversionLoss(
            this.#probe,
            this.#loop.context.student,
            s,
            images,
            aug,
            targets,
          );
          held.parts = tf.keep(out.parts);
          return out.total;
        }, [x]);
        const total = (await value.data())[0] as number;
        const parts = await (held.parts as tf.Tensor1D).data();
        tf.dispose([value, held.parts as tf.Tensor]);
        try {
          meter.loss("synthesis", total);
        } catch (error) {
          tf.dispose(Object.values(grads));
          throw error;
        }
        ["synthesisBn", "synthesisOneHot", "synthesisCompetition", "synthesisTv", "synthesisL2"]
          .forEach((name, k) => meter.loss(name, parts[k] as number));
        opt.applyGradients(grads, [x]);
        if (s.clip) tf.tidy(() => x.assign(tf.minimum(tf.maximum(x, range.lo), range.hi)));
        meter.count("synthesisSteps");
        meter.count("teacherForwardImages", n);
        meter.count("teacherBackwardImages", n);
      }
      // The release keeps "best" inputs that alias the optimised tensor: the final iterate.
      const pixels = tf.tidy(() => {
        const { mean, std } = this.#loop.normalisation;
        const m = tf.tensor4d([...mean], [1, 1, 1, c]);
        const sd = tf.tensor4d([...std], [1, 1, 1, c]);
        return tf.add(tf.mul(x, sd), m);
      });
      try {
        return await pixels.data() as Float32Array;
      } finally {
        pixels.dispose();
      }
    } finally {
      tf.dispose([x, targets, range.lo, range.hi]);
      opt.dispose();
    }
  }

  replayBytes(): number {
    return 0;
  }

  save() {
    return Promise.resolve({ json: null, tensors: {} });
  }

  restore(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.#probe.dispose();
  }
}

/**
 * The `deepinversion` method (ADI): each iteration optimises a batch of
 * images against the teacher's BatchNorm statistics, one-hot targets, priors
 * and the student's disagreement, keeps them in a pool of every round's
 * images, and distils the student on the pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deepInversion } from "./deepinversion.ts";
 * assert.deepEqual(deepInversion.hyperparameters.synthesisSteps?.default, 1000);
 * ```
 */
export const deepInversion: MethodPlugin = {
  name: "deepinversion",
  description: "DeepInversion with ADI competition (NVlabs; CMI's distillation release): images " +
    "optimised for BN statistics, one-hot, TV/L2 priors and teacher-student disagreement, kept " +
    "in a pool the student distils on.",
  hyperparameters: DEEPINVERSION_HYPERPARAMETERS,
  create(context) {
    const h = new HyperReader("deepinversion", DEEPINVERSION_HYPERPARAMETERS, context.hyper);
    const s = readDeepInversionSettings(h, context.imageShape[0]);
    return new InversionLoop(
      "deepinversion",
      context,
      (loop) => new DeepInversionSynthesizer(loop, s),
    );
  },
  memory: (settings) => inversionMemory("deepinversion", DEEPINVERSION_HYPERPARAMETERS, settings),
};
