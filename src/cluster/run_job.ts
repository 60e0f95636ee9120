/**
 * One job of a planned run (`dfkd plan`), by its index in `run.json`'s job
 * list or by id: the unit a cluster's array task runs (`dfkd run-job`). It
 * takes the job's lock (`bench/job_lock.ts`: a second copy of the same job is
 * refused, exit 2), continues from the job's newest checkpoint when an earlier
 * task left one (preemption, requeue, node failure), writes only that job's
 * files, and stops cleanly on SIGTERM/SIGINT/SIGUSR1 (a scheduler's warning
 * before the time limit, `scancel`): it finishes the current iteration, saves
 * a checkpoint, records the job as `interrupted` and exits 130.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { BackendRequest } from "../backends/init_backend.ts";
import { executeJob } from "../bench/execute_job.ts";
import { acquireJobLock } from "../results/job_lock.ts";
import type { JobMessage } from "../bench/protocol.ts";
import {
  type JobRecord,
  type JobStatus,
  RUN_LAYOUT,
  type RunRecord,
  runRecordSchema,
} from "../results/records.ts";
import { jobLogPath, readJobRecord } from "../results/run_folder.ts";
import type { Toolkit } from "../bench/toolkit.ts";
import { describeHolder } from "../util/file_lock.ts";
import { UserError } from "../util/errors.ts";

/** Folder of a run that holds copies of its teachers (`dfkd plan --bundle-teachers`). */
export const RUN_TEACHERS_DIR = "teachers";

/** Exit code of a job stopped by a signal (it resumes from its checkpoint). */
export const JOB_INTERRUPTED_EXIT_CODE = 130;

/** Options of {@linkcode runPlannedJob}. */
export interface RunPlannedJobOptions {
  /** The planned run folder. */
  runDir: string;
  /** The job's index in `run.json`'s `jobs` (an array task's id). */
  index?: number;
  /** Or the job's id. */
  jobId?: string;
  /** Backend (default: the one the plan recorded, so numbers match a local run). */
  backend?: BackendRequest;
  /** Data root (default: the plan's). */
  dataRoot?: string;
  /** Teacher cache folder to look in when a teacher's recorded path is not there. */
  teacherCacheDir?: string;
  /** Datasets, models, methods. */
  toolkit: Toolkit;
  /** Progress and messages, one line each. */
  log: (line: string) => void;
  /** Polled by the job: once true it checkpoints and stops as `interrupted`. */
  shouldStop: () => boolean;
}

/** What {@linkcode runPlannedJob} did. */
export interface PlannedJobOutcome {
  /** The job id. */
  jobId: string;
  /** Its final status (`completed` also when it had completed before). */
  status: JobStatus;
  /** True when the job was already finished and nothing ran. */
  alreadyDone: boolean;
  /** 0 completed or diverged, 1 failed, 130 interrupted. */
  exitCode: number;
}

/**
 * Reads a run folder's `run.json`, or throws a `UserError` saying what to do.
 *
 * @example
 * ```ts
 * import { readRunRecord } from "./run_job.ts";
 * // const run = await readRunRecord("results/smoke/20260101T000000Z-abc1234");
 * ```
 */
