/**
 * A run's summary for regression tracking: per pair x method, the per-seed
 * expected accuracy, peak, final, drop and wall time per epoch, with status.
 * It is what `compare` compares and what `history add` stores (one JSON line
 * per run, see `history.ts`), so a results folder and a history entry are
 * compared the same way.
 *
 * @module
 */
import { join } from "node:path";
import type { Environment } from "../util/environment.ts";
import { UserError } from "../util/errors.ts";
import { loadRunResults } from "../results/load_run.ts";
import { curveMetrics } from "../results/metrics.ts";
import { type JobRecord, type JobStatus, RUN_LAYOUT, type RunRecord } from "../results/records.ts";

/** Schema tag of {@linkcode RunSummary} (and of each history line). */
export const RUN_SUMMARY_SCHEMA = "dfkd-bench/history@1";

/** One seed of one pair x method. Metrics are absent when the job recorded no epoch. */
export interface SeedSummary {
  /** Seed. */
  seed: number;
  /** How the job ended. */
  status: JobStatus;
  /** Epochs recorded. */
  epochs: number;
  /** Expected accuracy (mean of per-epoch accuracy), in [0, 1]. */
  mu?: number;
  /** Highest per-epoch accuracy, in [0, 1]. */
  peak?: number;
  /** Last epoch's accuracy, in [0, 1]. */
  final?: number;
  /** peak - final, in [0, 1]. */
  drop?: number;
  /** Wall seconds of the whole job. */
  wallSeconds: number;
  /** Wall seconds per recorded epoch (`wallSeconds / epochs`). */
  wallPerEpoch?: number;
  /** Replay memory in bytes at the end. */
  replayBytes: number;
}

/** Every seed of one teacher/student pair and method. */
export interface PairMethodSummary {
  /** Pair id. */
  pair: string;
  /** Method name. */
  method: string;
  /** Teacher architecture. */
  teacherArch: string;
  /** Student architecture. */
  studentArch: string;
  /** Dataset name. */
  dataset: string;
  /** Distinct configuration hashes of the jobs (one per seed if the seed is part of the config). */
  configHashes: string[];
  /** True when any job ran a scaled-down budget or network. */
  scaled: boolean;
  /** `completed` when every seed completed, `failed` when none did, `partial` otherwise. */
  status: "completed" | "partial" | "failed";
  /** Per seed, by ascending seed. */
  seeds: SeedSummary[];
}

/** The regression settings a benchmark file may state under `regression`. */
export interface RegressionSettings {
  /** Minimum accuracy effect, in accuracy points (percent): 1 = one point. */
  minEffect?: number;
  /** Minimum wall-time effect, in percent of the baseline: 10 = 10% slower. */
  minTimeEffect?: number;
  /** Significance level of the one-sided Welch test. */
  alpha?: number;
}

/** A run summarised for comparison and history. */
export interface RunSummary {
  /** Always {@linkcode RUN_SUMMARY_SCHEMA}. */
  schema: typeof RUN_SUMMARY_SCHEMA;
  /** Benchmark name. */
  benchmark: string;
  /** Run id. */
  runId: string;
  /** Git commit the run measured (full hash, or "unknown"). */
  commit: string;
  /** Whether the working tree had uncommitted changes. */
  dirty: boolean;
  /** ISO start time of the run. */
  date: string;
  /** Machine label: the host name unless a label was given (`--machine`, `DFKD_MACHINE`). */
  machine: string;
  /** Backend the run used. */
  backend: string;
  /** The run's full environment record. */
  environment: Environment;
  /** True when run with `--smoke`. */
  smoke: boolean;
  /** Benchmark tags. */
  tags: string[];
  /** Path of the benchmark file the run used (as given to the runner). */
  benchmarkFile: string;
  /** The benchmark's `regression` settings, when it states them. */
  regression?: RegressionSettings;
  /** Per pair x method, sorted by pair then method. */
  entries: PairMethodSummary[];
  /** Job ids listed in run.json without a job record. */
  missingJobs: string[];
  /** Whether run.json records an end time (false for a run that is still going or died). */
  finished: boolean;
}

/** Options of {@linkcode summariseResults} and {@linkcode buildRunSummary}. */
export interface SummariseOptions {
  /** Machine label to record instead of the run's host name. */
  machine?: string;
}

/**
 * The comparability key of a summary: machine and backend. Runs with equal
 * keys are compared without warning.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparabilityKey } from "./run_summary.ts";
 * assert.equal(comparabilityKey({ machine: "lab-1", backend: "wasm" }), "lab-1/wasm");
 * ```
 */
export function comparabilityKey(s: { machine: string; backend: string }): string {
  return `${s.machine}/${s.backend}`;
}

/**
 * Reads a results folder (`run.json` and the job records it lists, with the
 * runner's validated reader, `loadRunResults`) and summarises it. Throws a
 * `UserError` (exit code 2) naming the folder or file when it is missing, not
 * a results folder, or holds malformed records.
 *
 * @example
 * ```ts
 * import { summariseResults } from "./run_summary.ts";
 * const s = await summariseResults("results/mnist-lenet5-quick/20261129T051500Z-9bfd833");
 * console.log(s.entries.map((e) => `${e.pair} ${e.method} ${e.seeds.length} seeds`));
 * ```
 */
