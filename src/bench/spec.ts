/**
 * Benchmark files (`benchmarks/*.json`): their validation schema, defaults,
 * error messages, and resolution into what the runner executes.
 *
 * The schema is built from a {@linkcode Catalogue} (the dataset, architecture
 * and method registries), so dataset and model names are checked and every
 * method's hyperparameter overrides are checked against the plug-in's own
 * `hyperparameters` table (unknown names and wrong types are errors). The
 * JSON Schema that editors use (`benchmarks/schema.json`) is generated from
 * the same schema ({@linkcode benchmarkJsonSchema}).
 *
 * @module
 */
import { z } from "zod";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { Budget, Hyperparameters, HyperSpec } from "../methods/method.ts";
import { resolveHyperparameters } from "../methods/hyper.ts";
import { FileReadError, READ_LIMITS, readBoundedText } from "../util/bounded_read.ts";
import { findDuplicateKey } from "../util/duplicate_keys.ts";
import { UserError } from "../util/errors.ts";
import { describeIssues, type FieldProblem } from "../util/zod_issues.ts";
import type { EvaluationSpec } from "../results/records.ts";

/** Tags a benchmark file may carry. */
export const KNOWN_TAGS = ["quick", "paper", "nightly", "smoke", "claim"] as const;

/** The methods a file runs when it names none: PRE-DFKD and both baselines. */
export const DEFAULT_METHODS = ["pre-dfkd", "no-replay", "memory-bank"] as const;

/**
 * Defaults of every optional field: the PRE-DFKD release's schedule (400
 * epochs of 36 iterations, batch 1024, 10 student steps per iteration), three
 * seeds, and regression tracking's thresholds: 1 accuracy point, 10% of wall
 * time, significance level 0.05.
 */
export const SPEC_DEFAULTS = {
  seeds: [0, 1, 2],
  budget: { epochs: 400, iterationsPerEpoch: 36, batchSize: 1024, studentStepsPerIteration: 10 },
  evaluation: { batchSize: 500 },
  regression: { minEffect: 1, minTimeEffect: 10, alpha: 0.05 },
} as const;

/**
 * The tiny budget of `--smoke` (the file's own `smoke` section overrides it):
 * enough to run every piece of a job once or twice, on the first seed only.
 */
export const SMOKE_DEFAULTS = {
  budget: { epochs: 2, iterationsPerEpoch: 2, batchSize: 16, studentStepsPerIteration: 2 },
  evaluation: { batchSize: 500, subset: 500 },
} as const;

/** A benchmark's `regression` section, resolved (what `compare` and `nightly` use by default). */
export interface RegressionSpec {
  /** Minimum accuracy effect, in accuracy points. */
  minEffect: number;
  /** Minimum wall-time effect, in percent of the baseline. */
  minTimeEffect: number;
  /** Significance level of the one-sided Welch test. */
  alpha: number;
}

/**
 * The largest seed (2^31 - 1), the same in a benchmark file's `seeds` and in
 * the `--seeds` flag.
 *
 * @example
 * ```ts
 * import { MAX_SEED } from "./spec.ts";
 * console.log(MAX_SEED); // 2147483647
 * ```
 */
export const MAX_SEED = 2 ** 31 - 1;

/** Limits that catch typos such as an extra zero too many. */
const LIMITS = {
  epochs: 100_000,
  iterationsPerEpoch: 100_000,
  batchSize: 65_536,
  studentStepsPerIteration: 10_000,
  seed: MAX_SEED,
  seeds: 1000,
  pairs: 100,
  subset: 10_000_000,
};

/** What the schema needs to know about one method plug-in. */
export interface MethodInfo {
  /** One line describing the method. */
  description: string;
  /** Every hyperparameter with its default, description and valid values. */
  hyperparameters: Readonly<Record<string, HyperSpec>>;
}

/**
 * The registries a benchmark file is checked against. The real one is built
 * from the dataset, model and method registries (`defaultCatalogue()` in
 * `default_toolkit.ts`); tests pass small ones.
 */
