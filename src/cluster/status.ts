/**
 * Where every job of a run stands, across all the machines writing into its
 * folder (`dfkd status`): from each job's record and its lock
 * (`bench/job_lock.ts`). A job whose record says `running` but whose lock is
 * gone or stale was stopped without a word (node failure, `SIGKILL`,
 * preemption): it is shown as `stopped` and resumes from its checkpoint when
 * it is run again.
 *
 * @module
 */
import { join } from "node:path";
import { readJobLock } from "../results/job_lock.ts";
import { type JobRecord, RUN_LAYOUT, type RunRecord } from "../results/records.ts";
import { readJobRecord, writeRunRecord } from "../results/run_folder.ts";
import { readRunRecord } from "./run_job.ts";

/** A job's state as `dfkd status` shows it. */
export type JobState =
  | "pending"
  | "running"
  | "stopped"
  | "interrupted"
  | "completed"
  | "diverged"
  | "failed";

/** One job's line of a status. */
export interface JobStatusLine {
  /** Index in the run's job list (an array task id). */
  index: number;
  /** Job id. */
  id: string;
  /** Where it stands. */
  state: JobState;
  /** Epochs done so far. */
  epochsDone: number;
  /** Epochs of the job. */
  epochs: number;
  /** Last accuracy measured, when an epoch is done. */
  lastAccuracy?: number;
  /** The host running it (or that last ran it). */
  host?: string;
  /** The error of a failed job, or what `stopped`/`interrupted` means. */
  detail?: string;
  /** Epochs of the checkpoint it resumes from, when it has one. */
  checkpointEpochs?: number;
}

/** A run's status. */
export interface RunStatus {
  /** The run. */
  run: RunRecord;
  /** One line per job, in the run's order. */
  jobs: JobStatusLine[];
  /** How many jobs are in each state. */
  counts: Partial<Record<JobState, number>>;
  /** True when every job has ended for good (completed, diverged or failed). */
  final: boolean;
}

const FINAL: ReadonlySet<JobState> = new Set(["completed", "diverged", "failed"]);

async function lineOf(runDir: string, index: number, id: string): Promise<JobStatusLine> {
  let record: JobRecord;
  try {
    record = await readJobRecord(runDir, id);
  } catch {
    return { index, id, state: "pending", epochsDone: 0, epochs: 0, detail: "no record yet" };
  }
  const epochs = (record.config as { budget?: { epochs?: number } })?.budget?.epochs ?? 0;
  const last = record.epochs[record.epochs.length - 1];
  const line: JobStatusLine = {
    index,
    id,
    state: record.status,
    epochsDone: record.epochs.length,
    epochs,
    ...(last !== undefined ? { lastAccuracy: last.accuracy } : {}),
    ...(record.status !== "pending" && record.environment?.hostname
      ? { host: record.environment.hostname }
      : {}),
    ...(record.checkpoint ? { checkpointEpochs: record.checkpoint.epochsDone } : {}),
    ...(record.error !== undefined ? { detail: record.error } : {}),
  };
  if (record.status === "running" || record.status === "pending") {
    const lock = await readJobLock(runDir, id);
    if (lock?.live) {
      line.state = "running";
      line.host = lock.holder.hostname;
    } else if (record.status === "running") {
      line.state = "stopped";
      line.detail = `its process is gone (last seen on ${
        lock?.holder.hostname ?? record.environment?.hostname ?? "?"
      }); it resumes from ${
        record.checkpoint ? `epoch ${record.checkpoint.epochsDone}` : "the start"
      } when run again`;
    }
  }
  return line;
}

/**
 * Reads the status of every job of the run in `runDir`.
 *
 * @example
 * ```ts
 * import { readRunStatus } from "./status.ts";
 * // const status = await readRunStatus("results/smoke/20260101T000000Z-abc1234");
 * // console.log(status.counts);
 * ```
 */
export async function readRunStatus(runDir: string): Promise<RunStatus> {
  const run = await readRunRecord(runDir);
  const jobs = await Promise.all(run.jobs.map((id, i) => lineOf(runDir, i, id)));
  const counts: Partial<Record<JobState, number>> = {};
  for (const j of jobs) counts[j.state] = (counts[j.state] ?? 0) + 1;
  return { run, jobs, counts, final: jobs.every((j) => FINAL.has(j.state)) };
}

/**
 * Marks a run whose jobs have all ended for good as finished (its
 * `finishedAt`, and the empty `checkpoints/` folder removed), as a local run
 * does when its last job ends; returns whether it did. A run with unfinished
 * jobs is left as it is.
 *
 * @example
 * ```ts
 * import { markRunFinished } from "./status.ts";
 * // if (await markRunFinished(runDir)) console.log("finished");
 * ```
 */
export async function markRunFinished(runDir: string): Promise<boolean> {
  const status = await readRunStatus(runDir);
  if (!status.final) return false;
  if (status.run.finishedAt === undefined) {
    await writeRunRecord(runDir, { ...status.run, finishedAt: new Date().toISOString() });
  }
  await Deno.remove(join(runDir, RUN_LAYOUT.checkpointsDir)).catch(() => {});
  return true;
}

/**
 * Polls {@linkcode readRunStatus} until every job has ended for good, or
 * `timeoutMs` passes; resolves to the last status read.
 *
 * @example
 * ```ts
 * import { waitForRun } from "./status.ts";
 * // const status = await waitForRun(runDir, { pollMs: 10_000 });
 * ```
 */
export async function waitForRun(
  runDir: string,
  options: { pollMs?: number; timeoutMs?: number; onPoll?: (s: RunStatus) => void } = {},
): Promise<RunStatus> {
  const start = Date.now();
  for (;;) {
    const status = await readRunStatus(runDir);
    options.onPoll?.(status);
    if (status.final) return status;
    if (options.timeoutMs !== undefined && Date.now() - start >= options.timeoutMs) return status;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 10_000));
  }
}
