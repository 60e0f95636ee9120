/**
 * PRE-DFKD (Binici et al., AAAI 2022): adversarial DFKD with generative
 * pseudo replay. A VAE (encoder E, memory generator M) models earlier
 * synthetic samples; class-balanced samples decoded from it join every
 * student step, and the VAE replays its own samples to itself so it does not
 * forget either. Follows the authors' release (kuluhan/PRE-DFKD,
 * `distillation.py`) where it differs from the paper.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forward } from "../models/classifier.ts";
import { Optimizer } from "../util/optim.ts";
import {
  ADVERSARIAL_HYPERPARAMETERS,
  AdversarialLoop,
  type EpochMeter,
  generatorMemory,
  type LoopHandle,
  optimizerState,
  randomCodes,
  type Replay,
  type StepInfo,
} from "./adversarial.ts";
import { Encoder } from "./blocks/encoder.ts";
import { Generator } from "./blocks/generator.ts";
import { informationEntropyLoss, l1LogitLoss, oneHotLoss, vaeKlLoss } from "./blocks/losses.ts";
import { HyperReader, type HyperTable, type HyperValues } from "./hyper.ts";
import { vaePart } from "./memory_estimate.ts";
import type { MethodContext, MethodPlugin, TensorData } from "./method.ts";

/** PRE-DFKD's own hyperparameters (on top of the shared ones), with the release's defaults. */
export const VAE_HYPERPARAMETERS = {
  vaeWidth: {
    default: 1,
    description: "VAE channel multiplier: encoder widths round(64w), round(128w); decoder as " +
      "the generator (release 1).",
    min: 0,
    exclusiveMin: true,
    max: 64,
  },
  vaeLr: {
    default: 0.0005,
    description: "Adam learning rate of encoder and memory generator; follows generatorLr / 40 " +
      "unless set (release lr_G / 40).",
    follows: { name: "generatorLr", scale: 1 / 40 },
    min: 0,
  },
  vaeStepsPerIteration: {
    default: 4,
    description: "A VAE step follows each of the first this-many student steps of an " +
      "iteration (dist_step < 4).",
    min: 0,
    integer: true,
  },
  vaeUpdatePeriod: {
    default: 1,
    description: "VAE steps happen in epochs whose index is a multiple of this " +
      "(mem_gen_upd_period).",
    min: 1,
    integer: true,
  },
  vaeWarmupIterations: {
    default: 1,
    description: "VAE steps of the run's first this-many iterations train on novel samples " +
      "only (release: all of iteration 0 of epoch 0; the specification says the first step).",
    min: 0,
    integer: true,
  },
  vaeNovelDivisor: {
    default: 2,
    description: "A VAE step trains on the first floor(B / divisor) novel samples (B/2), plus " +
      "its own memory samples after the warm-up.",
    min: 1,
    integer: true,
  },
  vaeKlWeight: { default: 1e-5, description: "Weight of the KL term of the VAE loss." },
  replayPeriod: {
    default: 1,
    description: "Memory samples join student steps in epochs whose index is a multiple of " +
      "this (student_rehearse_period).",
    min: 1,
    integer: true,
  },
  memoryBatchDivisor: {
    default: 8,
    description: "Memory samples per step: floor(B / divisor) (B/8; at least 2, for the " +
      "latent variance).",
    min: 1,
    integer: true,
  },
  latentSteps: {
    default: 1,
    description: "Adam steps on the memory codes z before decoding (release 1).",
    min: 0,
    integer: true,
  },
  latentLr: {
    default: 0.02,
    description: "Adam learning rate of those steps on z; follows generatorLr unless set " +
      "(release lr_G).",
    follows: { name: "generatorLr", scale: 1 },
    min: 0,
  },
  latentEntropyWeight: {
    default: 5,
    description: "Weight of the information-entropy loss of T(M(z)) in the latent step; " +
      "follows entropyWeight unless set (release: the same ie).",
    follows: { name: "entropyWeight", scale: 1 },
  },
  latentOneHotWeight: {
    default: 1,
    description: "Weight of the one-hot loss of T(M(z)) in the latent step; follows " +
      "oneHotWeight unless set (release: the same oh).",
    follows: { name: "oneHotWeight", scale: 1 },
  },
  latentPriorWeight: {
    default: 1,
    description: "Weight of MSE(var(z), 1) + MSE(mean(z), 0) (over the batch) in the latent step.",
  },
  latentStepTrainsDecoder: {
    default: true,
    description: "The self-replay latent step of each VAE step also back-propagates " +
      "ie*IE + oh*oneHot of T(M(z)) into the memory generator M, and M's Adam step applies it " +
      "with the reconstruction + KL gradient (release: optimizer_G2.zero_grad() runs before that " +
      "pass, so M is also pushed toward confident, class-balanced replay); false: M gets the " +
      "reconstruction + KL gradient only.",
  },
} as const satisfies HyperTable;

