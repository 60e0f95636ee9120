/**
 * Teacher declarations: architecture, dataset and training recipe, with
 * defaults from public DFKD teacher-training code, and the checks that turn
 * a benchmark file's overrides into a complete, valid recipe.
 *
 * @module
 */
import type { AugmentOptions } from "../../data/batches.ts";
import { getDataset } from "../../data/registry.ts";
import { UserError } from "../../util/errors.ts";
import type { LrSchedule } from "../../util/lr_schedule.ts";
import type { OptimizerSpec } from "../../util/optim.ts";
import { getArchitecture } from "../registry.ts";

/** How a teacher is trained. Everything here is part of the teacher's hash. */
export interface TeacherRecipe {
  /** Passes over the training split. */
  epochs: number;
  /** Images per step (the last, smaller batch of an epoch is kept, as PyTorch's DataLoader). */
  batchSize: number;
  /** Optimiser and its settings (PyTorch semantics). */
  optimizer: OptimizerSpec;
  /** Learning-rate schedule, stepped once per epoch. */
  schedule: LrSchedule;
  /** Training augmentation (`{}` for none). */
  augment: AugmentOptions;
  /** Seed of initialisation, shuffling and augmentation. */
  seed: number;
}

/**
 * A teacher: architecture, dataset and recipe.
 *
 * @example
 * ```ts
 * import { declareTeacher } from "./recipe.ts";
 * const t = declareTeacher("lenet5", "mnist");
 * console.log(t.recipe.optimizer); // { name: "adam", lr: 0.001 }
 * ```
 */
export interface TeacherDeclaration {
  /** Architecture registry name. */
  arch: string;
  /** Dataset registry name. */
  dataset: string;
  /** The complete recipe. */
  recipe: TeacherRecipe;
}

/** Where a default recipe comes from (shown by `teacher train --help` and the README). */
export interface RecipeSource {
  /** The recipe. */
  recipe: TeacherRecipe;
  /** The public code it follows, and what was adapted. */
  source: string;
}

const CIFAR_AUGMENT: AugmentOptions = { crop: { size: 32, padding: 4 }, flip: true };

/**
 * The default recipe for `arch` on `dataset`, with where it comes from:
 *
 * - MNIST (DAFL `teacher-train.py`: Adam lr 1e-3): DAFL trains 9 epochs
 *   of batch 256 over 60,000 digits without augmentation; on the embedded
 *   8,000-digit split that plateaus near 96.9% test accuracy, so the default
 *   is batch 64, 20 epochs, cosine decay and random crop 32 with padding 2
 *   (98% in about 1.5 CPU minutes on wasm).
 * - CIFAR ResNets (DAFL `teacher-train.py`, used by PRE-DFKD): SGD lr 0.1,
 *   momentum 0.9, weight decay 5e-4, batch 128, 200 epochs, x0.1 at epochs
 *   80 and 120, random crop 32 (padding 4) and flip.
 * - CIFAR WRN / VGG / MobileNetV2 (CMI / DataFree `train_scratch.py`): SGD lr
 *   0.1, momentum 0.9, weight decay 1e-4, batch 256, 200 epochs, x0.1 at 120,
 *   150, 180, same augmentation.
 * - Tiny-ImageNet: the CIFAR ResNet recipe with cosine annealing over 200
 *   epochs and random crop 64 (padding 8) + flip (no public DFKD teacher
 *   script fixes these; declared as our choice).
 *
 * @example
 * ```ts
 * import { defaultRecipe } from "./recipe.ts";
 * console.log(defaultRecipe("resnet34", "cifar10").recipe.schedule);
 * ```
 */
