/**
 * Contrastive Model Inversion (zju-vipa/CMI `datafree/synthesis/contrastive.py`
 * with `datafree_kd.py`): per round a freshly initialised generator and its
 * codes are optimised for BN statistics, one-hot targets, decision-adversarial
 * disagreement and a contrastive loss against a feature memory of earlier
 * rounds; the best images join the pool the student distils on.
 * Specification: `docs/methods/cmi.md`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { forward } from "../models/classifier.ts";
import { Optimizer } from "../util/optim.ts";
import { type EpochMeter, optimizerState } from "./adversarial.ts";
import {
  batchNormLayers,
  bnStatisticsLoss,
  instanceMeans,
  TeacherProbe,
} from "./blocks/bn_statistics.ts";
import { CmiGenerator } from "./blocks/cmi_generator.ts";
import {
  cmiContrastiveLoss,
  FeatureBank,
  type FeatureBankState,
  MlpHead,
} from "./blocks/contrastive.ts";
import { crossEntropy, decisionAdversarialLoss } from "./blocks/inversion_losses.ts";
import { cropAndFlip, resample, resizedCropAndFlip } from "./blocks/resample.ts";
import { HyperReader, type HyperTable, type HyperValues } from "./hyper.ts";
import {
  INVERSION_STUDENT_HYPERPARAMETERS,
  type InversionHandle,
  InversionLoop,
  inversionMemory,
  type RoundInfo,
  type Synthesizer,
} from "./inversion_loop.ts";
import type { MethodContext, MethodPlugin, TensorData } from "./method.ts";
import { sortedTargets } from "./deepinversion.ts";
import { generatorPart } from "./memory_estimate.ts";

/** CMI's hyperparameters with the release's defaults (`scripts/cmi/cmi_cifar10.sh`). */
export const CMI_HYPERPARAMETERS = {
  synthesisSteps: {
    default: 200,
    description: "Optimisation steps per synthesis round (--g_steps 200).",
    min: 1,
    max: 1e6,
    integer: true,
  },
  synthesisLr: {
    default: 1e-3,
    description: "Adam learning rate of the generator, codes and head (--lr_g 1e-3).",
    min: 0,
  },
  latentDim: {
    default: 256,
    description: "Code size nz (256).",
    min: 1,
    max: 65536,
    integer: true,
  },
  generatorWidth: {
    default: 1,
    description: "Generator width multiplier: ngf = round(64 w) (release ngf 64).",
    min: 0,
    exclusiveMin: true,
    max: 64,
  },
  bnWeight: { default: 1, description: "Weight of the BN-statistics loss (--bn 1).", min: 0 },
  oneHotWeight: {
    default: 1,
    description: "Weight of the one-hot cross-entropy (--oh 1).",
    min: 0,
  },
  adversarialWeight: {
    default: 0.5,
    description: "Weight of the decision-adversarial loss (--adv 0.5).",
    min: 0,
  },
  contrastWeight: {
    default: 0.8,
    description: "Weight of the contrastive loss (--cr 0.8).",
    min: 0,
  },
  contrastTemperature: {
    default: 0.2,
    description: "Temperature of the contrastive logits (--cr_T 0.2; WRN scripts 0.1).",
    min: 0,
    exclusiveMin: true,
  },
  headDim: {
    default: 256,
    description: "Projection head output size (head_dim 256).",
    min: 1,
    max: 65536,
    integer: true,
  },
  bankSize: {
    default: 40960,
    description: "Feature memory rows (bank_size 40960); a multiple of the batch size.",
    min: 1,
    max: 1e7,
    integer: true,
  },
  negatives: {
    default: 4096,
    description: "Cached rows drawn per step as negatives (n_neg 4096).",
    min: 0,
    max: 1e7,
    integer: true,
  },
  featureLayers: {
    default: "auto",
    description: "Contrastive features: auto (ResNet-34: inputs of layer1-4; else BN inputs), " +
      "bn-inputs, block-inputs (inputs of layer1-4) or penultimate.",
    choices: ["auto", "bn-inputs", "block-inputs", "penultimate"],
  },
  ...INVERSION_STUDENT_HYPERPARAMETERS,
} as const satisfies HyperTable;