export async function summariseResults(
  dir: string,
  options: SummariseOptions = {},
): Promise<RunSummary> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch {
    throw new UserError(
      `Results folder not found: ${dir} (give a folder written by "deno task dfkd run", ` +
        `e.g. results/<benchmark>/<run-id>, or a history entry history:<benchmark>@<ref>)`,
    );
  }
  if (!info.isDirectory) {
    throw new UserError(`Not a results folder: ${dir} is a file, not a folder`);
  }
  const runPath = join(dir, RUN_LAYOUT.run);
  try {
    await Deno.stat(runPath);
  } catch {
    throw new UserError(
      `Not a results folder: ${dir} has no run.json (expected the folder of one run, ` +
        `results/<benchmark>/<run-id>)`,
    );
  }
  // The runner's reader checks every record's shape (exit 2 naming the file and field).
  const { run, jobs } = await loadRunResults(dir);
  return buildRunSummary(run, jobs, options, runPath);
}

/**
 * Summarises a run from its records in memory. `where` names the run's file
 * in error messages.
 *
 * @example
 * ```ts
 * import { buildRunSummary } from "./run_summary.ts";
 * import type { JobRecord, RunRecord } from "../results/records.ts";
 * declare const run: RunRecord, jobs: JobRecord[];
 * const s = buildRunSummary(run, jobs);
 * console.log(s.entries.length);
 * ```
 */
export function buildRunSummary(
  run: RunRecord,
  jobs: readonly JobRecord[],
  options: SummariseOptions = {},
  where = "run.json",
): RunSummary {
  const groups = new Map<string, JobRecord[]>();
  for (const job of jobs) {
    if (job.benchmark !== run.benchmark) {
      throw new UserError(
        `Job ${job.id} belongs to benchmark "${job.benchmark}", not "${run.benchmark}" (${where})`,
      );
    }
    const key = `${job.pair}\u0000${job.method}`;
    const list = groups.get(key) ?? [];
    list.push(job);
    groups.set(key, list);
  }
  const entries: PairMethodSummary[] = [];
  for (const list of groups.values()) {
    const first = list[0] as JobRecord;
    const seeds = list.map(seedSummary).sort((a, b) => a.seed - b.seed);
    const done = seeds.filter((s) => s.status === "completed").length;
    entries.push({
      pair: first.pair,
      method: first.method,
      teacherArch: first.teacherArch,
      studentArch: first.studentArch,
      dataset: first.dataset,
      configHashes: [...new Set(list.map((j) => j.configHash))].sort(),
      scaled: list.some((j) => j.scaled),
      status: done === seeds.length ? "completed" : done === 0 ? "failed" : "partial",
      seeds,
    });
  }
  entries.sort((a, b) => a.pair.localeCompare(b.pair) || a.method.localeCompare(b.method));
  const present = new Set(jobs.map((j) => j.id));
  // What the benchmark file states (so unstated settings show as defaults); only a run
  // without the file as written falls back to what the runner resolved (RunRecord.regression).
  const regression = run.benchmarkSource === undefined
    ? regressionSettings(run, `${where} (regression)`)
    : regressionSettings(run.benchmarkSource, run.benchmarkFile);
  return {
    schema: RUN_SUMMARY_SCHEMA,
    benchmark: run.benchmark,
    runId: run.runId,
    commit: run.environment.gitCommit,
    dirty: run.environment.gitDirty,
    date: run.startedAt,
    machine: options.machine ?? run.environment.hostname,
    backend: run.environment.backend,
    environment: run.environment,
    smoke: run.smoke,
    tags: run.tags,
    benchmarkFile: run.benchmarkFile,
    ...(regression === undefined ? {} : { regression }),
    entries,
    missingJobs: run.jobs.filter((id) => !present.has(id)),
    finished: run.finishedAt !== undefined,
  };
}

function seedSummary(job: JobRecord): SeedSummary {
  const base: SeedSummary = {
    seed: job.seed,
    status: job.status,
    epochs: job.epochs.length,
    wallSeconds: job.wallSeconds,
    replayBytes: job.replayBytes,
  };
  if (job.epochs.length === 0) return base;
  const m = curveMetrics(job.epochs.map((e) => e.accuracy));
  return {
    ...base,
    mu: m.mu,
    peak: m.peak,
    final: m.final,
    drop: m.drop,
    wallPerEpoch: job.wallSeconds / job.epochs.length,
  };
}

/**
 * Reads and checks the optional `regression` object of a parsed benchmark
 * file (`{ minEffect?, minTimeEffect?, alpha? }`). Throws a `UserError` naming
 * the file and field for a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { regressionSettings } from "./run_summary.ts";
 * assert.deepEqual(regressionSettings({ regression: { minEffect: 2 } }, "b.json"), { minEffect: 2 });
 * ```
 */
export function regressionSettings(
  source: unknown,
  file: string,
): RegressionSettings | undefined {
  if (typeof source !== "object" || source === null) return undefined;
  const r = (source as Record<string, unknown>).regression;
  if (r === undefined) return undefined;
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    throw new UserError(`${file}: regression: must be an object (got ${JSON.stringify(r)})`);
  }
  const out: RegressionSettings = {};
  const fields = r as Record<string, unknown>;
  const num = (name: keyof RegressionSettings, ok: (v: number) => boolean, what: string) => {
    const v = fields[name];
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
      throw new UserError(`${file}: regression.${name}: ${what} (got ${JSON.stringify(v)})`);
    }
    out[name] = v;
  };
  num("minEffect", (v) => v >= 0, "must be a number of accuracy points, at least 0");
  num("minTimeEffect", (v) => v >= 0, "must be a percentage, at least 0");
  num("alpha", (v) => v > 0 && v < 1, "must be a significance level between 0 and 1");
  return out;
}
