/**
 * `deno task dfkd teacher <train|recipe|list|eval|import>`: train teachers
 * into the cache by recipe, show recipes, list the cache, check a teacher
 * file, and import a PyTorch checkpoint.
 *
 * @module
 */
import { type BackendRequest, initBackend } from "../backends/init_backend.ts";
import { resolveDataRoot } from "../data/data_root.ts";
import { getDataset } from "../data/registry.ts";
import { evaluateAccuracy } from "../models/evaluate.ts";
import { ARCHITECTURES, getArchitecture } from "../models/registry.ts";
import {
  listCachedTeachers,
  obtainTeacher,
  resolveTeacherCacheDir,
  teacherKey,
} from "../models/teacher/cache.ts";
import { loadTeacherFromPath, teacherFileHash } from "../models/teacher/load.ts";
import { declareTeacher, defaultRecipe } from "../models/teacher/recipe.ts";
import { listPytorchTeachers, obtainPytorchTeacher } from "../models/pytorch/cache.ts";
import { saveClassifier } from "../models/io.ts";
import type { Dataset } from "../data/dataset.ts";
import { UserError } from "../util/errors.ts";
import { lineLogger } from "../util/logger.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";
import { formatTable } from "./table.ts";

const USAGE = [
  "teacher train <arch> <dataset> [recipe options] [--force] [--eval-every N]",
  "                      [--data-root D] [--cache-dir D] [--backend B] [--json]",
  "       teacher recipe <arch> <dataset> [recipe options] [--json]",
  "       teacher list [--cache-dir D] [--json]",
  "       teacher eval <model.json or folder> <dataset> [--data-root D] [--backend B] [--json]",
  "       teacher import <checkpoint.pth|.pt|.safetensors> --arch A --dataset D [--out DIR]",
  "                      [--data-root D] [--cache-dir D] [--backend B] [--json]",
  "",
  "Recipe options (override the default recipe; `teacher recipe` shows the result and its source):",
  "  --epochs N  --batch-size N  --seed N",
  "  --optimizer sgd|adam  --lr X  --momentum X  --weight-decay X",
  "  --schedule constant|step|cosine  --milestones 80,120  --gamma X",
  "  --crop PADDING|none  --flip on|off  --recipe JSON (a recipe object, applied first)",
  "The cache is --cache-dir, else $DFKD_TEACHERS, else ~/.cache/dfkd-bench/teachers.",
  `Architectures: ${Object.keys(ARCHITECTURES).join(", ")}`,
].join("\n");

const RECIPE_OPTIONS = {
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  seed: { type: "string" },
  optimizer: { type: "string" },
  lr: { type: "string" },
  momentum: { type: "string" },
  "weight-decay": { type: "string" },
  schedule: { type: "string" },
  milestones: { type: "string" },
  gamma: { type: "string" },
  crop: { type: "string" },
  flip: { type: "string" },
  recipe: { type: "string" },
  json: { type: "boolean" },
} as const;

function usageError(message: string): never {
  throw new UserError(`${message}\nUsage: deno task dfkd ${USAGE}`);
}

function numberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new UserError(`${flag} must be a number (got ${JSON.stringify(value)})`);
  }
  return n;
}

type RecipeValues = { [K in keyof typeof RECIPE_OPTIONS]?: string | boolean };