export interface Catalogue {
  /** Datasets by name, with their class count and image shape. */
  datasets: Record<
    string,
    { classes: number; imageShape: readonly [number, number, number]; description?: string }
  >;
  /** Architecture names of the model zoo. */
  architectures: readonly string[];
  /** Method plug-ins by name. */
  methods: Record<string, MethodInfo>;
  /**
   * Why an architecture cannot take a dataset's images (e.g. a size it does
   * not support), or `undefined` when it can.
   */
  architectureProblem?: (
    arch: string,
    imageShape: readonly [number, number, number],
  ) => string | undefined;
  /**
   * What is wrong with a teacher recipe's overrides, as `recipe.<field>: what
   * is wrong`, or `undefined` when they are valid.
   */
  recipeProblem?: (
    arch: string,
    dataset: string,
    recipe: Record<string, unknown>,
  ) => string | undefined;
}

/** A teacher declared by architecture and training recipe, or by a file. */
export type TeacherSpec =
  | {
    /** Trained by the project's recipe (cached by its hash). */
    kind: "recipe";
    /** Architecture. */
    arch: string;
    /** Recipe overrides (fields of the teacher recipe). */
    recipe: Record<string, unknown>;
  }
  | {
    /** Loaded from a saved model. */
    kind: "path";
    /** Absolute path (relative paths resolve against the benchmark file's folder). */
    path: string;
    /** Architecture, when the file states it. */
    arch?: string;
  }
  | {
    /** A PyTorch checkpoint, converted once into the teacher cache (keyed by its SHA-256). */
    kind: "pytorch";
    /** Absolute path of the checkpoint file. */
    file: string;
    /** The zoo architecture it was trained as. */
    arch: string;
  };

/** One teacher/student pair. */
export interface ResolvedPair {
  /** Pair id (from the file, or `<teacher>-<student>`). */
  id: string;
  /** The teacher. */
  teacher: TeacherSpec;
  /** Student architecture. */
  student: string;
}

/** One method entry with its resolved hyperparameters. */
export interface ResolvedMethod {
  /** Method name (the plug-in's registry name). */
  method: string;
  /** Every hyperparameter: the plug-in's defaults with the file's overrides. */
  hyper: Hyperparameters;
  /** Only what the file overrode (shared and per-method). */
  overrides: Hyperparameters;
}

/** A benchmark file with every default applied: what the runner executes. */
export interface ResolvedBenchmark {
  /** The file it came from (as given). */
  file: string;
  /** Benchmark name (the results folder's name). */
  name: string;
  /** Free text. */
  description: string;
  /** Dataset name. */
  dataset: string;
  /** Teacher/student pairs. */
  pairs: ResolvedPair[];
  /** Methods in file order. */
  methods: ResolvedMethod[];
  /** Seeds. */
  seeds: number[];
  /** The budget every method gets. */
  budget: Budget;
  /** Evaluation settings. */
  evaluation: EvaluationSpec;
  /** True when the budget or networks are scaled down from the paper's. */
  scaled: boolean;
  /** What is scaled (shown in every report), when `scaled`. */
  scaledLabel?: string;
  /** Tags. */
  tags: string[];
  /** Regression tracking settings. */
  regression: RegressionSpec;
  /** Checkpoint settings (used by resumable runs). */
  checkpoint: { everyEpochs?: number | undefined };
  /** True when `--smoke` replaced the budget. */
  smoke: boolean;
  /** The file as parsed, before defaults. */
  source: unknown;
}

const SLUG = /^[a-z0-9][a-z0-9._-]*$/;

/** Benchmark names that would collide with folders under results/ (history, trends, nightly). */
const RESERVED_NAMES: readonly string[] = ["history", "trends", "nightly"];
const slug = (what: string) =>
  z.string().max(80).regex(
    SLUG,
    `${what} must use lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`,
  );

const int = (min: number, max: number) => z.int().min(min).max(max);

