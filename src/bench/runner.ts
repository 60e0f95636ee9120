/**
 * The benchmark runner: expands a benchmark into jobs, checks the data,
 * prepares every teacher once (in this process, before any job starts),
 * claims and locks a fresh run folder, then runs the jobs `--jobs` at a time,
 * each in its own Deno process, showing progress with epoch, accuracy and ETA.
 * A crashing job is recorded as `failed` and the others go on. Finally it
 * writes the reports.
 *
 * @module
 */
import { join } from "node:path";
import type { BackendRequest } from "../backends/init_backend.ts";
import { MAX_WASM_THREADS } from "../backends/wasm_threads.ts";
import type { Dataset } from "../data/dataset.ts";
import type { Classifier } from "../models/classifier.ts";
import type { Hyperparameters, MethodPlugin } from "../methods/method.ts";
import {
  classifierPart,
  type MemoryLimit,
  memoryLimitFor,
  type MemoryPart,
  memoryProblem,
} from "../methods/memory_estimate.ts";
import { writeReports } from "../report/report.ts";
import { loadRunResults, type RunResults } from "../results/load_run.ts";
import { removeDeadTemporaries } from "../util/atomic_write.ts";
import {
  JOB_RECORD_SCHEMA,
  type JobConfig,
  type JobRecord,
  RUN_LAYOUT,
  RUN_RECORD_SCHEMA,
  type RunRecord,
} from "../results/records.ts";
import {
  acquireRunLock,
  claimRunFolder,
  findRunFolder,
  makeRunId,
  readJobRecord,
  writeJobFiles,
  writeRunRecord,
} from "../results/run_folder.ts";
import { collectEnvironment, type Environment } from "../util/environment.ts";
import { UserError } from "../util/errors.ts";
import { describeHolder, type FileLock } from "../util/file_lock.ts";
import type { Interrupter } from "../util/interrupt.ts";
import { type Logger, silentLogger } from "../util/logger.ts";
import { Rng } from "../util/rng.ts";
import { FINAL, type JobProcess, runOneJob } from "./job_process.ts";
import { canonicalJson, configHash, expandJobs, type JobPlan } from "./job_plan.ts";
import type { ResolvedBenchmark } from "./spec.ts";
import type { PreparedTeacher, Toolkit } from "./toolkit.ts";

/** Options of {@linkcode runBenchmark}. */
export interface RunOptions {
  /** Backend request (`auto` picks the fastest available; jobs use the one picked). */
  backend: BackendRequest;
  /** Data root. */
  dataRoot: string;
  /** Results root (`results`); the run goes to `<out>/<benchmark>/<run-id>/`. */
  out: string;
  /** Parallel job processes. */
  jobs: number;
  /**
   * Compute threads of each job process; default: the logical cores shared
   * among the jobs that run at once (at least 1), so one job uses every core.
   */
  threads?: number;
  /** Only these methods (`--methods`). */
  methods?: string[];
  /** These seeds (`--seeds`). */
  seeds?: number[];
  /** Teacher cache folder (the teacher module's default when absent). */
  cacheDir?: string;
  /** Where messages and progress go. */
  log: Logger;
  /** Registries and loaders (this process). */
  toolkit: Toolkit;
  /** Toolkit module for job processes (default: `default_toolkit.ts`). */
  toolkitModule?: string;
  /** The clock (tests fix it). */
  now?: () => Date;
  /**
   * Continue an earlier run of this benchmark (its run id, or `latest`)
   * instead of starting a new one: finished jobs are kept, the others continue
   * from their last checkpoint.
   */
  resume?: string;
  /**
   * Ctrl-C: the first interrupt stops every job cleanly (current iteration,
   * checkpoint, exit) and starts no new one; the second kills the jobs at once.
   */
  interrupts?: Interrupter;
  /** Called once the run folder is claimed (or found, when resuming) and locked. */
  onRunFolder?: (dir: string, runId: string) => void;
  /**
   * Plan only (`dfkd plan`): prepare the teachers, write `run.json` and every
   * job's pending record, and stop before any job runs (the jobs then run one
   * by one with `dfkd run-job`, e.g. as a cluster's array tasks).
   */
  planOnly?: boolean;
}