/** The recipe overrides the flags describe (validated later by `declareTeacher`). */
function recipeOverrides(values: RecipeValues): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  if (typeof values.recipe === "string") {
    try {
      base = JSON.parse(values.recipe);
    } catch (error) {
      throw new UserError(`--recipe is not valid JSON (${(error as Error).message})`);
    }
    if (typeof base !== "object" || base === null || Array.isArray(base)) {
      throw new UserError(`--recipe must be a JSON object (got ${values.recipe})`);
    }
  }
  const str = (k: keyof RecipeValues) => typeof values[k] === "string" ? values[k] : undefined;
  const out: Record<string, unknown> = { ...base };
  const epochs = parseIntFlag("--epochs", str("epochs"), 1);
  if (epochs !== undefined) out.epochs = epochs;
  const batch = parseIntFlag("--batch-size", str("batch-size"), 1);
  if (batch !== undefined) out.batchSize = batch;
  const seed = parseIntFlag("--seed", str("seed"), 0);
  if (seed !== undefined) out.seed = seed;
  const optimizer: Record<string, unknown> = { ...(out.optimizer as object ?? {}) };
  if (str("optimizer") !== undefined) optimizer.name = str("optimizer");
  const lr = numberFlag("--lr", str("lr"));
  if (lr !== undefined) optimizer.lr = lr;
  const momentum = numberFlag("--momentum", str("momentum"));
  if (momentum !== undefined) optimizer.momentum = momentum;
  const wd = numberFlag("--weight-decay", str("weight-decay"));
  if (wd !== undefined) optimizer.weightDecay = wd;
  if (Object.keys(optimizer).length > 0) out.optimizer = optimizer;
  const schedule: Record<string, unknown> = { ...(out.schedule as object ?? {}) };
  if (str("schedule") !== undefined) schedule.type = str("schedule");
  const milestones = str("milestones");
  if (milestones !== undefined) {
    schedule.milestones = milestones.split(",").map((m) => {
      const n = parseIntFlag("--milestones", m.trim(), 1);
      return n as number;
    });
  }
  const gamma = numberFlag("--gamma", str("gamma"));
  if (gamma !== undefined) schedule.gamma = gamma;
  if (Object.keys(schedule).length > 0) out.schedule = schedule;
  const augment: Record<string, unknown> = { ...(out.augment as object ?? {}) };
  let touched = false;
  const crop = str("crop");
  if (crop !== undefined) {
    touched = true;
    if (crop === "none") augment.crop = null;
    else augment.crop = { padding: parseIntFlag("--crop", crop, 0) };
  }
  const flip = str("flip");
  if (flip !== undefined) {
    touched = true;
    if (flip !== "on" && flip !== "off") {
      throw new UserError(`--flip must be on or off (got ${JSON.stringify(flip)})`);
    }
    augment.flip = flip === "on";
  }
  if (touched) out.augment = augment;
  return out;
}

function declare(positionals: string[], values: RecipeValues, verb: string) {
  const [arch, dataset, ...extra] = positionals;
  if (arch === undefined || dataset === undefined || extra.length > 0) {
    usageError(`teacher ${verb} needs an architecture and a dataset`);
  }
  const overrides = recipeOverrides(values);
  // `--crop P` keeps the image size as the crop size.
  const augment = overrides.augment as
    | { crop?: { size?: number; padding: number } | null }
    | undefined;
  if (augment?.crop != null && augment.crop.size === undefined) {
    augment.crop.size = getDataset(dataset).imageShape[0];
  }
  return declareTeacher(arch, dataset, overrides, `teacher ${verb}`);
}

async function trainVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    ...RECIPE_OPTIONS,
    force: { type: "boolean" },
    "eval-every": { type: "string" },
    "data-root": { type: "string" },
    "cache-dir": { type: "string" },
    backend: { type: "string", default: "auto" },
  }, USAGE);
  const declaration = declare(positionals, values, "train");
  const backend = await initBackend((values.backend ?? "auto") as BackendRequest);
  const log = lineLogger();
  const evalEvery = parseIntFlag("--eval-every", values["eval-every"], 0);
  const teacher = await obtainTeacher(declaration, {
    dataRoot: resolveDataRoot(values["data-root"]),
    cacheDir: resolveTeacherCacheDir(values["cache-dir"]),
    log,
    backend,
    force: values.force ?? false,
    ...(evalEvery === undefined ? {} : { evalEvery }),
  });
  teacher.classifier.model.dispose();
  const summary = {
    arch: declaration.arch,
    dataset: declaration.dataset,
    hash: teacher.hash,
    path: teacher.path,
    trained: teacher.trained,
    testAccuracy: teacher.testAccuracy,
    wallSeconds: teacher.meta.wallSeconds,
    recipe: declaration.recipe,
  };
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(
      `${declaration.arch} on ${declaration.dataset}: test accuracy ${
        (100 * teacher.testAccuracy).toFixed(2)
      }% (${teacher.trained ? `trained in ${teacher.meta.wallSeconds.toFixed(1)} s` : "cached"})`,
    );
    console.log(`Stored in ${teacher.path}`);
  }
  return 0;
}