function strict<T extends z.core.$ZodLooseShape>(shape: T, what = "field") {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown ${what}${known.length ? ` (expected one of: ${known.join(", ")})` : ""}`
        : undefined,
  });
}

/** One hyperparameter's schema, from its declaration: type, range or choices, description. */
function hyperValueSchema(spec: HyperSpec) {
  const def = spec.default;
  let base: z.ZodType;
  if (typeof def === "number") {
    let n = spec.integer ? z.int() : z.number();
    if (spec.min !== undefined) n = spec.exclusiveMin ? n.gt(spec.min) : n.min(spec.min);
    if (spec.max !== undefined) n = n.max(spec.max);
    base = n;
  } else if (typeof def === "string") {
    base = spec.choices !== undefined ? z.enum(spec.choices as [string, ...string[]]) : z.string();
  } else base = z.boolean();
  const shown = spec.follows === undefined
    ? JSON.stringify(def)
    : `${spec.follows.name} x ${spec.follows.scale}, ${JSON.stringify(def)} at its default`;
  return base.optional().describe(`${spec.description} (default ${shown})`);
}

function hyperparameterSchema(
  table: MethodInfo["hyperparameters"],
  what: string,
): z.ZodType<Hyperparameters> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, info] of Object.entries(table)) shape[name] = hyperValueSchema(info);
  return strict(shape, `hyperparameter of ${what}`) as z.ZodType<Hyperparameters>;
}

function budgetSchema(defaults: Budget) {
  return strict({
    epochs: int(1, LIMITS.epochs).default(defaults.epochs).describe(
      "Epochs; the student is evaluated on the test set after each.",
    ),
    iterationsPerEpoch: int(1, LIMITS.iterationsPerEpoch).default(defaults.iterationsPerEpoch)
      .describe("Iterations per epoch (each: generator step(s), then student steps)."),
    batchSize: int(1, LIMITS.batchSize).default(defaults.batchSize).describe(
      "Batch size B of novel synthetic samples.",
    ),
    studentStepsPerIteration: int(1, LIMITS.studentStepsPerIteration).default(
      defaults.studentStepsPerIteration,
    ).describe("Student steps per iteration."),
  }, "budget field").prefault({});
}

function evaluationSchema(defaults: { batchSize: number; subset?: number }) {
  return strict({
    batchSize: int(1, LIMITS.batchSize).default(defaults.batchSize).describe(
      "Batch size of the per-epoch test-set evaluation.",
    ),
    subset: (defaults.subset === undefined
      ? int(1, LIMITS.subset).optional()
      : int(1, LIMITS.subset).default(defaults.subset)).describe(
        "Evaluate on this many test images (a fixed subset, the same for every job) instead of all.",
      ),
  }, "evaluation field").prefault({});
}

/**
 * The zod schema of a benchmark file, checking names against `catalogue`.
 *
 * @example
 * ```ts
 * import { benchmarkSchema, type Catalogue } from "./spec.ts";
 * declare const catalogue: Catalogue;
 * // const result = benchmarkSchema(catalogue).safeParse(JSON.parse(text));
 * ```
 */
export function benchmarkSchema(catalogue: Catalogue) {
  const arch = z.enum(catalogue.architectures as [string, ...string[]]);
  const shared = sharedHyperparameterSchema(catalogue);
  const recipe = z.record(z.string(), z.unknown()).describe(
    "Overrides of the teacher training recipe (fields of the recipe).",
  );
  return strict({
    $schema: z.string().optional().describe("Path or URL of this JSON Schema."),
    name: slug("the benchmark name").refine((n) => !RESERVED_NAMES.includes(n), {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is reserved: results/${issue.input}/ holds the ` +
        `regression tracking's files (reserved: ${RESERVED_NAMES.join(", ")})`,
    }).describe("Benchmark name: results go to results/<name>/."),
    description: z.string().optional().describe("What the benchmark is for."),
    dataset: z.enum(Object.keys(catalogue.datasets) as [string, ...string[]]).describe(
      "Dataset name.",
    ),
    pairs: z.array(pairSchema(arch, recipe)).min(1).max(LIMITS.pairs).describe(
      "Teacher/student pairs.",
    ),
    methods: methodsSchema(catalogue),
    hyperparameters: shared.optional(),
    seeds: z.array(int(0, LIMITS.seed)).min(1).max(LIMITS.seeds).refine(
      (s) => new Set(s).size === s.length,
      "must not repeat a seed",
    ).default([...SPEC_DEFAULTS.seeds]).describe("Seeds; every job runs once per seed."),
    budget: budgetSchema(SPEC_DEFAULTS.budget).describe(
      "The training budget every method gets (default: the PRE-DFKD release's schedule).",
    ),
    evaluation: evaluationSchema(SPEC_DEFAULTS.evaluation),
    scaled: z.union([z.boolean(), z.string().min(1)], {
      error: "expected true, false or a label saying what is scaled",
    }).default(false).describe(
      "Whether the budget or networks are scaled down from the paper's: true, or a label saying how (shown in every report).",
    ),
    tags: z.array(z.enum(KNOWN_TAGS)).refine(
      (t) => new Set(t).size === t.length,
      "must not repeat a tag",
    ).default([]).describe(
      "Tags: quick, paper, nightly, smoke, claim (a file that tests a paper's claim).",
    ),
    regression: regressionSchema(),
    checkpoint: strict({
      everyEpochs: int(1, LIMITS.epochs).optional().describe(
        "Save each job's state every N epochs (for --resume).",
      ),
    }, "checkpoint field").prefault({}),
    smoke: smokeSchema(shared, recipe),
  }, "field").superRefine((file, ctx) => {
    checkPairIds(file.pairs, ctx);
    checkArchitectures(file, catalogue, ctx);
    checkRecipes(file, catalogue, ctx);
    checkSharedHyperparameters(file.hyperparameters, ["hyperparameters"], file, catalogue, ctx);
    checkSharedHyperparameters(
      file.smoke.hyperparameters,
      ["smoke", "hyperparameters"],
      file,
      catalogue,
      ctx,
    );
  });
}