/** PRE-DFKD's hyperparameters: the shared ones and its own, with the release's defaults. */
export const PRE_DFKD_HYPERPARAMETERS = {
  ...ADVERSARIAL_HYPERPARAMETERS,
  ...VAE_HYPERPARAMETERS,
} as const satisfies HyperTable;

/** The VAE's settings, as {@linkcode VAE_HYPERPARAMETERS} declares them. */
type VaeSettings = HyperValues<typeof VAE_HYPERPARAMETERS>;

function readVaeSettings(h: HyperReader, batchSize: number): VaeSettings {
  const s = h.values(VAE_HYPERPARAMETERS);
  if (Math.floor(batchSize / s.memoryBatchDivisor) < 2) {
    throw h.error(
      "memoryBatchDivisor",
      `batch size ${batchSize} / ${s.memoryBatchDivisor} gives fewer than 2 memory samples ` +
        `(the latent step needs a batch variance)`,
    );
  }
  if (Math.floor(batchSize / s.vaeNovelDivisor) < 1) {
    throw h.error("vaeNovelDivisor", `batch size ${batchSize} / ${s.vaeNovelDivisor} is 0`);
  }
  return s;
}

/**
 * `a + b` by variable name (either may be null; the sum takes ownership of
 * both maps' tensors and disposes what it replaces).
 */
function addGrads(
  a: tf.NamedTensorMap | null,
  b: tf.NamedTensorMap | null,
): tf.NamedTensorMap {
  if (a === null) return b ?? {};
  if (b === null) return a;
  const sum: tf.NamedTensorMap = { ...a };
  for (const [name, g] of Object.entries(b)) {
    const prev = sum[name];
    if (prev === undefined) {
      sum[name] = g;
    } else {
      sum[name] = tf.add(prev, g);
      tf.dispose([prev, g]);
    }
  }
  return sum;
}

/** Adam's moment decay rates and epsilon (PyTorch defaults) for the latent steps. */
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** PRE-DFKD's VAE as the loop's replay. */
export class VaeReplay implements Replay {
  readonly encoder: Encoder;
  readonly decoder: Generator;
  readonly settings: VaeSettings;
  readonly #context: MethodContext;
  readonly #loop: LoopHandle;
  readonly #opt: Optimizer;
  readonly #vars: tf.Variable[];

  /** Builds E and M (initialised from the loop's Rng) and their Adam optimiser. */
  constructor(context: MethodContext, h: HyperReader, loop: LoopHandle) {
    this.#context = context;
    this.#loop = loop;
    this.settings = readVaeSettings(h, context.budget.batchSize);
    const [height, width] = context.imageShape;
    if (height % 8 !== 0 || width % 8 !== 0) {
      throw h.error(
        "vaeWidth",
        `the VAE encoder needs image height and width divisible by 8 (got ${height}x${width})`,
      );
    }
    const { latentDim } = loop.settings;
    this.decoder = new Generator({
      latentDim,
      imageShape: context.imageShape,
      width: this.settings.vaeWidth,
      spectralNorm: false,
      rng: loop.rng,
    });
    this.encoder = new Encoder({
      latentDim,
      imageShape: context.imageShape,
      width: this.settings.vaeWidth,
      rng: loop.rng,
    });
    // The release has one Adam per network with the same rate; Adam is per-parameter, so one
    // optimiser over both is the same update.
    this.#opt = new Optimizer({ name: "adam", lr: this.settings.vaeLr });
    this.#vars = [...this.encoder.trainable, ...this.decoder.trainable];
  }

