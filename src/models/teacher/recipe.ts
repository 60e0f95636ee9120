/**
 * Teacher declarations: architecture, dataset and training recipe, with
 * defaults from public DFKD teacher-training code, and the checks that turn
 * a benchmark file's overrides into a complete, valid recipe.
 *
 * @module
 */
import type { AugmentOptions } from "../../data/batches.ts";
import type { RecipeSource, TeacherRecipe } from "../../data/teacher_recipe.ts";
import { getDataset } from "../../data/registry.ts";
import { UserError } from "../../util/errors.ts";
import type { LrSchedule } from "../../util/lr_schedule.ts";
import type { OptimizerSpec } from "../../util/optim.ts";
import { getArchitecture } from "../registry.ts";

export type { RecipeSource, TeacherRecipe };

/**
 * A teacher: architecture, dataset and recipe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declareTeacher } from "./recipe.ts";
 * const t = declareTeacher("lenet5", "mnist");
 * assert.deepEqual(t.recipe.optimizer, { name: "adam", lr: 0.001 });
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

/**
 * The default recipe for `arch` on `dataset`, with where it comes from: the
 * dataset's own (`teacherRecipe` of its spec in `src/data/`: MNIST,
 * Tiny-ImageNet), else the architecture's (`teacherRecipe` of its spec in
 * `src/models/`, for datasets without their own: the CIFAR ones). A
 * combination with neither is a `UserError` (exit 2), never a guess.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRecipe } from "./recipe.ts";
 * assert.deepEqual(defaultRecipe("resnet34", "cifar10").recipe.schedule, {
 *   type: "step",
 *   milestones: [80, 120],
 *   gamma: 0.1,
 * });
 * assert.equal(defaultRecipe("lenet5", "mnist").recipe.optimizer.name, "adam");
 * ```
 */
export function defaultRecipe(arch: string, dataset: string): RecipeSource {
  const recipe = getDataset(dataset).teacherRecipe ?? getArchitecture(arch).teacherRecipe;
  if (recipe === undefined) {
    throw new UserError(
      `No default teacher recipe for ${arch} on ${dataset}: neither the dataset (src/data/) nor ` +
        `the architecture (src/models/) declares a teacherRecipe; add one, or load a trained ` +
        `teacher with "path"`,
    );
  }
  return recipe;
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

/** A bad recipe field, thrown inside this module and returned by {@linkcode recipeProblem}. */
class RecipeProblem extends Error {}

function fail(field: string, message: string): never {
  throw new RecipeProblem(`recipe.${field}: ${message}`);
}

function checkKeys(o: Obj, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      fail(
        field === "" ? k : `${field}.${k}`,
        `unknown field; expected one of ${allowed.join(", ")}`,
      );
    }
  }
}

function positiveInt(v: unknown, field: string, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    fail(field, `must be a whole number of at least ${min} (got ${shortJson(v)})`);
  }
  return v;
}

function nonNegative(v: unknown, field: string, positive = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    fail(
      field,
      `must be a ${positive ? "positive" : "non-negative"} number (got ${shortJson(v)})`,
    );
  }
  return v;
}

function mergeTagged(base: Obj, override: unknown, tag: string, field: string): Obj {
  if (!isObject(override)) {
    fail(field, `must be an object (got ${shortJson(override)})`);
  }
  // Same kind (or kind omitted): override the given settings; another kind replaces the whole.
  if (override[tag] === undefined || override[tag] === base[tag]) return { ...base, ...override };
  return { ...override };
}

function checkOptimizer(o: Obj): OptimizerSpec {
  const f = "optimizer";
  if (o.name === "sgd") {
    checkKeys(o, ["name", "lr", "momentum", "weightDecay"], f);
    const spec: OptimizerSpec = { name: "sgd", lr: nonNegative(o.lr, `${f}.lr`, true) };
    if (o.momentum !== undefined) spec.momentum = nonNegative(o.momentum, `${f}.momentum`);
    if (o.weightDecay !== undefined) {
      spec.weightDecay = nonNegative(o.weightDecay, `${f}.weightDecay`);
    }
    return spec;
  }
  if (o.name === "adam") {
    checkKeys(o, ["name", "lr", "beta1", "beta2", "eps", "weightDecay"], f);
    const spec: OptimizerSpec = { name: "adam", lr: nonNegative(o.lr, `${f}.lr`, true) };
    for (const k of ["beta1", "beta2", "eps", "weightDecay"] as const) {
      if (o[k] !== undefined) spec[k] = nonNegative(o[k], `${f}.${k}`);
    }
    return spec;
  }
  return fail(`${f}.name`, `must be "sgd" or "adam" (got ${shortJson(o.name)})`);
}

function checkSchedule(o: Obj, epochs: number): LrSchedule {
  const f = "schedule";
  switch (o.type) {
    case "constant":
      checkKeys(o, ["type"], f);
      return { type: "constant" };
    case "step": {
      checkKeys(o, ["type", "milestones", "gamma"], f);
      const ms = o.milestones;
      if (!Array.isArray(ms) || ms.some((m) => !Number.isInteger(m) || m < 1)) {
        fail(`${f}.milestones`, `must be a list of epochs (got ${shortJson(ms)})`);
      }
      const milestones = [...(ms as number[])].sort((a, b) => a - b);
      return { type: "step", milestones, gamma: nonNegative(o.gamma, `${f}.gamma`, true) };
    }
    case "cosine": {
      checkKeys(o, ["type", "tMax", "etaMin"], f);
      const tMax = o.tMax === undefined ? epochs : positiveInt(o.tMax, `${f}.tMax`);
      const s: LrSchedule = { type: "cosine", tMax };
      if (o.etaMin !== undefined) s.etaMin = nonNegative(o.etaMin, `${f}.etaMin`);
      return s;
    }
    default:
      return fail(
        `${f}.type`,
        `must be "constant", "step" or "cosine" (got ${shortJson(o.type)})`,
      );
  }
}

