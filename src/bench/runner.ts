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
import { fileURLToPath as fromFileUrl } from "node:url";
import type { BackendRequest } from "../backends/init_backend.ts";
import { curveMetrics } from "../results/metrics.ts";
import { loadRunResults, type RunResults } from "../results/load_run.ts";
import { writeReports } from "../report/report.ts";
import { collectEnvironment, type Environment } from "../util/environment.ts";
import { UserError } from "../util/errors.ts";
import { formatSeconds, type Logger, type Progress, silentLogger } from "../util/logger.ts";
import { Rng } from "../util/rng.ts";
import { describeHolder, type FileLock } from "../util/file_lock.ts";
import type { Interrupter } from "../util/interrupt.ts";
import { canonicalJson, configHash, expandJobs, type JobPlan } from "./job_plan.ts";
import type { JobConfig } from "../results/records.ts";
import { JOB_WORKER_MODULE } from "./job_worker.ts";
import { decodeMessage } from "./protocol.ts";
import {
  JOB_RECORD_SCHEMA,
  type JobRecord,
  type JobStatus,
  RUN_LAYOUT,
  RUN_RECORD_SCHEMA,
  type RunRecord,
  type TeacherRecord,
} from "../results/records.ts";
import {
  acquireRunLock,
  claimRunFolder,
  findRunFolder,
  jobLogPath,
  makeRunId,
  readJobRecord,
  writeJobFiles,
  writeRunRecord,
} from "../results/run_folder.ts";
import type { ResolvedBenchmark } from "./spec.ts";
import type { PreparedTeacher, Toolkit } from "./toolkit.ts";
import type { Classifier } from "../models/classifier.ts";

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
 * import { INTERRUPTED_EXIT_CODE } from "./runner.ts";
 * console.log(INTERRUPTED_EXIT_CODE); // 130
 * ```
 */
export const INTERRUPTED_EXIT_CODE = 130;

/** Terminal colour codes (ESC [ ... m). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

const FINAL: ReadonlySet<JobStatus> = new Set(["completed", "diverged", "failed", "interrupted"]);

/** The deno.json job processes run with (so they resolve the same imports). */
function denoConfigPath(): string | undefined {
  const url = new URL("../../deno.json", import.meta.url);
  return url.protocol === "file:" ? fromFileUrl(url) : undefined;
}

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
      if (options.methods || options.seeds) {
        throw new UserError(
          "--resume continues the run's own jobs: --methods and --seeds cannot change them",
          2,
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
      2,
    );
  }
  if (run.smoke !== benchmark.smoke) {
    throw new UserError(
      `${previous.dir} was ${run.smoke ? "a --smoke run" : "a full run"}: resume it ${
        run.smoke ? "with" : "without"
      } --smoke`,
      2,
    );
  }
}

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
  if (previous !== undefined) {
    const ids = plans.map((p) => p.id).join(",");
    if (ids !== previous.run.jobs.join(",")) {
      throw new UserError(
        `${benchmark.file} no longer gives the jobs of run ${previous.run.runId} (${previous.run.jobs.length} jobs: ${
          previous.run.jobs.slice(0, 3).join(", ")
        }${
          previous.run.jobs.length > 3 ? ", ..." : ""
        }); resume with the file as it was, or start a new run`,
        2,
      );
    }
    const was = previous.run.environment.backend;
    if (was !== backend.name) {
      throw new UserError(
        `Run ${previous.run.runId} ran on ${was}, but this process uses ${backend.name}; ` +
          `resume with --backend ${was} (numbers differ across backends)`,
        2,
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
  const kept = new Map<string, JobRecord>();
  for (const job of previous?.jobs ?? []) {
    if (job.status === "completed" || job.status === "diverged") kept.set(job.id, job);
  }
  log.info(
    `${benchmark.name}: ${plans.length} jobs (${benchmark.pairs.length} pair(s) x ${
      new Set(plans.map((p) => p.method.method)).size
    } method(s) x ${new Set(plans.map((p) => p.seed)).size} seed(s)), ${
      Math.min(options.jobs, plans.length)
    } at a time on ${backend.name}${
      benchmark.scaled ? `; SCALED: ${benchmark.scaledLabel ?? "yes"}` : ""
    }${
      previous !== undefined
        ? `; resuming ${previous.run.runId}: ${kept.size} finished, ${
          plans.length - kept.size
        } to run`
        : ""
    }`,
  );

  // Methods that reject their settings stop the run before a teacher is trained.
  await preflight(benchmark, plans, undefined, info, toolkit);

  // The data must be there before anything is written (a clear error otherwise).
  const data = await toolkit.loadDataset(benchmark.dataset, { dataRoot: options.dataRoot, log });

  // Every teacher once, before the jobs, so parallel jobs never train the same one twice.
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
        `Teacher for ${pair.id}: ${teacher.arch}, test accuracy ${
          (teacher.testAccuracy * 100).toFixed(2)
        }% (${teacher.path})`,
      );
      teachers.set(key, teacher);
    }
    teacherOf.set(pair.id, teacher);
  }

  await preflight(benchmark, plans, teacherOf, info, toolkit);

  const now = options.now?.() ?? new Date();
  let runDir: string;
  let run: RunRecord;
  if (previous === undefined) {
    const claimed = await claimRunFolder(
      options.out,
      benchmark.name,
      makeRunId(now, environment.gitCommit),
    );
    runDir = claimed.dir;
    setLock(await acquireRunLock(runDir));
    const teacherRecords: TeacherRecord[] = [...teacherOf.entries()].map(([pair, t]) => ({
      pair,
      arch: t.arch,
      source: t.source,
      hash: t.hash,
      path: t.path,
      testAccuracy: t.testAccuracy,
    }));
    run = {
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
      teachers: teacherRecords,
      options: {
        backend: options.backend,
        jobs: options.jobs,
        dataRoot: options.dataRoot,
        ...(options.methods ? { methods: options.methods } : {}),
        ...(options.seeds ? { seeds: options.seeds } : {}),
      },
      regression: benchmark.regression,
      environment,
      startedAt: now.toISOString(),
    };
    await writeRunRecord(runDir, run);
    for (const plan of plans) {
      const teacher = teacherOf.get(plan.pair.id) as PreparedTeacher;
      await writeJobFiles(
        runDir,
        pendingRecord(benchmark, plan, teacher, info, claimed.runId, environment),
      );
    }
  } else {
    runDir = previous.dir;
    run = previous.run;
    // The file must still describe the very jobs the run started.
    const byId = new Map(previous.jobs.map((j) => [j.id, j]));
    for (const plan of plans) {
      const teacher = teacherOf.get(plan.pair.id) as PreparedTeacher;
      const expected = pendingRecord(benchmark, plan, teacher, info, run.runId, environment);
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
          2,
        );
      }
    }
    delete run.finishedAt;
    delete run.interruptedAt;
    run.resumedAt = [...(run.resumedAt ?? []), now.toISOString()];
    await writeRunRecord(runDir, run);
  }
  log.info(`Results: ${runDir}`);
  options.onRunFolder?.(runDir, run.runId);

  const toRun = plans.filter((p) => !kept.has(p.id));
  const ran = await runJobs(
    toRun,
    plans.length - toRun.length,
    runDir,
    backend.name,
    benchmark,
    options,
  );
  const finalRecords: JobRecord[] = [];
  for (const p of plans) {
    // Jobs an interrupt kept from starting are still as written (pending, or a resumed job's).
    finalRecords.push(kept.get(p.id) ?? ran.get(p.id) ?? await readJobRecord(runDir, p.id));
  }
  const interrupted = options.interrupts?.stopping === true &&
    finalRecords.some((r) => !FINAL.has(r.status) || r.status === "interrupted");

  if (interrupted) {
    run.interruptedAt = new Date().toISOString();
    await writeRunRecord(runDir, run);
    const unfinished = finalRecords.filter((r) =>
      r.status !== "completed" && r.status !== "diverged"
    );
    log.warn(
      `Interrupted: ${unfinished.length} of ${finalRecords.length} jobs unfinished (${
        unfinished.map((r) => `${r.id} ${r.status}`).join(", ")
      })`,
    );
    return {
      runDir,
      runId: run.runId,
      records: finalRecords,
      summary: "",
      reportFiles: [],
      exitCode: INTERRUPTED_EXIT_CODE,
      interrupted: true,
    };
  }
  run.finishedAt = new Date().toISOString();
  await writeRunRecord(runDir, run);
  // Completed jobs delete their checkpoints; the folder goes once it is empty.
  await Deno.remove(join(runDir, RUN_LAYOUT.checkpointsDir)).catch(() => {});
  const written = await writeReports(await loadRunResults(runDir));
  const failed = finalRecords.filter((r) => r.status !== "completed");
  if (failed.length > 0) {
    log.warn(
      `${failed.length} of ${finalRecords.length} jobs did not complete: ${
        failed.map((r) => `${r.id} (${r.status})`).join(", ")
      }`,
    );
  }
  return {
    runDir,
    runId: run.runId,
    records: finalRecords,
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
export function checkMethodSettings(benchmark: ResolvedBenchmark, toolkit: Toolkit): Promise<void> {
  return preflight(
    benchmark,
    expandJobs(benchmark),
    undefined,
    toolkit.datasetInfo(benchmark.dataset),
    toolkit,
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
  info: { classes: number; imageShape: readonly [number, number, number] },
  toolkit: Toolkit,
): Promise<void> {
  const problems: string[] = [];
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
        try {
          toolkit.getMethod(m.method).create({
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
  if (problems.length > 0) throw new UserError([...new Set(problems)].join("\n"), 2);
}

function describeTeacher(t: ResolvedBenchmark["pairs"][number]["teacher"]): string {
  if (t.kind === "path") return `loading ${t.path}`;
  const overrides = Object.keys(t.recipe).length ? ` with ${JSON.stringify(t.recipe)}` : "";
  return `${t.arch} by recipe${overrides} (from the cache, or trained now)`;
}

function pendingRecord(
  benchmark: ResolvedBenchmark,
  plan: JobPlan,
  teacher: PreparedTeacher,
  info: { classes: number; imageShape: readonly [number, number, number] },
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
  let next = 0;
  const lane = async () => {
    while (next < plans.length && !interrupts?.stopping) {
      const plan = plans[next++] as JobPlan;
      const record = await runOneJob(plan, runDir, backend, epochs, options, {
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
      Array.from({ length: Math.max(1, Math.min(options.jobs, plans.length)) }, lane),
    );
  } finally {
    offStop?.();
    offAbort?.();
    overall.stop();
  }
  return records;
}

/** A running job process, as the interrupt handlers see it. */
interface JobProcess {
  /** Sends a control line (`stop`, `abort`). */
  send(line: string): void;
  /** Kills the process at once. */
  kill(): void;
}

async function runOneJob(
  plan: JobPlan,
  runDir: string,
  backend: string,
  epochs: number,
  options: RunOptions,
  hooks: { onProgress: (epochsDone: number) => void; onStart: (p: JobProcess) => void },
): Promise<JobRecord> {
  const log = options.log;
  const onProgress = hooks.onProgress;
  const config = denoConfigPath();
  const args = [
    "run",
    "-A",
    "--quiet",
    ...(config ? [`--config=${config}`] : []),
    fromFileUrl(JOB_WORKER_MODULE),
    "--run-dir",
    runDir,
    "--job",
    plan.id,
    "--backend",
    backend,
    "--data-root",
    options.dataRoot,
    ...(options.toolkitModule ? ["--toolkit", options.toolkitModule] : []),
  ];
  const started = performance.now();
  const logFile = await Deno.open(jobLogPath(runDir, plan.id), {
    write: true,
    create: true,
    append: true,
  });
  const encoder = new TextEncoder();
  const writeLog = (line: string) => logFile.writeSync(encoder.encode(line + "\n"));
  const bar: Progress = log.progress(plan.id, epochs);
  let accuracy: number | undefined;
  const fields = (epoch: number) => ({
    epoch: `${Math.min(epoch + 1, epochs)}/${epochs}`,
    ...(accuracy !== undefined ? { acc: `${(accuracy * 100).toFixed(1)}%` } : {}),
  });
  const tail: string[] = [];
  let status: Deno.CommandStatus;
  let killed = false;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // The job's stdin carries control lines; its end tells the job the runner is gone.
    const control = child.stdin.getWriter();
    let sending = Promise.resolve();
    hooks.onStart({
      send: (line) => {
        sending = sending.then(() => control.write(encoder.encode(line + "\n"))).catch(() => {});
      },
      kill: () => {
        killed = true;
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      },
    });
    if (options.interrupts?.stopping) {
      sending = control.write(encoder.encode("stop\n")).catch(() => {});
    }
    const readStdout = forEachLine(child.stdout, (line) => {
      const message = decodeMessage(line);
      if (message === undefined) {
        writeLog(line);
        return;
      }
      switch (message.type) {
        case "started":
          if (message.startEpoch > 0) {
            bar.update(message.startEpoch, fields(message.startEpoch - 1));
            onProgress(message.startEpoch);
          }
          break;
        case "step": {
          // The epoch message reports the epoch's end; steps only move within it.
          if (message.done >= message.total) break;
          const done = message.epoch + message.done / Math.max(1, message.total);
          bar.update(done, fields(message.epoch));
          onProgress(done);
          break;
        }
        case "epoch":
          accuracy = message.accuracy;
          bar.update(message.epoch + 1, fields(message.epoch));
          onProgress(message.epoch + 1);
          break;
        case "log":
          writeLog(`[${message.level}] ${message.message}`);
          if (message.level === "warn") log.warn(`${plan.id}: ${message.message}`);
          else log.info(`${plan.id}: ${message.message}`);
          break;
        default:
          break;
      }
    });
    const readStderr = forEachLine(child.stderr, (raw) => {
      // Deno colours its own error messages; the record keeps plain text.
      const line = raw.replace(ANSI_COLOUR, "");
      writeLog(line);
      if (line.trim() !== "") {
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    });
    status = await child.status;
    await Promise.all([readStdout, readStderr]);
    await sending;
    await control.close().catch(() => {});
  } finally {
    bar.stop();
    logFile.close();
  }
  let record: JobRecord;
  try {
    record = await readJobRecord(runDir, plan.id);
  } catch (error) {
    throw new Error(`The record of ${plan.id} is unreadable: ${(error as Error).message}`);
  }
  if (!FINAL.has(record.status)) {
    const how = status.signal
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    if (killed || options.interrupts?.aborting) {
      record.status = "interrupted";
      record.error = `Stopped at once by a second interrupt; it resumes from its last checkpoint${
        record.checkpoint
          ? ` (after epoch ${record.checkpoint.epochsDone})`
          : " (none: from the start)"
      }`;
    } else {
      const last = lastErrorLine(tail);
      record.status = "failed";
      record.error = `The job process ${how} before finishing${last ? ` (${last})` : ""}; see ${
        jobLogPath(runDir, plan.id)
      }`;
    }
    record.finishedAt = new Date().toISOString();
    record.wallSeconds = Math.max(record.wallSeconds, (performance.now() - started) / 1000);
    await writeJobFiles(runDir, record);
  }
  const summary = record.epochs.length > 0
    ? (() => {
      const m = curveMetrics(record.epochs.map((e) => e.accuracy));
      return `mu ${(m.mu * 100).toFixed(2)}%, final ${(m.final * 100).toFixed(2)}%, `;
    })()
    : "";
  const line = `${plan.id}: ${record.status} (${summary}${formatSeconds(record.wallSeconds)})${
    record.error ? `: ${record.error}` : ""
  }`;
  if (record.status === "completed") log.info(line);
  else log.warn(line);
  return record;
}

function lastErrorLine(lines: string[]): string | undefined {
  const error = [...lines].reverse().find((l) => /error|fatal|out of memory|panic/i.test(l));
  const line = error ?? lines[lines.length - 1];
  return line === undefined ? undefined : line.trim().slice(0, 300);
}

async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, newline).replace(/\r$/, ""));
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer.length > 0) onLine(buffer);
}