type FeatureMode = "bn-inputs" | "block-inputs" | "penultimate";

interface CmiSettings {
  steps: number;
  lr: number;
  latentDim: number;
  ngf: number;
  bn: number;
  oh: number;
  adv: number;
  cr: number;
  crT: number;
  headDim: number;
  bankSize: number;
  negatives: number;
  mode: FeatureMode;
}

function featureMode(v: CmiValues["featureLayers"], context: MethodContext): FeatureMode {
  if (v !== "auto") return v;
  if (context.teacher.arch === "resnet34") return "block-inputs";
  return batchNormLayers(context.teacher.model).length > 0 ? "bn-inputs" : "penultimate";
}

type CmiValues = HyperValues<typeof CMI_HYPERPARAMETERS>;

function readSettings(
  h: HyperReader<typeof CMI_HYPERPARAMETERS>,
  context: MethodContext,
): CmiSettings {
  const v = h.values();
  const s: CmiSettings = {
    steps: v.synthesisSteps,
    lr: v.synthesisLr,
    latentDim: v.latentDim,
    ngf: Math.max(1, Math.round(64 * v.generatorWidth)),
    bn: v.bnWeight,
    oh: v.oneHotWeight,
    adv: v.adversarialWeight,
    cr: v.contrastWeight,
    crT: v.contrastTemperature,
    headDim: v.headDim,
    bankSize: v.bankSize,
    negatives: v.negatives,
    mode: featureMode(v.featureLayers, context),
  };
  if (s.bankSize % context.budget.batchSize !== 0) {
    throw h.error(
      "bankSize",
      `${s.bankSize} is not a multiple of the batch size ${context.budget.batchSize}`,
    );
  }
  const [height, width] = context.imageShape;
  if (height % 4 !== 0 || width % 4 !== 0) {
    throw h.error(
      "generatorWidth",
      `the generator needs image sides divisible by 4 (got ${height}x${width})`,
    );
  }
  return s;
}

/** Names of the first layer of each ResNet stage (their inputs are the stage inputs). */
function stageInputLayers(model: tf.LayersModel): string[] {
  const names: string[] = [];
  for (let k = 1; k <= 4; k++) {
    const first = model.layers.find((l) => l.name.startsWith(`layer${k}.`));
    if (first !== undefined) names.push(first.name);
  }
  if (names.length === 0) {
    throw new Error(`Teacher has no layer1..layer4 stages for CMI's features`);
  }
  return names;
}

/** The normalisation as an op on `[0, 1]` images. */
function normaliser(loop: InversionHandle, c: number): (x: tf.Tensor4D) => tf.Tensor4D {
  const { mean, std } = loop.normalisation;
  return (x) =>
    tf.div(tf.sub(x, tf.tensor4d([...mean], [1, 1, 1, c])), tf.tensor4d([...std], [1, 1, 1, c]));
}

interface StepTensors {
  total: tf.Scalar;
  parts: tf.Tensor1D;
  images: tf.Tensor4D;
  features: tf.Tensor2D;
}

/** CMI's synthesis with its persistent head and feature bank. */
class CmiSynthesizer implements Synthesizer {
  readonly #loop: InversionHandle;
  readonly #s: CmiSettings;
  readonly #probe: TeacherProbe;
  readonly #generator: CmiGenerator;
  readonly #head: MlpHead;
  readonly #headOpt: Optimizer;
  readonly #bank: FeatureBank;
  readonly #dim: number;