/** What a run produced. */
export interface RunOutcome {
  /** The run folder. */
  runDir: string;
  /** The run id. */
  runId: string;
  /** Final job records in run order. */
  records: JobRecord[];
  /** The results tables (Markdown), as printed after the run. */
  summary: string;
  /** Report files written. */
  reportFiles: string[];
  /** 0 when every job completed, 1 otherwise, 130 when interrupted. */
  exitCode: number;
  /** True when an interrupt stopped the run before every job ended (resume it). */
  interrupted: boolean;
}

/**
 * The exit code of a run stopped by Ctrl-C (128 + SIGINT).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INTERRUPTED_EXIT_CODE } from "./runner.ts";
 * assert.equal(INTERRUPTED_EXIT_CODE, 130);
 * ```
 */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Runs a resolved benchmark and writes its results folder and reports.
 * User errors (unknown `--methods`, missing data, a locked folder) throw a
 * `UserError` before anything is written under `out`.
 *
 * @example
 * ```ts
 * import { runBenchmark } from "./runner.ts";
 * import type { ResolvedBenchmark } from "./spec.ts";
 * import type { Toolkit } from "./toolkit.ts";
 * import { silentLogger } from "../util/logger.ts";
 * declare const benchmark: ResolvedBenchmark;
 * declare const toolkit: Toolkit;
 * // const outcome = await runBenchmark(benchmark, {
 * //   backend: "auto", dataRoot: "/data", out: "results", jobs: 2, log: silentLogger, toolkit,
 * // });
 * ```
 */
export async function runBenchmark(
  benchmark: ResolvedBenchmark,
  options: RunOptions,
): Promise<RunOutcome> {
  const { log } = options;
  const filter: { methods?: string[]; seeds?: number[] } = {
    ...(options.methods ? { methods: options.methods } : {}),
    ...(options.seeds ? { seeds: options.seeds } : {}),
  };
  // A resumed run keeps its own folder: find and lock it first, so a run that
  // is still going is refused before anything else happens.
  let lock: FileLock | undefined;
  let previous: RunResults | undefined;
  try {
    if (options.resume !== undefined) {
      if (options.planOnly) throw new UserError("A plan starts a new run: drop --resume", 2);
      if (options.methods || options.seeds) {
        throw new UserError(
          "--resume continues the run's own jobs: --methods and --seeds cannot change them",
        );
      }
      const found = await findRunFolder(options.out, benchmark.name, options.resume);
      lock = await acquireRunLock(found.dir, {
        onTakeOver: (holder) =>
          log.warn(
            `${found.dir}: taking over the lock of a run that is gone (${describeHolder(holder)})`,
          ),
      });
      previous = await loadRunResults(found.dir);
      checkResumable(benchmark, previous);
      // Temporary files of the killed run's writers (records, CSVs): nobody renames them now.
      for (const dir of [found.dir, join(found.dir, RUN_LAYOUT.jobsDir)]) {
        await removeDeadTemporaries(dir);
      }
      if (previous.run.options?.methods) filter.methods = previous.run.options.methods;
      if (previous.run.options?.seeds) filter.seeds = previous.run.options.seeds;
    }
    return await runLocked(benchmark, options, filter, previous, (l) => lock = l);
  } finally {
    await lock?.release();
  }
}

/** A resumed run's folder must be this benchmark's, in the same smoke mode. */
function checkResumable(benchmark: ResolvedBenchmark, previous: RunResults): void {
  const run = previous.run;
  if (run.benchmark !== benchmark.name) {
    throw new UserError(
      `${previous.dir} is a run of "${run.benchmark}", not of ${benchmark.file} ("${benchmark.name}")`,
    );
  }
  if (run.smoke !== benchmark.smoke) {
    throw new UserError(
      `${previous.dir} was ${run.smoke ? "a --smoke run" : "a full run"}: resume it ${
        run.smoke ? "with" : "without"
      } --smoke`,
    );
  }
}