export function defaultRecipe(arch: string, dataset: string): RecipeSource {
  if (dataset === "mnist") {
    return {
      recipe: {
        epochs: 20,
        batchSize: 64,
        optimizer: { name: "adam", lr: 1e-3 },
        schedule: { type: "cosine", tMax: 20 },
        augment: { crop: { size: 32, padding: 2 } },
        seed: 0,
      },
      source:
        "DAFL teacher-train.py (MNIST): Adam lr 1e-3; adapted to the 8,000-digit split with batch 64, 20 epochs, cosine decay and random crop 32 pad 2 (DAFL's batch 256 without augmentation plateaus near 96.9% on 8,000 digits)",
    };
  }
  if (dataset === "tiny-imagenet") {
    return {
      recipe: {
        epochs: 200,
        batchSize: 128,
        optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
        schedule: { type: "cosine", tMax: 200 },
        augment: { crop: { size: 64, padding: 8 }, flip: true },
        seed: 0,
      },
      source:
        "our choice (no public DFKD teacher script for Tiny-ImageNet): the DAFL CIFAR recipe with cosine annealing, crop 64 pad 8 + flip",
    };
  }
  if (arch.startsWith("resnet")) {
    return {
      recipe: {
        epochs: 200,
        batchSize: 128,
        optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
        schedule: { type: "step", milestones: [80, 120], gamma: 0.1 },
        augment: CIFAR_AUGMENT,
        seed: 0,
      },
      source:
        "DAFL teacher-train.py (CIFAR ResNet-34): SGD 0.1/0.9/5e-4, batch 128, x0.1 at 80, 120",
    };
  }
  return {
    recipe: {
      epochs: 200,
      batchSize: 256,
      optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
      schedule: { type: "step", milestones: [120, 150, 180], gamma: 0.1 },
      augment: CIFAR_AUGMENT,
      seed: 0,
    },
    source: "CMI / DataFree train_scratch.py: SGD 0.1/0.9/1e-4, batch 256, x0.1 at 120, 150, 180",
  };
}

const RECIPE_KEYS = ["epochs", "batchSize", "optimizer", "schedule", "augment", "seed"] as const;

type Obj = Record<string, unknown>;