  constructor(loop: InversionHandle, s: CmiSettings) {
    this.#loop = loop;
    this.#s = s;
    const { teacher, imageShape } = loop.context;
    this.#probe = new TeacherProbe(
      teacher,
      s.mode === "block-inputs" ? stageInputLayers(teacher.model) : [],
    );
    this.#dim = tf.tidy(() =>
      this.#features(this.#probe.forward(tf.zeros([1, ...imageShape]))).shape[1]
    );
    this.#generator = new CmiGenerator(s.latentDim, imageShape, s.ngf);
    this.#head = new MlpHead(this.#dim, s.headDim, loop.rng);
    this.#headOpt = new Optimizer({ name: "adam", lr: s.lr });
    this.#bank = new FeatureBank(s.bankSize, 2 * this.#dim);
  }

  #features(out: ReturnType<TeacherProbe["forward"]>): tf.Tensor2D {
    if (this.#s.mode === "penultimate") return out.features;
    return instanceMeans(this.#s.mode === "block-inputs" ? out.featureInputs : out.bnInputs);
  }

  #loss(
    z: tf.Tensor2D,
    targets: tf.Tensor1D,
    views: { global: ReturnType<typeof cropAndFlip>; local: ReturnType<typeof cropAndFlip> },
    cached: { rows: number; data: Float32Array },
  ): StepTensors {
    const s = this.#s;
    const [, , c] = this.#loop.context.imageShape;
    const norm = normaliser(this.#loop, c);
    const images = this.#generator.forward(z);
    const globalView = norm(resample(images, views.global));
    const localView = norm(resample(images, views.local));
    const tg = this.#probe.forward(globalView);
    const bn = bnStatisticsLoss(tg.bnInputs, this.#probe.stats);
    const oh = crossEntropy(tg.logits, targets);
    const adv = s.adv > 0
      ? decisionAdversarialLoss(
        forward(this.#loop.context.student, globalView, false).logits,
        tg.logits,
      )
      : tf.scalar(0);
    const g = this.#features(tg);
    const l = this.#features(this.#probe.forward(localView));
    const bank = tf.tensor2d(cached.data, [cached.rows, 2 * this.#dim]);
    const cr = cmiContrastiveLoss(this.#head, l, g, bank, s.crT, this.#bank.updates > 0);
    const total = tf.addN([
      tf.mul(cr, s.cr),
      tf.mul(bn, s.bn),
      tf.mul(oh, s.oh),
      tf.mul(adv, s.adv),
    ]);
    return {
      total: total as tf.Scalar,
      parts: tf.stack([bn, oh, adv, cr]) as tf.Tensor1D,
      images,
      features: tf.concat([l, g], 1),
    };
  }

  async synthesize(round: RoundInfo, meter: EpochMeter): Promise<Float32Array> {
    const s = this.#s;
    const rng = this.#loop.rng;
    const [h, w] = this.#loop.context.imageShape;
    const n = round.size;
    this.#generator.reset(rng);
    const z0 = tf.randomNormal([n, s.latentDim], 0, 1, "float32", rng.seed());
    const z = tf.variable(z0);
    z0.dispose();
    const targets = sortedTargets(this.#loop, n);
    const genVars = [...this.#generator.trainable, z];
    const headVars = this.#head.trainable;
    const opt = new Optimizer({ name: "adam", lr: s.lr, beta1: 0.5, beta2: 0.999 });
    let best: { cost: number; images: tf.Tensor4D; features: tf.Tensor2D } | undefined;
    try {
      for (let it = 0; it < s.steps; it++) {
        const views = {
          global: cropAndFlip(n, h, w, 4, rng),
          local: resizedCropAndFlip(n, h, w, [0.25, 1], rng),
        };
        const cached = this.#bank.sample(s.negatives, rng);
        const held: Partial<StepTensors> = {};
        const { value, grads } = tf.variableGrads(() => {
          const out = this.#loss(z as tf.Tensor2D, targets, views, cached);
          held.parts = tf.keep(out.parts);
          held.images = tf.keep(out.images);
          held.features = tf.keep(out.features);
          return out.total;
        }, [...genVars, ...headVars]);
        const total = (await value.data())[0] as number;
        const parts = await (held.parts as tf.Tensor1D).data();
        tf.dispose([value, held.parts as tf.Tensor]);
        if (best === undefined || best.cost > total) {
          if (best !== undefined) tf.dispose([best.images, best.features]);
          best = {
            cost: total,
            images: held.images as tf.Tensor4D,
            features: held.features as tf.Tensor2D,
          };
        } else {
          tf.dispose([held.images as tf.Tensor, held.features as tf.Tensor]);
        }
        try {
          meter.loss("synthesis", total);
        } catch (error) {
          tf.dispose(Object.values(grads));
          throw error;
        }
        ["synthesisBn", "synthesisOneHot", "synthesisAdversarial", "synthesisContrast"]
          .forEach((name, k) => meter.loss(name, parts[k] as number));
        const pick = (vars: tf.Variable[]) =>
          Object.fromEntries(vars.map((v) => [v.name, grads[v.name]!]));
        opt.applyGradients(pick(genVars), genVars);
        this.#headOpt.applyGradients(pick(headVars), headVars);
        meter.count("synthesisSteps");
        meter.count("teacherForwardImages", 2 * n);
        meter.count("teacherBackwardImages", 2 * n);
      }
      const kept = best as { images: tf.Tensor4D; features: tf.Tensor2D };
      this.#bank.add(await kept.features.data() as Float32Array, n);
      return await kept.images.data() as Float32Array;
    } finally {
      if (best !== undefined) tf.dispose([best.images, best.features]);
      tf.dispose([z, targets]);
      opt.dispose();
    }
  }

  replayBytes(): number {
    return this.#bank.bytes();
  }

  async save(): Promise<{ json: unknown; tensors: Record<string, TensorData> }> {
    const tensors: Record<string, TensorData> = { ...await this.#head.params.save("head/") };
    const headOptimizer = await optimizerState.save(this.#headOpt, "optimizer/head/", tensors);
    const bank = this.#bank.save();
    for (const [k, v] of Object.entries(bank.tensors)) tensors[`bank/${k}`] = v;
    return { json: { headOptimizer, bank: bank.json }, tensors };
  }

  async restore(json: unknown, tensors: Record<string, TensorData>): Promise<void> {
    const j = json as { headOptimizer: string[]; bank: FeatureBankState };
    this.#head.params.load("head/", tensors);
    await optimizerState.restore(this.#headOpt, "optimizer/head/", j.headOptimizer, tensors);
    const bank: Record<string, TensorData> = {};
    for (const [k, v] of Object.entries(tensors)) if (k.startsWith("bank/")) bank[k.slice(5)] = v;
    this.#bank.restore(j.bank, bank);
  }

  dispose(): void {
    this.#probe.dispose();
    this.#generator.dispose();
    this.#head.dispose();
    this.#headOpt.dispose();
  }
}

/**
 * The `cmi` method: contrastive model inversion with a pool of every round's
 * images and a feature memory bank.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cmi } from "./cmi.ts";
 * assert.deepEqual(cmi.hyperparameters.contrastWeight?.default, 0.8);
 * ```
 */
export const cmi: MethodPlugin = {
  name: "cmi",
  description: "Contrastive Model Inversion (zju-vipa/CMI): a re-initialised generator per " +
    "round with BN matching, one-hot, decision-adversarial and contrastive losses against a " +
    "feature memory; the student distils on a pool of every round's images.",
  hyperparameters: CMI_HYPERPARAMETERS,
  create(context) {
    const h = new HyperReader("cmi", CMI_HYPERPARAMETERS, context.hyper);
    const s = readSettings(h, context);
    return new InversionLoop("cmi", context, (loop) => new CmiSynthesizer(loop, s));
  },
  memory(settings) {
    const v = new HyperReader("cmi", CMI_HYPERPARAMETERS, settings.hyper).values();
    const { imageShape, budget } = settings;
    return [
      ...inversionMemory("cmi", CMI_HYPERPARAMETERS, settings),
      // CMI's generator is shaped like the DCGAN one (a linear layer to 2 x ngf channels at a
      // quarter of the image, two upsampling convolutions): the same estimate.
      generatorPart(v.latentDim, imageShape, v.generatorWidth, budget.batchSize, [
        "generatorWidth",
        "latentDim",
        "budget.batchSize",
      ], "CMI generator"),
    ];
  },
};