/** The jobs a run keeps from `previous` (finished ones are not run again). */
type KeptJobs = Map<string, JobRecord>;

/**
 * Runs the benchmark once its folder (when resuming) is locked: plan the
 * jobs, check they still match a resumed run, check the methods' settings,
 * prepare the teachers, write the run folder, run the jobs, then finish (or
 * record the interrupt).
 */
async function runLocked(
  benchmark: ResolvedBenchmark,
  options: RunOptions,
  filter: { methods?: string[]; seeds?: number[] },
  previous: RunResults | undefined,
  setLock: (lock: FileLock) => void,
): Promise<RunOutcome> {
  const { toolkit, log } = options;
  const plans = expandJobs(benchmark, filter);
  const info = toolkit.datasetInfo(benchmark.dataset);
  const backend = await toolkit.initBackend(options.backend);
  const environment = await collectEnvironment(backend);
  if (backend.name === "wasm") {
    // What each job process uses (this process's own pool only loads teachers).
    environment.threads = options.threads ??
      threadsPerJob(Math.max(1, Math.min(options.jobs, plans.length)));
  }
  if (previous !== undefined) {
    checkSameRun(benchmark, plans, previous, backend.name, environment, log);
  }
  const kept: KeptJobs = new Map();
  for (const job of previous?.jobs ?? []) {
    if (job.status === "completed" || job.status === "diverged") kept.set(job.id, job);
  }
  log.info(runHeadline(benchmark, plans, options.jobs, backend.name, previous, kept));

  // Methods that reject their settings stop the run before a teacher is trained.
  await preflight(benchmark, plans, undefined, info, toolkit, backend.name);
  // The data must be there before anything is written (a clear error otherwise).
  const data = await toolkit.loadDataset(benchmark.dataset, { dataRoot: options.dataRoot, log });
  const teacherOf = await prepareTeachers(benchmark, plans, data, options);
  await preflight(benchmark, plans, teacherOf, info, toolkit, backend.name);

  const now = options.now?.() ?? new Date();
  const folder = { benchmark, plans, teacherOf, info, environment, now };
  const { runDir, run } = previous === undefined
    ? await startRunFolder(folder, options, setLock)
    : await reopenRunFolder(folder, previous);
  log.info(`Results: ${runDir}`);
  options.onRunFolder?.(runDir, run.runId);
  if (options.planOnly) {
    const records = await Promise.all(plans.map((p) => readJobRecord(runDir, p.id)));
    return {
      runDir,
      runId: run.runId,
      records,
      summary: "",
      reportFiles: [],
      exitCode: 0,
      interrupted: false,
    };
  }

  const toRun = plans.filter((p) => !kept.has(p.id));
  const ran = await runJobs(
    toRun,
    plans.length - toRun.length,
    runDir,
    backend.name,
    benchmark,
    options,
  );
  const records: JobRecord[] = [];
  for (const p of plans) {
    // Jobs an interrupt kept from starting are still as written (pending, or a resumed job's).
    records.push(kept.get(p.id) ?? ran.get(p.id) ?? await readJobRecord(runDir, p.id));
  }
  const interrupted = options.interrupts?.stopping === true &&
    records.some((r) => !FINAL.has(r.status) || r.status === "interrupted");
  return interrupted
    ? await recordInterrupt(runDir, run, records, log)
    : await finishRun(runDir, run, records, log);
}

/**
 * A resumed run must get the very jobs it started, on the same backend; a
 * code change since is only a warning.
 */