  /** Memory samples per step, floor(B / memoryBatchDivisor). */
  get memorySamples(): number {
    return Math.floor(this.#context.budget.batchSize / this.settings.memoryBatchDivisor);
  }

  /**
   * Class-balanced memory codes: `z ~ N(0, I)` `[B/8, L]` (or `draws`), then
   * `latentSteps` Adam steps (a fresh Adam per call, as the release) on `z`
   * minimising `ie * IE(T(M(z))) + oh * oneHot(T(M(z))) + MSE(var(z), 1) +
   * MSE(mean(z), 0)` (variance unbiased, both over the batch axis), with M in
   * training or inference mode. A fresh Adam's first step is
   * `z -= lr * g / (|g| + eps)`. The objective's values are recorded as loss
   * `lossName` (`latent` for student steps, `vaeLatent` for self-replay).
   * With `decoderGradients`, the same backward passes also give the
   * objective's gradient in M's parameters (summed over the steps; the prior
   * terms do not depend on M), returned by variable name; otherwise M's
   * weights are constants and `decoderGrads` is null.
   */
  async latentCodes(
    decoderTraining: boolean,
    meter: EpochMeter,
    lossName: string,
    options: { decoderGradients?: boolean; codes?: tf.Tensor2D } = {},
  ): Promise<{ z: tf.Tensor2D; decoderGrads: tf.NamedTensorMap | null }> {
    const s = this.settings;
    const { teacher } = this.#context;
    const n = this.memorySamples;
    const withDecoder = options.decoderGradients ?? false;
    let z = options.codes?.clone() ?? randomCodes(this.#loop.rng, n, this.#loop.settings.latentDim);
    let m: tf.Tensor | null = null;
    let v: tf.Tensor | null = null;
    let decoderGrads: tf.NamedTensorMap | null = null;
    const objective = (codes: tf.Tensor) => {
      const logits = forward(
        teacher,
        this.decoder.forward(codes as tf.Tensor2D, decoderTraining, {
          latent: true,
          weights: withDecoder,
        }),
        false,
      )
        .logits;
      const mean = tf.mean(codes, 0);
      const variance = tf.div(tf.sum(tf.square(tf.sub(codes, mean)), 0), codes.shape[0]! - 1);
      const prior = tf.add(
        tf.mean(tf.square(tf.sub(variance, 1))),
        tf.mean(tf.square(mean)),
      );
      return tf.addN([
        tf.mul(informationEntropyLoss(logits), s.latentEntropyWeight),
        tf.mul(oneHotLoss(logits), s.latentOneHotWeight),
        tf.mul(prior, s.latentPriorWeight),
      ]) as tf.Scalar;
    };
    const freeAll = () =>
      tf.dispose(
        [z, m, v, ...Object.values(decoderGrads ?? {})].filter((x): x is tf.Tensor => x !== null),
      );
    for (let t = 1; t <= s.latentSteps; t++) {
      let value: tf.Scalar;
      let grad: tf.Tensor;
      if (withDecoder) {
        const out = this.#codeAndDecoderGrads(objective, z);
        ({ value, grad } = out);
        decoderGrads = addGrads(decoderGrads, out.decoderGrads);
      } else {
        ({ value, grad } = tf.valueAndGrad(objective)(z));
      }
      meter.teacherPass(n, true);
      const loss = (await value.data())[0] as number;
      value.dispose();
      try {
        meter.loss(lossName, loss);
      } catch (error) {
        grad.dispose();
        freeAll();
        throw error;
      }
      const next = tf.tidy(() => {
        const m1 = m === null
          ? tf.mul(grad, 1 - ADAM.beta1)
          : tf.add(tf.mul(m, ADAM.beta1), tf.mul(grad, 1 - ADAM.beta1));
        const v1 = v === null
          ? tf.mul(tf.square(grad), 1 - ADAM.beta2)
          : tf.add(tf.mul(v, ADAM.beta2), tf.mul(tf.square(grad), 1 - ADAM.beta2));
        const stepSize = s.latentLr / (1 - ADAM.beta1 ** t);
        const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(1 - ADAM.beta2 ** t)), ADAM.eps);
        return [tf.sub(z, tf.mul(tf.div(m1, denom), stepSize)), m1, v1] as const;
      });
      tf.dispose([z, grad, m, v].filter((x): x is tf.Tensor => x !== null));
      [z, m, v] = [next[0] as tf.Tensor2D, next[1], next[2]];
      meter.count("latentSteps");
    }
    tf.dispose([m, v].filter((x): x is tf.Tensor => x !== null));
    return { z, decoderGrads };
  }