export async function readRunRecord(runDir: string): Promise<RunRecord> {
  const path = join(runDir, RUN_LAYOUT.run);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new UserError(
      `${runDir} is not a run folder (no ${RUN_LAYOUT.run}); create one with ` +
        `"deno task dfkd plan <benchmark.json>"`,
      2,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path} is not valid JSON: ${(error as Error).message}`, 2);
  }
  const parsed = runRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(
      `${path}: not a run record (${issue?.path.join(".") || "top level"}: ${issue?.message})`,
      2,
    );
  }
  const bad = parsed.data.jobs.find((id) => /[\/\\]|^\.\.?$/.test(id));
  if (bad !== undefined) throw new UserError(`${path}: jobs: invalid job id "${bad}"`, 2);
  return parsed.data;
}

/**
 * The id of the job `index` (or `jobId`) names in `run`, or a `UserError`.
 *
 * @example
 * ```ts
 * import { resolveJobId } from "./run_job.ts";
 * import type { RunRecord } from "../results/records.ts";
 * const run = { jobs: ["a", "b"] } as unknown as RunRecord;
 * console.log(resolveJobId(run, "r", { index: 1 })); // b
 * ```
 */
export function resolveJobId(
  run: RunRecord,
  runDir: string,
  which: { index?: number; jobId?: string },
): string {
  if ((which.index === undefined) === (which.jobId === undefined)) {
    throw new UserError("Name the job with exactly one of --index I or --job ID", 2);
  }
  if (which.jobId !== undefined) {
    if (!run.jobs.includes(which.jobId)) {
      throw new UserError(
        `${runDir} has no job "${which.jobId}" (its ${run.jobs.length} jobs: ${
          run.jobs.slice(0, 3).join(", ")
        }${run.jobs.length > 3 ? ", ..." : ""})`,
        2,
      );
    }
    return which.jobId;
  }
  const index = which.index as number;
  const id = run.jobs[index];
  if (!Number.isInteger(index) || index < 0 || id === undefined) {
    throw new UserError(
      `--index ${index} is out of range: ${runDir} has ${run.jobs.length} jobs (0-${
        run.jobs.length - 1
      })`,
      2,
    );
  }
  return id;
}

/**
 * The toolkit with teacher loading that finds a teacher whose recorded path
 * is not on this machine: in the run's `teachers/` folder (bundled by the
 * plan), then in `teacherCacheDir` (a teacher cache folder is named by its
 * cache key, the same everywhere).
 */
function relocatingToolkit(toolkit: Toolkit, runDir: string, cacheDir?: string): Toolkit {
  const exists = (path: string) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  };
  return {
    ...toolkit,
    loadTeacher: (teacher, expected) => {
      if (exists(teacher.path)) return toolkit.loadTeacher(teacher, expected);
      const candidates = [join(runDir, RUN_TEACHERS_DIR, basename(teacher.path))];
      if (cacheDir !== undefined) candidates.push(join(cacheDir, basename(teacher.path)));
      const found = candidates.find(exists);
      if (found === undefined) {
        return toolkit.loadTeacher(teacher, expected).catch((error) => {
          throw new UserError(
            `The teacher ${teacher.path} is not on this machine, nor in ${
              candidates.join(" or ")
            } (${(error as Error).message}); plan with --cache-dir on shared storage, or ` +
              `with --bundle-teachers`,
            2,
          );
        });
      }
      return toolkit.loadTeacher({ ...teacher, path: found }, expected);
    },
  };
}

function describeMessage(jobId: string, epochs: number, m: JobMessage): string | undefined {
  switch (m.type) {
    case "started":
      return m.startEpoch > 0
        ? `${jobId}: continuing at epoch ${m.startEpoch + 1}/${m.epochs}`
        : `${jobId}: starting (${m.epochs} epochs)`;
    case "epoch":
      return `${jobId}: epoch ${m.epoch + 1}/${epochs}, accuracy ${
        (m.accuracy * 100).toFixed(2)
      }% (${m.seconds.toFixed(1)} s)`;
    case "log":
      return `[${m.level}] ${m.message}`;
    case "finished":
      return `${jobId}: ${m.status}${m.error ? `: ${m.error}` : ""}`;
    default:
      return undefined;
  }
}

const DONE: ReadonlySet<JobStatus> = new Set(["completed", "diverged"]);

/**
 * Runs one job of a planned run (see the module doc) and resolves to what
 * happened. A job that already completed (or diverged) is left as it is.
 *
 * @example
 * ```ts
 * import { runPlannedJob } from "./run_job.ts";
 * import type { Toolkit } from "../bench/toolkit.ts";
 * const toolkit = {} as Toolkit; // the real one: src/bench/default_toolkit.ts
 * // const outcome = await runPlannedJob({
 * //   runDir, index: 0, toolkit, log: console.log, shouldStop: () => false,
 * // });
 * ```
 */
export async function runPlannedJob(options: RunPlannedJobOptions): Promise<PlannedJobOutcome> {
  const { runDir, log } = options;
  const run = await readRunRecord(runDir);
  const jobId = resolveJobId(run, runDir, options);
  const done = (record: JobRecord): PlannedJobOutcome => {
    log(`${jobId}: already ${record.status}; nothing to do`);
    return { jobId, status: record.status, alreadyDone: true, exitCode: 0 };
  };
  const before = await readJobRecord(runDir, jobId).catch((error) => {
    throw new UserError(
      `${runDir}: job ${jobId} has no readable record (${(error as Error).message}); ` +
        `the plan did not finish writing it: plan the run again`,
      2,
    );
  });
  if (DONE.has(before.status)) return done(before);
  const lock = await acquireJobLock(runDir, jobId, {
    onTakeOver: (holder) => log(`${jobId}: taking over a stale lock (${describeHolder(holder)})`),
    onWait: (holder, ms) =>
      log(
        `${jobId}: its lock (${describeHolder(holder)}) missed its heartbeats; waiting ` +
          `${Math.ceil(ms / 1000)} s for it to go stale`,
      ),
  });
  let logFile: Deno.FsFile | undefined;
  const encoder = new TextEncoder();
  const say = (line: string) => {
    log(line);
    logFile?.writeSync(encoder.encode(line + "\n"));
  };
  try {
    logFile = await Deno.open(jobLogPath(runDir, jobId), {
      write: true,
      create: true,
      append: true,
    });
    const record = await readJobRecord(runDir, jobId);
    if (DONE.has(record.status)) return done(record);
    say(`${jobId}: on ${Deno.hostname()} (process ${Deno.pid}), job ${run.jobs.indexOf(jobId)}`);
    const epochs = (record.config as { budget: { epochs: number } }).budget.epochs;
    const status = await executeJob({
      runDir,
      jobId,
      backend: options.backend ?? run.environment.backend as BackendRequest,
      dataRoot: options.dataRoot ?? run.options?.dataRoot ?? "data",
      toolkit: relocatingToolkit(options.toolkit, runDir, options.teacherCacheDir),
      emit: (m) => {
        const line = describeMessage(jobId, epochs, m);
        if (line !== undefined) say(line);
      },
      shouldStop: options.shouldStop,
    });
    const exitCode = DONE.has(status)
      ? 0
      : status === "interrupted"
      ? JOB_INTERRUPTED_EXIT_CODE
      : 1;
    return { jobId, status, alreadyDone: false, exitCode };
  } finally {
    logFile?.close();
    await lock.release();
  }
}