function checkSameRun(
  benchmark: ResolvedBenchmark,
  plans: JobPlan[],
  previous: RunResults,
  backend: string,
  environment: Environment,
  log: Logger,
): void {
  const ids = plans.map((p) => p.id).join(",");
  if (ids !== previous.run.jobs.join(",")) {
    throw new UserError(
      `${benchmark.file} no longer gives the jobs of run ${previous.run.runId} (${previous.run.jobs.length} jobs: ${
        previous.run.jobs.slice(0, 3).join(", ")
      }${
        previous.run.jobs.length > 3 ? ", ..." : ""
      }); resume with the file as it was, or start a new run`,
    );
  }
  const was = previous.run.environment.backend;
  if (was !== backend) {
    throw new UserError(
      `Run ${previous.run.runId} ran on ${was}, but this process uses ${backend}; ` +
        `resume with --backend ${was} (numbers differ across backends)`,
    );
  }
  if (previous.run.environment.gitCommit !== environment.gitCommit) {
    log.warn(
      `The code changed since run ${previous.run.runId} started (commit ${
        previous.run.environment.gitCommit.slice(0, 7)
      }, now ${environment.gitCommit.slice(0, 7)}): resumed jobs continue with this code`,
    );
  }
}

/** The run's first log line: jobs, pairs x methods x seeds, parallelism, backend. */
function runHeadline(
  benchmark: ResolvedBenchmark,
  plans: JobPlan[],
  parallel: number,
  backend: string,
  previous: RunResults | undefined,
  kept: KeptJobs,
): string {
  return `${benchmark.name}: ${plans.length} jobs (${benchmark.pairs.length} pair(s) x ${
    new Set(plans.map((p) => p.method.method)).size
  } method(s) x ${new Set(plans.map((p) => p.seed)).size} seed(s)), ${
    Math.min(parallel, plans.length)
  } at a time on ${backend}${
    benchmark.scaled ? `; SCALED: ${benchmark.scaledLabel ?? "yes"}` : ""
  }${
    previous !== undefined
      ? `; resuming ${previous.run.runId}: ${kept.size} finished, ${
        plans.length - kept.size
      } to run`
      : ""
  }`;
}

/**
 * Every teacher once (pairs sharing a teacher declaration share it), before
 * the jobs, so parallel jobs never train the same one twice.
 */
async function prepareTeachers(
  benchmark: ResolvedBenchmark,
  plans: JobPlan[],
  data: Dataset,
  options: RunOptions,
): Promise<Map<string, PreparedTeacher>> {
  const { toolkit, log } = options;
  const teachers = new Map<string, PreparedTeacher>();
  const teacherOf = new Map<string, PreparedTeacher>();
  for (const pair of benchmark.pairs) {
    if (!plans.some((p) => p.pair.id === pair.id)) continue;
    const key = canonicalJson(pair.teacher);
    let teacher = teachers.get(key);
    if (teacher === undefined) {
      log.info(`Teacher for ${pair.id}: ${describeTeacher(pair.teacher)}`);
      teacher = await toolkit.prepareTeacher(pair.teacher, benchmark.dataset, {
        dataRoot: options.dataRoot,
        data,
        ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
        log,
      });
      log.info(
        `Teacher for ${pair.id}: ${
          teacher.file === undefined ? "" : `${teacher.file} sha256 ${teacher.hash}, `
        }${teacher.arch}, test accuracy ${
          (teacher.testAccuracy * 100).toFixed(2)
        }% (${teacher.path})`,
      );
      teachers.set(key, teacher);
    }
    teacherOf.set(pair.id, teacher);
  }
  return teacherOf;
}

/** What writing a run folder needs. */
interface FolderPlan {
  benchmark: ResolvedBenchmark;
  plans: JobPlan[];
  teacherOf: Map<string, PreparedTeacher>;
  info: DatasetShape;
  environment: Environment;
  now: Date;
}

/** A dataset's class count and image shape. */
type DatasetShape = { classes: number; imageShape: readonly [number, number, number] };