async function recipeVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, RECIPE_OPTIONS, USAGE);
  const declaration = declare(positionals, values, "recipe");
  const key = await teacherKey(declaration);
  const { source } = defaultRecipe(declaration.arch, declaration.dataset);
  if (values.json) {
    console.log(JSON.stringify({ ...declaration, hash: key.hash, defaultsFrom: source }, null, 2));
  } else {
    console.log(`${declaration.arch} on ${declaration.dataset} (hash ${key.id})`);
    console.log(JSON.stringify(declaration.recipe, null, 2));
    console.log(`Defaults: ${source}`);
  }
  return 0;
}

async function listVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "cache-dir": { type: "string" },
    json: { type: "boolean" },
  }, USAGE);
  if (positionals.length > 0) usageError("teacher list takes no arguments");
  const cacheDir = resolveTeacherCacheDir(values["cache-dir"]);
  const entries = await listCachedTeachers(cacheDir);
  const imported = await listPytorchTeachers(cacheDir);
  if (values.json) {
    const trained: Record<string, unknown>[] = entries.map(({ path, meta }) => ({
      path,
      hash: meta.hash,
      arch: meta.declaration.arch,
      dataset: meta.declaration.dataset,
      testAccuracy: meta.testAccuracy,
      wallSeconds: meta.wallSeconds,
      trainedAt: meta.trainedAt,
      recipe: meta.declaration.recipe,
    }));
    const fromPytorch = imported.map(({ path, meta }) => ({
      path,
      hash: meta.hash,
      arch: meta.arch,
      dataset: meta.dataset,
      testAccuracy: meta.testAccuracy,
      source: meta.source,
      importedAt: meta.importedAt,
    }));
    console.log(JSON.stringify([...trained, ...fromPytorch], null, 2));
    return 0;
  }
  if (imported.length > 0) {
    const rows = [[
      "id",
      "architecture",
      "dataset",
      "test acc",
      "checkpoint",
      "sha256",
      "imported",
    ]];
    for (const { path, meta } of imported) {
      rows.push([
        path.slice(path.lastIndexOf("/") + 1),
        meta.arch,
        meta.dataset,
        meta.testAccuracy === null ? "–" : `${(100 * meta.testAccuracy).toFixed(2)}%`,
        meta.source.file,
        meta.source.sha256.slice(0, 16),
        meta.importedAt,
      ]);
    }
    console.log("Imported PyTorch teachers:");
    console.log(formatTable(rows, [3]));
    if (entries.length > 0) console.log("");
  }
  if (entries.length === 0 && imported.length > 0) {
    console.log(`\nCache: ${cacheDir}`);
    return 0;
  }
  if (entries.length === 0) {
    console.log(`No teachers in ${cacheDir}`);
    return 0;
  }
  const rows = [["id", "architecture", "dataset", "epochs", "test acc", "time", "trained"]];
  for (const { path, meta } of entries) {
    rows.push([
      path.slice(path.lastIndexOf("/") + 1),
      meta.declaration.arch,
      meta.declaration.dataset,
      String(meta.declaration.recipe.epochs),
      `${(100 * meta.testAccuracy).toFixed(2)}%`,
      `${meta.wallSeconds.toFixed(0)} s`,
      meta.trainedAt,
    ]);
  }
  console.log(formatTable(rows, [3, 4, 5]));
  console.log(`\nCache: ${cacheDir}`);
  return 0;
}