/**
 * The file-wide `hyperparameters`: every hyperparameter of any method (the
 * first method's declaration of a shared name).
 */
function sharedHyperparameterSchema(catalogue: Catalogue): z.ZodType<Hyperparameters> {
  const table: Record<string, HyperSpec> = {};
  for (const info of Object.values(catalogue.methods)) {
    for (const [name, h] of Object.entries(info.hyperparameters)) table[name] ??= h;
  }
  return hyperparameterSchema(table, "any method").describe(
    "Hyperparameters applied to every method of the file that has them.",
  );
}

/** `methods`: each method of the catalogue with its overrides; the default methods when absent. */
function methodsSchema(catalogue: Catalogue) {
  const names = Object.keys(catalogue.methods);
  const shape: Record<string, z.ZodType<Hyperparameters | undefined>> = {};
  for (const [name, info] of Object.entries(catalogue.methods)) {
    shape[name] = hyperparameterSchema(info.hyperparameters, name).optional().describe(
      `${info.description} Value: hyperparameter overrides (an empty object for none).`,
    );
  }
  const defaults = Object.fromEntries(
    DEFAULT_METHODS.filter((m) => names.includes(m)).map((m) => [m, {}]),
  );
  return (strict(shape, "method") as z.ZodType<Record<string, Hyperparameters>>).refine(
    (m) => Object.keys(m).length > 0,
    "must name at least one method",
  ).default(() => ({ ...defaults })).describe(
    `Methods to run, each with its hyperparameter overrides (default: ${
      DEFAULT_METHODS.join(", ")
    }).`,
  );
}

/** A PyTorch teacher names its architecture and has neither a path nor a recipe. */
function checkPytorchTeacher(
  t: { arch?: string | undefined; path?: string | undefined; recipe?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (t.arch === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "a pytorch teacher needs arch (the zoo architecture it was trained as)",
    });
  }
  for (const field of ["path", "recipe"] as const) {
    if (t[field] === undefined) continue;
    ctx.addIssue({
      code: "custom",
      path: [field],
      message: `a pytorch teacher has no ${field}; remove one of them`,
    });
  }
}

/**
 * One pair: its id, a teacher (by architecture and recipe, a saved model or a
 * PyTorch checkpoint) and a student.
 */
function pairSchema(arch: z.ZodType<string>, recipe: z.ZodType<Record<string, unknown>>) {
  const teacher = strict({
    arch: arch.optional().describe("Teacher architecture (trained by the recipe, then cached)."),
    recipe: recipe.optional(),
    path: z.string().min(1).optional().describe(
      "A saved teacher to load instead of training one (relative to this file's folder).",
    ),
    pytorch: z.string().min(1).optional().describe(
      "A PyTorch checkpoint (.pth / .pt / .safetensors; relative to this file's folder) to import as the teacher, with arch naming its architecture.",
    ),
  }, "teacher field").superRefine((t, ctx) => {
    if (t.pytorch !== undefined) return checkPytorchTeacher(t, ctx);
    if (t.path === undefined && t.arch === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "needs either arch (with an optional recipe) or path",
      });
    }
    if (t.path !== undefined && t.recipe !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["recipe"],
        message: "a teacher loaded from path has no recipe; remove one of them",
      });
    }
  });
  return strict({
    id: slug("a pair id").optional().describe("Pair id (default <teacher>-<student>)."),
    teacher,
    student: arch.describe("Student architecture."),
  }, "pair field");
}