/** Claims and locks a fresh run folder, and writes its manifest and every job as pending. */
async function startRunFolder(
  f: FolderPlan,
  options: RunOptions,
  setLock: (lock: FileLock) => void,
): Promise<{ runDir: string; run: RunRecord }> {
  const { benchmark, plans, teacherOf, environment } = f;
  const claimed = await claimRunFolder(
    options.out,
    benchmark.name,
    makeRunId(f.now, environment.gitCommit),
  );
  const runDir = claimed.dir;
  setLock(await acquireRunLock(runDir));
  const run: RunRecord = {
    schema: RUN_RECORD_SCHEMA,
    benchmark: benchmark.name,
    runId: claimed.runId,
    benchmarkFile: benchmark.file,
    benchmarkSource: benchmark.source,
    tags: benchmark.tags,
    jobs: plans.map((p) => p.id),
    smoke: benchmark.smoke,
    scaled: benchmark.scaled,
    ...(benchmark.scaledLabel !== undefined ? { scaledLabel: benchmark.scaledLabel } : {}),
    teachers: [...teacherOf.entries()].map(([pair, t]) => ({
      pair,
      arch: t.arch,
      source: t.source,
      hash: t.hash,
      path: t.path,
      testAccuracy: t.testAccuracy,
      ...(t.file !== undefined ? { file: t.file } : {}),
    })),
    options: {
      backend: options.backend,
      jobs: options.jobs,
      dataRoot: options.dataRoot,
      ...(options.methods ? { methods: options.methods } : {}),
      ...(options.seeds ? { seeds: options.seeds } : {}),
    },
    regression: benchmark.regression,
    environment,
    startedAt: f.now.toISOString(),
  };
  await writeRunRecord(runDir, run);
  for (const plan of plans) {
    const teacher = teacherOf.get(plan.pair.id) as PreparedTeacher;
    await writeJobFiles(
      runDir,
      pendingRecord(benchmark, plan, teacher, f.info, claimed.runId, environment),
    );
  }
  return { runDir, run };
}

/**
 * Reopens a resumed run's folder: the file must still give every job the
 * configuration it started with; the manifest records the resume.
 */
async function reopenRunFolder(
  f: FolderPlan,
  previous: RunResults,
): Promise<{ runDir: string; run: RunRecord }> {
  const { benchmark, plans, teacherOf, environment } = f;
  const runDir = previous.dir;
  const run = previous.run;
  const byId = new Map(previous.jobs.map((j) => [j.id, j]));
  for (const plan of plans) {
    const teacher = teacherOf.get(plan.pair.id) as PreparedTeacher;
    const expected = pendingRecord(benchmark, plan, teacher, f.info, run.runId, environment);
    const job = byId.get(plan.id);
    if (job === undefined) {
      // Its record was never written (the run died while starting): a fresh pending one.
      await writeJobFiles(runDir, expected);
      continue;
    }
    if (job.configHash !== expected.configHash) {
      throw new UserError(
        `${benchmark.file} no longer matches run ${run.runId}: job ${plan.id} has another ` +
          `configuration now (budget, hyperparameters, teacher, ...); resume with the file as ` +
          `it was, or start a new run`,
      );
    }
  }
  delete run.finishedAt;
  delete run.interruptedAt;
  run.resumedAt = [...(run.resumedAt ?? []), f.now.toISOString()];
  await writeRunRecord(runDir, run);
  return { runDir, run };
}

/** Records the interrupt in the manifest and returns the outcome (no reports: resume it). */
async function recordInterrupt(
  runDir: string,
  run: RunRecord,
  records: JobRecord[],
  log: Logger,
): Promise<RunOutcome> {
  run.interruptedAt = new Date().toISOString();
  await writeRunRecord(runDir, run);
  const unfinished = records.filter((r) => r.status !== "completed" && r.status !== "diverged");
  log.warn(
    `Interrupted: ${unfinished.length} of ${records.length} jobs unfinished (${
      unfinished.map((r) => `${r.id} ${r.status}`).join(", ")
    })`,
  );
  return {
    runDir,
    runId: run.runId,
    records,
    summary: "",
    reportFiles: [],
    exitCode: INTERRUPTED_EXIT_CODE,
    interrupted: true,
  };
}