/** A value for an error message: its JSON, cut to 60 characters (a whole pasted file is not echoed). */
function shortJson(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}... (${text.length} characters)` : text;
}

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(where: string, field: string, message: string): never {
  throw new UserError(`${where}: recipe.${field}: ${message}`, 2);
}

function checkKeys(o: Obj, allowed: readonly string[], where: string, field: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      fail(
        where,
        field === "" ? k : `${field}.${k}`,
        `unknown field; expected one of ${allowed.join(", ")}`,
      );
    }
  }
}

function positiveInt(v: unknown, where: string, field: string, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    fail(where, field, `must be a whole number of at least ${min} (got ${shortJson(v)})`);
  }
  return v;
}

function nonNegative(v: unknown, where: string, field: string, positive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    fail(
      where,
      field,
      `must be a ${positive ? "positive" : "non-negative"} number (got ${shortJson(v)})`,
    );
  }
  return v;
}

function mergeTagged(base: Obj, override: unknown, tag: string, where: string, field: string): Obj {
  if (!isObject(override)) {
    fail(where, field, `must be an object (got ${shortJson(override)})`);
  }
  // Same kind (or kind omitted): override the given settings; another kind replaces the whole.
  if (override[tag] === undefined || override[tag] === base[tag]) return { ...base, ...override };
  return { ...override };
}

function checkOptimizer(o: Obj, where: string): OptimizerSpec {
  const f = "optimizer";
  if (o.name === "sgd") {
    checkKeys(o, ["name", "lr", "momentum", "weightDecay"], where, f);
    const spec: OptimizerSpec = { name: "sgd", lr: nonNegative(o.lr, where, `${f}.lr`, true) };
    if (o.momentum !== undefined) spec.momentum = nonNegative(o.momentum, where, `${f}.momentum`);
    if (o.weightDecay !== undefined) {
      spec.weightDecay = nonNegative(o.weightDecay, where, `${f}.weightDecay`);
    }
    return spec;
  }
  if (o.name === "adam") {
    checkKeys(o, ["name", "lr", "beta1", "beta2", "eps", "weightDecay"], where, f);
    const spec: OptimizerSpec = { name: "adam", lr: nonNegative(o.lr, where, `${f}.lr`, true) };
    for (const k of ["beta1", "beta2", "eps", "weightDecay"] as const) {
      if (o[k] !== undefined) spec[k] = nonNegative(o[k], where, `${f}.${k}`);
    }
    return spec;
  }
  return fail(where, `${f}.name`, `must be "sgd" or "adam" (got ${shortJson(o.name)})`);
}

function checkSchedule(o: Obj, epochs: number, where: string): LrSchedule {
  const f = "schedule";
  switch (o.type) {
    case "constant":
      checkKeys(o, ["type"], where, f);
      return { type: "constant" };
    case "step": {
      checkKeys(o, ["type", "milestones", "gamma"], where, f);
      const ms = o.milestones;
      if (!Array.isArray(ms) || ms.some((m) => !Number.isInteger(m) || m < 1)) {
        fail(where, `${f}.milestones`, `must be a list of epochs (got ${shortJson(ms)})`);
      }
      const milestones = [...(ms as number[])].sort((a, b) => a - b);
      return { type: "step", milestones, gamma: nonNegative(o.gamma, where, `${f}.gamma`, true) };
    }
    case "cosine": {
      checkKeys(o, ["type", "tMax", "etaMin"], where, f);
      const tMax = o.tMax === undefined ? epochs : positiveInt(o.tMax, where, `${f}.tMax`);
      const s: LrSchedule = { type: "cosine", tMax };
      if (o.etaMin !== undefined) s.etaMin = nonNegative(o.etaMin, where, `${f}.etaMin`);
      return s;
    }
    default:
      return fail(
        where,
        `${f}.type`,
        `must be "constant", "step" or "cosine" (got ${shortJson(o.type)})`,
      );
  }
}

function checkAugment(o: unknown, imageShape: readonly number[], where: string): AugmentOptions {
  if (!isObject(o)) fail(where, "augment", `must be an object (got ${shortJson(o)})`);
  checkKeys(o, ["crop", "flip"], where, "augment");
  const out: AugmentOptions = {};
  if (o.crop !== undefined && o.crop !== null) {
    if (!isObject(o.crop)) fail(where, "augment.crop", "must be { size, padding }");
    checkKeys(o.crop, ["size", "padding"], where, "augment.crop");
    const size = positiveInt(o.crop.size, where, "augment.crop.size");
    const padding = positiveInt(o.crop.padding, where, "augment.crop.padding", 0);
    if (size !== imageShape[0] || size !== imageShape[1]) {
      fail(
        where,
        "augment.crop.size",
        `must equal the image size ${imageShape[0]}x${imageShape[1]} (got ${size})`,
      );
    }
    out.crop = { size, padding };
  }
  if (o.flip !== undefined) {
    if (typeof o.flip !== "boolean") fail(where, "augment.flip", "must be true or false");
    out.flip = o.flip;
  }
  return out;
}

/**
 * The complete declaration of a teacher: `arch` on `dataset` with the
 * default recipe, overridden field by field by `overrides` (as written in a
 * benchmark file: `{ "epochs": 30, "optimizer": { "lr": 0.05 } }`; giving
 * another optimiser `name` or schedule `type` replaces that part whole;
 * `augment` merges too, with `"crop": null` removing the crop).
 * Unknown names, unknown fields and bad values are `UserError`s naming the
 * field, prefixed with `where` (e.g. the benchmark file).
 *
 * @example
 * ```ts
 * import { declareTeacher } from "./recipe.ts";
 * const t = declareTeacher("resnet34", "cifar10", { epochs: 30, schedule: { type: "cosine" } });
 * console.log(t.recipe.schedule); // { type: "cosine", tMax: 30 }
 * ```
 */
export function declareTeacher(
  arch: string,
  dataset: string,
  overrides: Record<string, unknown> = {},
  where = "teacher",
): TeacherDeclaration {
  const spec = getArchitecture(arch);
  const data = getDataset(dataset);
  const problem = spec.checkInput(data.imageShape);
  if (problem !== undefined) {
    throw new UserError(`${where}: ${arch} cannot take ${dataset} images: ${problem}`, 2);
  }
  if (!isObject(overrides)) {
    throw new UserError(`${where}: recipe must be an object (got ${shortJson(overrides)})`, 2);
  }
  checkKeys(overrides, RECIPE_KEYS, where, "");
  const base = defaultRecipe(arch, dataset).recipe;
  const epochs = positiveInt(overrides.epochs ?? base.epochs, where, "epochs");
  const optimizer = checkOptimizer(
    overrides.optimizer === undefined
      ? { ...base.optimizer }
      : mergeTagged({ ...base.optimizer }, overrides.optimizer, "name", where, "optimizer"),
    where,
  );
  // A default cosine schedule follows the epochs; an explicit tMax is kept.
  const baseSchedule: Obj = base.schedule.type === "cosine"
    ? { type: "cosine" }
    : { ...base.schedule };
  const schedule = checkSchedule(
    overrides.schedule === undefined
      ? baseSchedule
      : mergeTagged(baseSchedule, overrides.schedule, "type", where, "schedule"),
    epochs,
    where,
  );
  const recipe: TeacherRecipe = {
    epochs,
    batchSize: positiveInt(overrides.batchSize ?? base.batchSize, where, "batchSize"),
    optimizer,
    schedule,
    augment: checkAugment(
      overrides.augment === undefined
        ? base.augment
        : isObject(overrides.augment)
        ? { ...base.augment, ...overrides.augment }
        : overrides.augment,
      data.imageShape,
      where,
    ),
    seed: positiveInt(overrides.seed ?? base.seed, where, "seed", 0),
  };
  return { arch, dataset, recipe };
}