/** `regression`: what regression tracking reports as a change. */
function regressionSchema() {
  return strict({
    minEffect: z.number().min(0).max(100).default(SPEC_DEFAULTS.regression.minEffect).describe(
      "Smallest change of expected accuracy, in accuracy points, that regression tracking reports.",
    ),
    minTimeEffect: z.number().min(0).max(1000).default(SPEC_DEFAULTS.regression.minTimeEffect)
      .describe(
        "Smallest slow-down of wall time per epoch, in percent of the baseline, that regression tracking reports.",
      ),
    alpha: z.number().gt(0).lt(1).default(SPEC_DEFAULTS.regression.alpha).describe(
      "Significance level of regression tracking's one-sided Welch test.",
    ),
  }, "regression field").prefault({});
}

/** `smoke`: what `--smoke` uses instead of the full budget. */
function smokeSchema(
  shared: z.ZodType<Hyperparameters>,
  recipe: z.ZodType<Record<string, unknown>>,
) {
  return strict({
    budget: budgetSchema(SMOKE_DEFAULTS.budget),
    evaluation: evaluationSchema(SMOKE_DEFAULTS.evaluation),
    hyperparameters: shared.optional(),
    teacherRecipe: recipe.optional(),
  }, "smoke field").describe(
    "What --smoke uses instead of the full budget (defaults: 2 epochs of 2 iterations, batch 16).",
  ).prefault({});
}

/** The pair fields the checks below read. */
interface PairFields {
  id?: string | undefined;
  teacher: {
    arch?: string | undefined;
    path?: string | undefined;
    pytorch?: string | undefined;
    recipe?: Record<string, unknown> | undefined;
  };
  student: string;
}

/** Pair ids (given or derived) must be distinct. */
function checkPairIds(pairs: readonly PairFields[], ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  pairs.forEach((p, i) => {
    const id = pairId(p);
    const first = seen.get(id);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["pairs", i, "id"],
        input: id,
        message: `pair id repeats pairs[${first}]'s; give each pair a distinct id`,
      });
    } else seen.set(id, i);
  });
}

/** Every teacher and student must take the dataset's images. */
function checkArchitectures(
  file: { dataset: string; pairs: readonly PairFields[] },
  catalogue: Catalogue,
  ctx: z.RefinementCtx,
): void {
  const shape = catalogue.datasets[file.dataset]?.imageShape;
  const problemOf = catalogue.architectureProblem;
  if (shape === undefined || problemOf === undefined) return;
  file.pairs.forEach((p, i) => {
    const check = (arch: string | undefined, path: (string | number)[]) => {
      const problem = arch === undefined ? undefined : problemOf(arch, shape);
      if (problem !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["pairs", i, ...path],
          input: arch,
          message: `cannot take ${file.dataset}'s ${shape.join("x")} images: ${problem}`,
        });
      }
    };
    check(p.teacher.arch, ["teacher", "arch"]);
    check(p.student, ["student"]);
  });
}