/** Marks the run finished, removes the empty checkpoints folder and writes the reports. */
async function finishRun(
  runDir: string,
  run: RunRecord,
  records: JobRecord[],
  log: Logger,
): Promise<RunOutcome> {
  run.finishedAt = new Date().toISOString();
  await writeRunRecord(runDir, run);
  // Completed jobs delete their checkpoints; the folder goes once it is empty.
  await Deno.remove(join(runDir, RUN_LAYOUT.checkpointsDir)).catch(() => {});
  const written = await writeReports(await loadRunResults(runDir));
  const failed = records.filter((r) => r.status !== "completed");
  if (failed.length > 0) {
    log.warn(
      `${failed.length} of ${records.length} jobs did not complete: ${
        failed.map((r) => `${r.id} (${r.status})`).join(", ")
      }`,
    );
  }
  return {
    runDir,
    runId: run.runId,
    records,
    summary: written.summary,
    reportFiles: written.files,
    exitCode: failed.length > 0 ? 1 : 0,
    interrupted: false,
  };
}

/**
 * Checks that every method of `benchmark` accepts its settings (ranges,
 * choices, sizes it can allocate) by creating it once per pair with untrained
 * networks of the pair's architectures; problems are one `UserError` (exit 2),
 * one line each, `file: methods.<name>: message`. Pairs with a teacher file
 * are checked by the runner once the file is loaded. The backend must be
 * initialised.
 *
 * @example
 * ```ts
 * import { checkMethodSettings } from "./runner.ts";
 * import type { ResolvedBenchmark } from "./spec.ts";
 * import type { Toolkit } from "./toolkit.ts";
 * declare const benchmark: ResolvedBenchmark;
 * declare const toolkit: Toolkit;
 * // await checkMethodSettings(benchmark, toolkit);
 * ```
 */
export function checkMethodSettings(
  benchmark: ResolvedBenchmark,
  toolkit: Toolkit,
  backend = "wasm",
): Promise<void> {
  return preflight(
    benchmark,
    expandJobs(benchmark),
    undefined,
    toolkit.datasetInfo(benchmark.dataset),
    toolkit,
    backend,
  );
}

/**
 * Creates (and disposes) each method once per pair before any job starts, so
 * a hyperparameter a plug-in rejects (out of range, not one of its choices,
 * or too big to allocate) is a `UserError` naming the file and method now,
 * not a failed job later. Pairs whose teacher is declared by architecture are
 * checked with an untrained network of that architecture (before any teacher
 * is trained); the others with their loaded teacher (`teacherOf`).
 */
