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
import { fileURLToPath as fromFileUrl } from "node:url";
import type { BackendRequest } from "../backends/init_backend.ts";
import { curveMetrics } from "./metrics.ts";
import { loadRunResults } from "../report/results.ts";
import { writeReports } from "../report/report.ts";
import { collectEnvironment, type Environment } from "../util/environment.ts";
import { UserError } from "../util/errors.ts";
import { formatSeconds, type Logger, type Progress, silentLogger } from "../util/logger.ts";
import { Rng } from "../util/rng.ts";
import { canonicalJson, configHash, expandJobs, type JobConfig, type JobPlan } from "./jobs.ts";
import { JOB_WORKER_MODULE } from "./job_worker.ts";
import { decodeMessage } from "./protocol.ts";
import {
  JOB_RECORD_SCHEMA,
  type JobRecord,
  type JobStatus,
  RUN_RECORD_SCHEMA,
  type RunRecord,
  type TeacherRecord,
} from "./record.ts";
import {
  acquireRunLock,
  claimRunFolder,
  jobLogPath,
  makeRunId,
  readJobRecord,
  releaseRunLock,
  writeJobFiles,
  writeRunRecord,
} from "./run_folder.ts";
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
  /** 0 when every job completed, 1 otherwise. */
  exitCode: number;
}

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
  const { toolkit, log } = options;
  const filter = {
    ...(options.methods ? { methods: options.methods } : {}),
    ...(options.seeds ? { seeds: options.seeds } : {}),
  };
  const plans = expandJobs(benchmark, filter);
  const info = toolkit.datasetInfo(benchmark.dataset);
  const backend = await toolkit.initBackend(options.backend);
  const environment = await collectEnvironment(backend);
  log.info(
    `${benchmark.name}: ${plans.length} jobs (${benchmark.pairs.length} pair(s) x ${
      new Set(plans.map((p) => p.method.method)).size
    } method(s) x ${new Set(plans.map((p) => p.seed)).size} seed(s)), ${
      Math.min(options.jobs, plans.length)
    } at a time on ${backend.name}${
      benchmark.scaled ? `; SCALED: ${benchmark.scaledLabel ?? "yes"}` : ""
    }`,
  );

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
  const claimed = await claimRunFolder(
    options.out,
    benchmark.name,
    makeRunId(now, environment.gitCommit),
  );
  const runDir = claimed.dir;
  await acquireRunLock(runDir);
  try {
    const teacherRecords: TeacherRecord[] = [...teacherOf.entries()].map(([pair, t]) => ({
      pair,
      arch: t.arch,
      source: t.source,
      hash: t.hash,
      path: t.path,
      testAccuracy: t.testAccuracy,
    }));
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
    log.info(`Results: ${runDir}`);

    const records = await runJobs(plans, runDir, backend.name, benchmark, options);

    run.finishedAt = new Date().toISOString();
    await writeRunRecord(runDir, run);
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
      runId: claimed.runId,
      records,
      summary: written.summary,
      reportFiles: written.files,
      exitCode: failed.length > 0 ? 1 : 0,
    };
  } finally {
    await releaseRunLock(runDir);
  }
}

/**
 * Creates (and disposes) each method once per pair before any job starts, so
 * a hyperparameter a plug-in rejects (out of range, not one of its choices)
 * is a `UserError` naming the file and method now, not a failed job later.
 */
async function preflight(
  benchmark: ResolvedBenchmark,
  plans: JobPlan[],
  teacherOf: Map<string, PreparedTeacher>,
  info: { classes: number; imageShape: readonly [number, number, number] },
  toolkit: Toolkit,
): Promise<void> {
  const problems: string[] = [];
  for (const pair of benchmark.pairs) {
    const methods = benchmark.methods.filter((m) =>
      plans.some((p) => p.pair.id === pair.id && p.method.method === m.method)
    );
    const prepared = teacherOf.get(pair.id);
    if (methods.length === 0 || prepared === undefined) continue;
    const expected = { inputShape: info.imageShape, classes: info.classes };
    const teacher = await toolkit.loadTeacher(prepared, expected);
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
          if (!(error instanceof UserError)) throw error;
          problems.push(`${benchmark.file}: methods.${m.method}: ${error.message}`);
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

/** Runs every job, `options.jobs` processes at a time; resolves to the final records in order. */
async function runJobs(
  plans: JobPlan[],
  runDir: string,
  backend: string,
  benchmark: ResolvedBenchmark,
  options: RunOptions,
): Promise<JobRecord[]> {
  const epochs = benchmark.budget.epochs;
  const overall = options.log.progress("all jobs", plans.length * epochs);
  const progress = new Map<string, number>();
  let shown = -1;
  const updateOverall = () => {
    let done = 0;
    for (const v of progress.values()) done += v;
    if (done === shown) return;
    shown = done;
    const finished = [...progress.values()].filter((v) => v >= epochs).length;
    overall.update(done, { jobs: `${finished}/${plans.length} done` });
  };
  const records = new Map<string, JobRecord>();
  let next = 0;
  const lane = async () => {
    while (next < plans.length) {
      const plan = plans[next++] as JobPlan;
      const record = await runOneJob(plan, runDir, backend, epochs, options, (p) => {
        progress.set(plan.id, p);
        updateOverall();
      });
      progress.set(plan.id, epochs);
      updateOverall();
      records.set(plan.id, record);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.jobs, plans.length)) }, lane),
  );
  overall.stop();
  return plans.map((p) => records.get(p.id) as JobRecord);
}

async function runOneJob(
  plan: JobPlan,
  runDir: string,
  backend: string,
  epochs: number,
  options: RunOptions,
  onProgress: (epochsDone: number) => void,
): Promise<JobRecord> {
  const log = options.log;
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
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const readStdout = forEachLine(child.stdout, (line) => {
      const message = decodeMessage(line);
      if (message === undefined) {
        writeLog(line);
        return;
      }
      switch (message.type) {
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
    const last = lastErrorLine(tail);
    record.status = "failed";
    record.error = `The job process ${how} before finishing${last ? ` (${last})` : ""}; see ${
      jobLogPath(runDir, plan.id)
    }`;
    record.finishedAt = new Date().toISOString();
    record.wallSeconds = (performance.now() - started) / 1000;
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