/** Recipe teachers' overrides (and the smoke overrides on top) must make valid recipes. */
function checkRecipes(
  file: {
    dataset: string;
    pairs: readonly PairFields[];
    smoke: { teacherRecipe?: Record<string, unknown> | undefined };
  },
  catalogue: Catalogue,
  ctx: z.RefinementCtx,
): void {
  const problemOf = catalogue.recipeProblem;
  if (problemOf === undefined) return;
  file.pairs.forEach((p, i) => {
    if (
      p.teacher.arch === undefined || p.teacher.path !== undefined ||
      p.teacher.pytorch !== undefined
    ) return;
    const recipes: [Record<string, unknown>, (string | number)[]][] = [
      [p.teacher.recipe ?? {}, ["pairs", i, "teacher"]],
    ];
    if (file.smoke.teacherRecipe !== undefined) {
      recipes.push([{ ...p.teacher.recipe, ...file.smoke.teacherRecipe }, [
        "smoke",
        "teacherRecipe",
      ]]);
    }
    for (const [recipe, path] of recipes) {
      const problem = problemOf(p.teacher.arch, file.dataset, recipe);
      if (problem === undefined) continue;
      const m = /^recipe\.([\w.]+): ([\s\S]*)$/.exec(problem);
      const field = m ? m[1]!.split(".") : [];
      const base = path[0] === "smoke" ? path : [...path, "recipe"];
      ctx.addIssue({ code: "custom", path: [...base, ...field], message: m ? m[2]! : problem });
    }
  });
}

/** A file-wide hyperparameter must belong to at least one method the file runs. */
function checkSharedHyperparameters(
  table: Record<string, unknown> | undefined,
  path: string[],
  file: { methods: Record<string, unknown> },
  catalogue: Catalogue,
  ctx: z.RefinementCtx,
): void {
  const chosen = Object.keys(file.methods);
  for (const name of Object.keys(table ?? {})) {
    if (!chosen.some((m) => name in (catalogue.methods[m]?.hyperparameters ?? {}))) {
      ctx.addIssue({
        code: "custom",
        path: [...path, name],
        input: table?.[name],
        message: `is not a hyperparameter of any method this file runs (${chosen.join(", ")})`,
      });
    }
  }
}

/** A benchmark file after validation, with schema-level defaults applied. */
export type BenchmarkFile = z.output<ReturnType<typeof benchmarkSchema>>;

function pairId(p: {
  id?: string | undefined;
  teacher: { arch?: string | undefined; path?: string | undefined };
  student: string;
}): string {
  if (p.id !== undefined) return p.id;
  const teacher = p.teacher.arch ??
    (p.teacher.path ?? "teacher").split("/").pop()!.replace(/\.[^.]*$/, "");
  return `${teacher}-${p.student}`.toLowerCase().replace(/[^a-z0-9._-]/g, "_");
}

/**
 * The JSON Schema (draft 2020-12) of benchmark files, for editors; written to
 * `benchmarks/schema.json` by `deno task dfkd schema`.
 *
 * @example
 * ```ts
 * import { benchmarkJsonSchema, type Catalogue } from "./spec.ts";
 * declare const catalogue: Catalogue;
 * // const schema = benchmarkJsonSchema(catalogue);
 * ```
 */