async function evalVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "data-root": { type: "string" },
    backend: { type: "string", default: "auto" },
    json: { type: "boolean" },
  }, USAGE);
  const [path, dataset, ...extra] = positionals;
  if (path === undefined || dataset === undefined || extra.length > 0) {
    usageError("teacher eval needs a model path and a dataset");
  }
  const spec = getDataset(dataset);
  await initBackend((values.backend ?? "auto") as BackendRequest);
  const teacher = await loadTeacherFromPath(path, {
    inputShape: spec.imageShape,
    classes: spec.classes,
  });
  try {
    const data = await spec.load({
      dataRoot: resolveDataRoot(values["data-root"]),
      log: lineLogger(),
    });
    const accuracy = await evaluateAccuracy(teacher, data.test, {
      imageShape: data.imageShape,
      normalisation: data.normalisation,
    });
    const hash = await teacherFileHash(path);
    if (values.json) {
      console.log(
        JSON.stringify({ path, dataset, arch: teacher.arch, hash, testAccuracy: accuracy }),
      );
    } else {
      console.log(
        `${path} (${teacher.arch}) on ${dataset}: test accuracy ${(100 * accuracy).toFixed(2)}%`,
      );
    }
  } finally {
    teacher.model.dispose();
  }
  return 0;
}

async function importVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    arch: { type: "string" },
    dataset: { type: "string" },
    out: { type: "string" },
    "data-root": { type: "string" },
    "cache-dir": { type: "string" },
    backend: { type: "string", default: "auto" },
    json: { type: "boolean" },
  }, USAGE);
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    usageError("teacher import needs one checkpoint file");
  }
  if (values.arch === undefined) usageError("teacher import needs --arch (the zoo architecture)");
  if (values.dataset === undefined) usageError("teacher import needs --dataset");
  const arch = getArchitecture(values.arch).name;
  const spec = getDataset(values.dataset);
  await initBackend((values.backend ?? "auto") as BackendRequest);
  const log = lineLogger();
  let data: Dataset | undefined;
  let notEvaluated: string | undefined;
  try {
    data = await spec.load({ dataRoot: resolveDataRoot(values["data-root"]), log });
  } catch (error) {
    if (!(error instanceof UserError) || error.exitCode === 2) throw error;
    notEvaluated = error.message;
  }
  const teacher = await obtainPytorchTeacher(file, {
    arch,
    dataset: spec.name,
    cacheDir: resolveTeacherCacheDir(values["cache-dir"]),
    log,
    ...(data === undefined ? {} : { data }),
  });
  try {
    if (values.out !== undefined) {
      await saveClassifier(teacher.classifier, values.out);
      await Deno.writeTextFile(
        `${values.out}/meta.json`,
        JSON.stringify(teacher.meta, null, 2) + "\n",
      );
    }
  } finally {
    teacher.classifier.model.dispose();
  }
  const { meta } = teacher;
  if (values.json) {
    console.log(JSON.stringify({ ...meta, path: teacher.path, out: values.out ?? null }, null, 2));
    return 0;
  }
  const accuracy = meta.testAccuracy === null
    ? `not evaluated (${notEvaluated ?? "no test split"})`
    : `test accuracy ${(100 * meta.testAccuracy).toFixed(2)}% on ${meta.testSize} images`;
  console.log(`${meta.source.file} sha256 ${meta.source.sha256}`);
  console.log(
    `${arch} on ${spec.name} (${meta.source.format}, ${meta.source.container}): ${accuracy}`,
  );
  console.log(`${teacher.converted ? "Converted into" : "Already in the cache:"} ${teacher.path}`);
  if (values.out !== undefined) console.log(`Copied to ${values.out}`);
  return 0;
}

/**
 * Trains, shows, lists and checks teachers.
 *
 * @example
 * ```ts
 * import { teacherCommand } from "./teacher.ts";
 * await teacherCommand.run(["recipe", "lenet5", "mnist"]);
 * ```
 */
export const teacherCommand: Command = {
  summary:
    "Train teachers by recipe into the cache, show recipes, list the cache, check a file, import a PyTorch checkpoint",
  usage: USAGE,
  run(args) {
    const [verb, ...rest] = args;
    switch (verb) {
      case "train":
        return trainVerb(rest);
      case "recipe":
        return recipeVerb(rest);
      case "list":
        return listVerb(rest);
      case "eval":
        return evalVerb(rest);
      case "import":
        return importVerb(rest);
      default:
        return Promise.reject(
          new UserError(
            `teacher needs a verb: train, recipe, list, eval or import${
              verb === undefined ? "" : ` (got ${JSON.stringify(verb)})`
            }\nUsage: deno task dfkd ${USAGE}`,
          ),
        );
    }
  },
};