  /**
   * One backward pass of the latent objective for the codes and M's
   * parameters together (the release's `(loss_match + loss_kld).backward()`
   * with M's gradients not zeroed): the codes become a temporary variable.
   */
  #codeAndDecoderGrads(
    objective: (codes: tf.Tensor) => tf.Scalar,
    z: tf.Tensor2D,
  ): { value: tf.Scalar; grad: tf.Tensor; decoderGrads: tf.NamedTensorMap } {
    const codes = tf.variable(z, true);
    try {
      const { value, grads } = tf.variableGrads(() => objective(codes), [
        codes,
        ...this.decoder.trainable,
      ]);
      const grad = grads[codes.name] as tf.Tensor;
      delete grads[codes.name];
      return { value, grad, decoderGrads: grads };
    } finally {
      codes.dispose();
    }
  }

  /**
   * Memory samples for a student step (epochs that are multiples of
   * `replayPeriod`): latent codes tuned with M in inference mode (the release
   * calls `mem_generator.eval()` here), decoded in inference mode.
   */
  async sample(step: StepInfo, meter: EpochMeter): Promise<tf.Tensor4D | null> {
    if (step.epoch % this.settings.replayPeriod !== 0) return null;
    const { z } = await this.latentCodes(false, meter, "latent");
    const x = tf.tidy(() => this.decoder.forward(z, false));
    z.dispose();
    return x;
  }

  /**
   * A VAE step after each of the first `vaeStepsPerIteration` student steps
   * (in epochs that are multiples of `vaeUpdatePeriod`): see
   * {@linkcode VaeReplay.vaeGradients}; E and M then take one Adam step.
   */
  async afterStudentStep(novel: tf.Tensor4D, step: StepInfo, meter: EpochMeter): Promise<void> {
    const s = this.settings;
    if (step.studentStep >= s.vaeStepsPerIteration || step.epoch % s.vaeUpdatePeriod !== 0) return;
    const grads = await this.vaeGradients(novel, step, meter);
    this.#opt.applyGradients(grads, this.#vars);
    meter.count("vaeSteps");
  }

  /**
   * The gradients of one VAE step in E's and M's variables (by name), as the
   * release's `train_memory_generator` leaves them before its optimiser
   * steps. It trains on the first B/2 novel samples, plus (after the warm-up)
   * B/8 memory samples M itself just produced in training mode (self-replay):
   * their codes come from {@linkcode VaeReplay.latentCodes} with M in training
   * mode, and with `latentStepTrainsDecoder` (the release: M's gradients are
   * zeroed before that pass, not after) that pass's gradient of
   * `ie * IE + oh * oneHot` in M's parameters is part of M's gradient. Loss:
   * `L1(x_rec, x) + L1(T(x_rec), T(x)) + klWeight * KL`, with `x_rec = M(mu +
   * exp(logVar / 2) * eps)`; E and M in training mode, the teacher in
   * inference mode. `draws` fixes the memory codes before tuning (`[B/8, L]`)
   * and the reparameterisation noise (`[rows of x, L]`) instead of drawing
   * them from the loop's Rng (for tests against the release).
   */
  async vaeGradients(
    novel: tf.Tensor4D,
    step: StepInfo,
    meter: EpochMeter,
    draws: { codes?: tf.Tensor2D; noise?: tf.Tensor2D } = {},
  ): Promise<tf.NamedTensorMap> {
    const s = this.settings;
    const { teacher } = this.#context;
    const half = Math.floor(novel.shape[0] / s.vaeNovelDivisor);
    let x: tf.Tensor4D;
    let latentGrads: tf.NamedTensorMap | null = null;
    if (step.globalIteration < s.vaeWarmupIterations) {
      x = tf.slice(novel, 0, half);
    } else {
      const tuned = await this.latentCodes(true, meter, "vaeLatent", {
        decoderGradients: s.latentStepTrainsDecoder,
        ...(draws.codes !== undefined ? { codes: draws.codes } : {}),
      });
      latentGrads = tuned.decoderGrads;
      x = tf.tidy(() =>
        tf.concat([tf.slice(novel, 0, half), this.decoder.forward(tuned.z, true)], 0)
      );
      tuned.z.dispose();
      meter.count("replayImagesVae", this.memorySamples);
    }
    const target = tf.tidy(() => forward(teacher, x, false).logits);
    // The target, then the reconstruction (whose gradient reaches the decoder through the teacher).
    meter.teacherPass(x.shape[0], false);
    meter.teacherPass(x.shape[0], true);
    const held: { parts?: tf.Tensor } = {};
    const { value, grads } = tf.variableGrads(() => {
      const { mu, logVar } = this.encoder.forward(x, true);
      const eps = draws.noise ??
        tf.randomNormal(mu.shape, 0, 1, "float32", this.#loop.rng.seed());
      const codes = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D;
      const reconstruction = this.decoder.forward(codes, true, { latent: true });
      const rec = tf.add(
        l1LogitLoss(reconstruction, x),
        l1LogitLoss(forward(teacher, reconstruction, false).logits, target),
      );
      const kl = vaeKlLoss(mu, logVar, s.vaeKlWeight);
      held.parts = tf.keep(tf.stack([rec, kl]));
      return tf.add(rec, kl) as tf.Scalar;
    }, this.#vars);
    tf.dispose([x, target]);
    const total = (await value.data())[0] as number;
    const [rec, kl] = await (held.parts as tf.Tensor).data();
    tf.dispose([value, held.parts as tf.Tensor]);
    const all = addGrads(grads, latentGrads);
    try {
      meter.loss("vae", total);
      meter.loss("vaeReconstruction", rec as number);
      meter.loss("vaeKl", kl as number);
    } catch (error) {
      tf.dispose(Object.values(all));
      throw error;
    }
    return all;
  }

  /** Bytes of the VAE's parameters: (E + M trainable parameters) x 4 (float32). */
  replayBytes(): number {
    return (this.encoder.params.parameterCount() + this.decoder.params.parameterCount()) * 4;
  }

  /** E, M (with BatchNorm statistics) and the Adam slots. */
  async save(): Promise<{ json: unknown; tensors: Record<string, TensorData> }> {
    const tensors: Record<string, TensorData> = {
      ...await this.encoder.params.save("encoder/"),
      ...await this.decoder.params.save("decoder/"),
    };
    const slots = await optimizerState.save(this.#opt, "optimizer/vae/", tensors);
    return { json: { optimizer: slots }, tensors };
  }

  /** Restores {@linkcode VaeReplay.save}'s output. */
  async restore(json: unknown, tensors: Record<string, TensorData>): Promise<void> {
    this.encoder.params.load("encoder/", tensors);
    this.decoder.params.load("decoder/", tensors);
    const names = (json as { optimizer: string[] }).optimizer;
    await optimizerState.restore(this.#opt, "optimizer/vae/", names, tensors);
  }

  /** Frees E, M and the optimiser slots. */
  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    this.#opt.dispose();
  }
}

/**
 * The `pre-dfkd` method. Replay memory = bytes of the VAE's parameters
 * (encoder + memory generator, float32); nothing is stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { preDfkd } from "./pre_dfkd.ts";
 * assert.equal(preDfkd.hyperparameters.vaeLr?.default, 0.0005);
 * ```
 */
export const preDfkd: MethodPlugin = {
  name: "pre-dfkd",
  description: "PRE-DFKD: adversarial DFKD with generative pseudo replay from a VAE of earlier " +
    "synthetic samples (Binici et al., AAAI 2022; the authors' release).",
  hyperparameters: PRE_DFKD_HYPERPARAMETERS,
  create(context) {
    const h = new HyperReader("pre-dfkd", PRE_DFKD_HYPERPARAMETERS, context.hyper);
    return new AdversarialLoop(
      "pre-dfkd",
      context,
      h,
      (ctx, hyper, loop) => new VaeReplay(ctx, hyper, loop),
    );
  },
  memory(settings) {
    const h = new HyperReader("pre-dfkd", PRE_DFKD_HYPERPARAMETERS, settings.hyper);
    const { latentDim, vaeWidth } = h.values();
    const fields = ["vaeWidth", "latentDim", "budget.batchSize"];
    return [
      ...generatorMemory("pre-dfkd", PRE_DFKD_HYPERPARAMETERS)(settings),
      vaePart(latentDim, settings.imageShape, vaeWidth, settings.budget.batchSize, fields),
    ];
  },
};