async function preflight(
  benchmark: ResolvedBenchmark,
  plans: JobPlan[],
  teacherOf: Map<string, PreparedTeacher> | undefined,
  info: DatasetShape,
  toolkit: Toolkit,
  backend: string,
): Promise<void> {
  const problems: string[] = [];
  const limit = memoryLimitFor(backend);
  for (const pair of benchmark.pairs) {
    const methods = benchmark.methods.filter((m) =>
      plans.some((p) => p.pair.id === pair.id && p.method.method === m.method)
    );
    if (methods.length === 0) continue;
    const expected = { inputShape: info.imageShape, classes: info.classes };
    let teacher: Classifier;
    if (teacherOf === undefined) {
      if (pair.teacher.kind !== "recipe") continue;
      teacher = toolkit.buildStudent(pair.teacher.arch, { ...expected, seed: 0 });
    } else {
      const prepared = teacherOf.get(pair.id);
      if (pair.teacher.kind === "recipe" || prepared === undefined) continue;
      teacher = await toolkit.loadTeacher(prepared, expected);
    }
    const student = toolkit.buildStudent(pair.student, { ...expected, seed: 0 });
    try {
      for (const m of methods) {
        const plugin = toolkit.getMethod(m.method);
        const tooBig = memoryCheck(plugin, benchmark, info, m.hyper, { teacher, student, limit });
        if (tooBig !== undefined) {
          problems.push(`${benchmark.file}: methods.${m.method}: ${tooBig}`);
          continue;
        }
        try {
          plugin.create({
            teacher,
            student,
            imageShape: info.imageShape,
            classes: info.classes,
            budget: benchmark.budget,
            hyper: m.hyper,
            rng: new Rng(0),
            log: silentLogger,
          }).dispose();
        } catch (error) {
          const message = error instanceof UserError
            ? error.message
            : `cannot be set up with these settings: ${
              error instanceof Error ? error.message || error.name : String(error)
            }`;
          problems.push(`${benchmark.file}: methods.${m.method}: ${message}`);
        }
      }
    } finally {
      student.model.dispose();
      teacher.model.dispose();
    }
  }
  if (problems.length > 0) throw new UserError([...new Set(problems)].join("\n"));
}

/**
 * The job's memory estimated from shapes (`methods/memory_estimate.ts`): a
 * message when it cannot fit, else undefined. A hyperparameter the plug-in
 * rejects is left for its `create` to report.
 */
function memoryCheck(
  plugin: MethodPlugin,
  benchmark: ResolvedBenchmark,
  info: DatasetShape,
  hyper: Hyperparameters,
  job: { teacher: Classifier; student: Classifier; limit: MemoryLimit | undefined },
): string | undefined {
  if (job.limit === undefined) return undefined;
  const { teacher, student } = job;
  const batch = benchmark.budget.batchSize;
  let own: MemoryPart[] = [];
  try {
    own = plugin.memory?.({
      imageShape: info.imageShape,
      classes: info.classes,
      budget: benchmark.budget,
      hyper,
    }) ?? [];
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
  }
  return memoryProblem([
    classifierPart("teacher", teacher, false, batch),
    classifierPart("student", student, true, batch),
    ...own,
  ], job.limit);
}

function describeTeacher(t: ResolvedBenchmark["pairs"][number]["teacher"]): string {
  if (t.kind === "path") return `loading ${t.path}`;
  if (t.kind === "pytorch") {
    return `importing the PyTorch checkpoint ${t.file} as ${t.arch} (converted once, cached by its SHA-256)`;
  }
  const overrides = Object.keys(t.recipe).length ? ` with ${JSON.stringify(t.recipe)}` : "";
  return `${t.arch} by recipe${overrides} (from the cache, or trained now)`;
}

function pendingRecord(
  benchmark: ResolvedBenchmark,
  plan: JobPlan,
  teacher: PreparedTeacher,
  info: DatasetShape,
  runId: string,
  environment: Environment,
): JobRecord {
  const config: JobConfig = {
    benchmark: benchmark.name,
    dataset: benchmark.dataset,
    imageShape: [...info.imageShape],
    classes: info.classes,
    pair: plan.pair.id,
    teacher: {
      arch: teacher.arch,
      source: teacher.source,
      hash: teacher.hash,
      path: teacher.path,
      ...(teacher.recipe !== undefined ? { recipe: teacher.recipe } : {}),
      ...(teacher.file !== undefined ? { file: teacher.file } : {}),
    },
    student: plan.pair.student,
    method: plan.method.method,
    hyperparameters: plan.method.hyper,
    budget: benchmark.budget,
    evaluation: benchmark.evaluation,
    scaled: benchmark.scaled,
    ...(benchmark.scaledLabel !== undefined ? { scaledLabel: benchmark.scaledLabel } : {}),
    smoke: benchmark.smoke,
    ...(benchmark.checkpoint.everyEpochs !== undefined
      ? { checkpointEveryEpochs: benchmark.checkpoint.everyEpochs }
      : {}),
  };
  return {
    schema: JOB_RECORD_SCHEMA,
    benchmark: benchmark.name,
    runId,
    id: plan.id,
    pair: plan.pair.id,
    teacherArch: teacher.arch,
    studentArch: plan.pair.student,
    dataset: benchmark.dataset,
    method: plan.method.method,
    seed: plan.seed,
    config,
    configHash: configHash(config),
    scaled: benchmark.scaled,
    teacherAccuracy: teacher.testAccuracy,
    ...(teacher.source === "pytorch" && teacher.file !== undefined
      ? { teacherFile: { name: teacher.file, sha256: teacher.hash } }
      : {}),
    status: "pending",
    epochs: [],
    replayBytes: 0,
    wallSeconds: 0,
    imagesPerSecond: 0,
    environment,
    startedAt: new Date().toISOString(),
  };
}