export function benchmarkJsonSchema(catalogue: Catalogue): Record<string, unknown> {
  const schema = z.toJSONSchema(benchmarkSchema(catalogue), { io: "input" }) as Record<
    string,
    unknown
  >;
  return {
    $schema: schema.$schema,
    $id: "https://dfkd-bench.invalid/benchmarks/schema.json",
    title: "dfkd-bench benchmark file",
    description:
      "A declarative DFKD benchmark: dataset, teacher/student pairs, methods, seeds and budget. " +
      "Generated from src/bench/spec.ts by `deno task dfkd schema`; do not edit.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}

/**
 * Validates parsed JSON against the schema; returns the file with defaults or
 * every problem found.
 *
 * @example
 * ```ts
 * import { validateBenchmark, type Catalogue } from "./spec.ts";
 * declare const catalogue: Catalogue;
 * // const r = validateBenchmark({ name: "x" }, catalogue);
 * // if (!r.ok) console.log(r.problems.map((p) => `${p.path}: ${p.message}`));
 * ```
 */
export function validateBenchmark(
  json: unknown,
  catalogue: Catalogue,
): { ok: true; file: BenchmarkFile } | { ok: false; problems: FieldProblem[] } {
  const result = benchmarkSchema(catalogue).safeParse(json, { reportInput: true });
  if (result.success) {
    const file: BenchmarkFile = result.data;
    // zod returns an object's keys in schema order; methods run in file order.
    const given = (json as { methods?: Record<string, unknown> }).methods;
    if (given !== undefined) {
      file.methods = Object.fromEntries(Object.keys(given).map((m) => [m, file.methods[m] ?? {}]));
    }
    return { ok: true, file };
  }
  return { ok: false, problems: describeIssues(result.error.issues) };
}

/**
 * Applies defaults and hyperparameter tables to a validated file.
 *
 * @example
 * ```ts
 * import { resolveBenchmark, type BenchmarkFile, type Catalogue } from "./spec.ts";
 * declare const file: BenchmarkFile;
 * declare const catalogue: Catalogue;
 * // const b = resolveBenchmark(file, "benchmarks/x.json", catalogue, {});
 * ```
 */
export function resolveBenchmark(
  file: BenchmarkFile,
  path: string,
  catalogue: Catalogue,
  source: unknown,
): ResolvedBenchmark {
  const folder = dirname(path);
  const pairs: ResolvedPair[] = file.pairs.map((p) => ({
    id: pairId(p),
    student: p.student,
    teacher: p.teacher.pytorch !== undefined
      ? {
        kind: "pytorch",
        file: isAbsolute(p.teacher.pytorch)
          ? p.teacher.pytorch
          : resolve(folder, p.teacher.pytorch),
        arch: p.teacher.arch as string,
      }
      : p.teacher.path !== undefined
      ? {
        kind: "path",
        path: isAbsolute(p.teacher.path) ? p.teacher.path : resolve(folder, p.teacher.path),
        ...(p.teacher.arch !== undefined ? { arch: p.teacher.arch } : {}),
      }
      : { kind: "recipe", arch: p.teacher.arch as string, recipe: p.teacher.recipe ?? {} },
  }));
  const methods = Object.entries(file.methods).map(([method, own]) =>
    resolveMethod(method, catalogue, file.hyperparameters ?? {}, own)
  );
  const resolved: ResolvedBenchmark = {
    file: path,
    name: file.name,
    description: file.description ?? "",
    dataset: file.dataset,
    pairs,
    methods,
    seeds: [...file.seeds],
    budget: { ...file.budget },
    evaluation: { ...file.evaluation },
    scaled: file.scaled !== false,
    tags: [...file.tags],
    regression: { ...file.regression },
    checkpoint: { ...file.checkpoint },
    smoke: false,
    source,
  };
  if (typeof file.scaled === "string") resolved.scaledLabel = file.scaled;
  return resolved;
}

function resolveMethod(
  method: string,
  catalogue: Catalogue,
  shared: Hyperparameters,
  own: Hyperparameters,
): ResolvedMethod {
  const table = catalogue.methods[method]?.hyperparameters ?? {};
  const overrides: Hyperparameters = {};
  for (const [name, value] of [...Object.entries(shared), ...Object.entries(own)]) {
    if (name in table) overrides[name] = value;
  }
  return { method, hyper: resolveHyperparameters(table, overrides), overrides };
}

/**
 * Replaces a resolved benchmark's budget by its smoke budget (`--smoke`): the
 * file's `smoke` section over {@linkcode SMOKE_DEFAULTS}, the first seed only,
 * the smoke hyperparameters and teacher recipe overrides; labelled as scaled.
 *
 * @example
 * ```ts
 * import { applySmoke, type BenchmarkFile, type ResolvedBenchmark, type Catalogue } from "./spec.ts";
 * declare const b: ResolvedBenchmark;
 * declare const file: BenchmarkFile;
 * declare const catalogue: Catalogue;
 * // const smoke = applySmoke(b, file, catalogue);
 * ```
 */
export function applySmoke(
  benchmark: ResolvedBenchmark,
  file: BenchmarkFile,
  catalogue: Catalogue,
): ResolvedBenchmark {
  const smoke = file.smoke;
  const sharedSmoke = { ...(file.hyperparameters ?? {}), ...(smoke.hyperparameters ?? {}) };
  return {
    ...benchmark,
    pairs: benchmark.pairs.map((p) =>
      p.teacher.kind === "recipe" && smoke.teacherRecipe !== undefined
        ? {
          ...p,
          teacher: { ...p.teacher, recipe: { ...p.teacher.recipe, ...smoke.teacherRecipe } },
        }
        : p
    ),
    methods: Object.entries(file.methods).map(([method, own]) =>
      resolveMethod(method, catalogue, sharedSmoke, { ...own, ...(smoke.hyperparameters ?? {}) })
    ),
    seeds: benchmark.seeds.slice(0, 1),
    budget: { ...smoke.budget },
    evaluation: { ...smoke.evaluation },
    scaled: true,
    scaledLabel:
      `smoke run (tiny budget: ${smoke.budget.epochs} epochs of ${smoke.budget.iterationsPerEpoch} iterations, batch ${smoke.budget.batchSize}); proves wiring only`,
    smoke: true,
  };
}

/**
 * Reads, parses, validates and resolves one benchmark file. Every problem is
 * reported as `file: field.path: what is wrong (got X)` in one `UserError`
 * (exit code 2).
 *
 * @example
 * ```ts
 * import { loadBenchmark, type Catalogue } from "./spec.ts";
 * declare const catalogue: Catalogue;
 * // const { benchmark } = await loadBenchmark("benchmarks/smoke.json", catalogue);
 * ```
 */
export async function loadBenchmark(
  path: string,
  catalogue: Catalogue,
): Promise<{ benchmark: ResolvedBenchmark; file: BenchmarkFile }> {
  const loaded = await readBenchmark(path, catalogue);
  if (!loaded.ok) throw new UserError(loaded.lines.join("\n"));
  return {
    benchmark: resolveBenchmark(loaded.file, path, catalogue, loaded.source),
    file: loaded.file,
  };
}

/**
 * Reads and validates one file without throwing: either the file or the
 * problem lines (`file: path: message`).
 *
 * @example
 * ```ts
 * import { readBenchmark, type Catalogue } from "./spec.ts";
 * declare const catalogue: Catalogue;
 * // const r = await readBenchmark("benchmarks/smoke.json", catalogue);
 * ```
 */
export async function readBenchmark(
  path: string,
  catalogue: Catalogue,
): Promise<
  { ok: true; file: BenchmarkFile; source: unknown } | { ok: false; lines: string[] }
> {
  const read = await readBenchmarkJson(path);
  if (!read.ok) return read;
  const source = read.source;
  const result = validateBenchmark(source, catalogue);
  if (!result.ok) {
    return {
      ok: false,
      lines: result.problems.map((p) =>
        `${path}: ${p.path === "" ? "" : `${p.path}: `}${p.message}`
      ),
    };
  }
  return { ok: true, file: result.file, source };
}

/** Reads a benchmark file's JSON: the parsed value, or the one line saying why not. */
async function readBenchmarkJson(
  path: string,
): Promise<{ ok: true; source: unknown } | { ok: false; lines: string[] }> {
  let text: string;
  try {
    text = await readBoundedText(path, READ_LIMITS.document);
  } catch (error) {
    const why = error instanceof FileReadError
      ? (error.refusal === "folder" ? "is a folder, not a benchmark file" : error.reason)
      : error instanceof Error
      ? error.message
      : String(error);
    return { ok: false, lines: [`${path}: cannot read the benchmark file: ${why}`] };
  }
  let source: unknown;
  try {
    source = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, lines: [`${path}: not valid JSON: ${message}`] };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    const where = duplicate.path === "" ? "" : `${duplicate.path}: `;
    return {
      ok: false,
      lines: [
        `${path}: ${where}the key ${
          JSON.stringify(duplicate.key)
        } appears twice (JSON keeps only the last one silently); remove one`,
      ],
    };
  }
  return { ok: true, source };
}

/**
 * Reads only a benchmark file's `name` (the file name when it has none) and
 * `tags`, without validating the rest (`nightly` picks files by tag, and the
 * runner validates each one it runs). An unreadable file or bad JSON is a
 * `UserError` (exit 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBenchmarkHead } from "./spec.ts";
 * const head = await readBenchmarkHead("benchmarks/mnist-lenet5-quick.json");
 * assert.equal(head.tags.includes("quick"), true);
 * ```
 */
export async function readBenchmarkHead(path: string): Promise<{ name: string; tags: string[] }> {
  const read = await readBenchmarkJson(path);
  if (!read.ok) throw new UserError(read.lines.join("\n"));
  const v = read.source as { name?: unknown; tags?: unknown } | null;
  const name = typeof v?.name === "string" ? v.name : basename(path, ".json");
  const tags = Array.isArray(v?.tags)
    ? v.tags.filter((t): t is string => typeof t === "string")
    : [];
  return { name, tags };
}