function checkAugment(o: unknown, imageShape: readonly number[]): AugmentOptions {
  if (!isObject(o)) fail("augment", `must be an object (got ${shortJson(o)})`);
  checkKeys(o, ["crop", "flip"], "augment");
  const out: AugmentOptions = {};
  if (o.crop !== undefined && o.crop !== null) {
    if (!isObject(o.crop)) fail("augment.crop", "must be { size, padding }");
    checkKeys(o.crop, ["size", "padding"], "augment.crop");
    const size = positiveInt(o.crop.size, "augment.crop.size");
    const padding = positiveInt(o.crop.padding, "augment.crop.padding", 0);
    if (size !== imageShape[0] || size !== imageShape[1]) {
      fail(
        "augment.crop.size",
        `must equal the image size ${imageShape[0]}x${imageShape[1]} (got ${size})`,
      );
    }
    out.crop = { size, padding };
  }
  if (o.flip !== undefined) {
    if (typeof o.flip !== "boolean") fail("augment.flip", "must be true or false");
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
 * import assert from "node:assert/strict";
 * import { declareTeacher } from "./recipe.ts";
 * const t = declareTeacher("resnet34", "cifar10", { epochs: 30, schedule: { type: "cosine" } });
 * assert.deepEqual(t.recipe.schedule, { type: "cosine", tMax: 30 });
 * ```
 */
export function declareTeacher(
  arch: string,
  dataset: string,
  overrides: Record<string, unknown> = {},
  where = "teacher",
): TeacherDeclaration {
  const resolved = resolveTeacher(arch, dataset, overrides);
  if ("problem" in resolved) throw new UserError(`${where}: ${resolved.problem}`);
  return resolved.declaration;
}

/**
 * What is wrong with declaring `arch` on `dataset` with `overrides`
 * (`recipe.<field>: what is wrong`, or why the architecture cannot take the
 * dataset), or undefined when {@linkcode declareTeacher} would accept it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recipeProblem } from "./recipe.ts";
 * assert.equal(recipeProblem("lenet5", "mnist", { epochs: 5 }), undefined);
 * assert.equal(recipeProblem("lenet5", "mnist", { epochs: 0 }), "recipe.epochs: must be a whole number of at least 1 (got 0)");
 * ```
 */
export function recipeProblem(
  arch: string,
  dataset: string,
  overrides: Record<string, unknown> = {},
): string | undefined {
  const resolved = resolveTeacher(arch, dataset, overrides);
  return "problem" in resolved ? resolved.problem : undefined;
}

function resolveTeacher(
  arch: string,
  dataset: string,
  overrides: Record<string, unknown>,
): { declaration: TeacherDeclaration } | { problem: string } {
  const spec = getArchitecture(arch);
  const data = getDataset(dataset);
  const problem = spec.checkInput(data.imageShape);
  if (problem !== undefined) {
    return { problem: `${arch} cannot take ${dataset} images: ${problem}` };
  }
  if (!isObject(overrides)) {
    return { problem: `recipe must be an object (got ${shortJson(overrides)})` };
  }
  try {
    return { declaration: { arch, dataset, recipe: mergeRecipe(arch, dataset, overrides) } };
  } catch (error) {
    if (error instanceof RecipeProblem) return { problem: error.message };
    throw error;
  }
}

/** The default recipe of `arch` on `dataset` overridden by `overrides`, checked. */
function mergeRecipe(arch: string, dataset: string, overrides: Obj): TeacherRecipe {
  const data = getDataset(dataset);
  checkKeys(overrides, RECIPE_KEYS, "");
  const base = defaultRecipe(arch, dataset).recipe;
  const epochs = positiveInt(overrides.epochs ?? base.epochs, "epochs");
  const optimizer = checkOptimizer(
    overrides.optimizer === undefined
      ? { ...base.optimizer }
      : mergeTagged({ ...base.optimizer }, overrides.optimizer, "name", "optimizer"),
  );
  // A default cosine schedule follows the epochs; an explicit tMax is kept.
  const baseSchedule: Obj = base.schedule.type === "cosine"
    ? { type: "cosine" }
    : { ...base.schedule };
  const schedule = checkSchedule(
    overrides.schedule === undefined
      ? baseSchedule
      : mergeTagged(baseSchedule, overrides.schedule, "type", "schedule"),
    epochs,
  );
  const recipe: TeacherRecipe = {
    epochs,
    batchSize: positiveInt(overrides.batchSize ?? base.batchSize, "batchSize"),
    optimizer,
    schedule,
    augment: checkAugment(
      overrides.augment === undefined
        ? base.augment
        : isObject(overrides.augment)
        ? { ...base.augment, ...overrides.augment }
        : overrides.augment,
      data.imageShape,
    ),
    seed: positiveInt(overrides.seed ?? base.seed, "seed", 0),
  };
  return recipe;
}