/**
 * Runs `plans`, `options.jobs` processes at a time, and resolves to the
 * records of the jobs that ran. After a first interrupt no job starts and the
 * running ones are told to stop cleanly; after a second they are killed.
 */
async function runJobs(
  plans: JobPlan[],
  alreadyDone: number,
  runDir: string,
  backend: string,
  benchmark: ResolvedBenchmark,
  options: RunOptions,
): Promise<Map<string, JobRecord>> {
  const epochs = benchmark.budget.epochs;
  const total = plans.length + alreadyDone;
  const overall = options.log.progress("all jobs", total * epochs);
  const progress = new Map<string, number>();
  let shown = -1;
  const updateOverall = () => {
    let done = alreadyDone * epochs;
    for (const v of progress.values()) done += v;
    if (done === shown) return;
    shown = done;
    const finished = alreadyDone + [...progress.values()].filter((v) => v >= epochs).length;
    overall.update(done, { jobs: `${finished}/${total} done` });
  };
  updateOverall();
  const records = new Map<string, JobRecord>();
  const running = new Map<string, JobProcess>();
  const interrupts = options.interrupts;
  const offStop = interrupts?.onStop(() => {
    options.log.warn(
      `Interrupt: finishing the current step of ${running.size} running job(s) and saving ` +
        `checkpoints; no new job starts (press Ctrl-C again to stop at once)`,
    );
    for (const p of running.values()) p.send("stop");
  });
  const offAbort = interrupts?.onAbort(() => {
    options.log.warn(`Second interrupt: stopping ${running.size} job(s) at once`);
    for (const p of running.values()) p.kill();
  });
  const lanes = Math.max(1, Math.min(options.jobs, plans.length));
  const jobOptions = { ...options, threads: options.threads ?? threadsPerJob(lanes) };
  let next = 0;
  const lane = async () => {
    while (next < plans.length && !interrupts?.stopping) {
      const plan = plans[next++] as JobPlan;
      const record = await runOneJob(plan, runDir, backend, epochs, jobOptions, {
        onProgress: (p) => {
          progress.set(plan.id, p);
          updateOverall();
        },
        onStart: (p) => running.set(plan.id, p),
      });
      running.delete(plan.id);
      if (record.status !== "interrupted") progress.set(plan.id, epochs);
      updateOverall();
      records.set(plan.id, record);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: lanes }, lane),
    );
  } finally {
    offStop?.();
    offAbort?.();
    overall.stop();
  }
  return records;
}

/**
 * The compute threads each of `lanes` simultaneous jobs gets by default: the
 * logical cores shared among them (at least 1, at most the wasm pool's size).
 *
 * @example
 * ```ts
 * import { threadsPerJob } from "./runner.ts";
 * console.log(threadsPerJob(navigator.hardwareConcurrency)); // 1
 * ```
 */
export function threadsPerJob(lanes: number): number {
  const share = Math.floor(navigator.hardwareConcurrency / Math.max(1, lanes));
  return Math.max(1, Math.min(MAX_WASM_THREADS, share));
}
