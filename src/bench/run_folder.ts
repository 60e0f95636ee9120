/**
 * Run folders: run ids, claiming a fresh folder (two runs started at once
 * never share one), the folder lock, and writing job records.
 *
 * @module
 */
import { join } from "node:path";
import { epochsCsv } from "../report/summary.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../util/atomic_write.ts";
import { UserError } from "../util/errors.ts";
import { type JobRecord, RUN_LAYOUT, type RunRecord } from "./record.ts";

/**
 * A run id: UTC time to the second and the short commit, e.g.
 * `20260101T120000Z-9bfd833` (`nogit` outside a repository).
 *
 * @example
 * ```ts
 * import { makeRunId } from "./run_folder.ts";
 * console.log(makeRunId(new Date("2026-01-01T12:00:00Z"), "9bfd833abc")); // 20260101T120000Z-9bfd833
 * ```
 */
export function makeRunId(time: Date, commit: string): string {
  const stamp = time.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const short = /^[0-9a-f]{7,}$/.test(commit) ? commit.slice(0, 7) : "nogit";
  return `${stamp}-${short}`;
}

/**
 * Creates `<out>/<benchmark>/<runId>` as a new folder (never reusing one: a
 * run started in the same second gets `-2`, `-3`, ...), with its `jobs/`
 * folder, and returns its path and final run id.
 *
 * @example
 * ```ts
 * import { claimRunFolder } from "./run_folder.ts";
 * const { dir } = await claimRunFolder(await Deno.makeTempDir(), "smoke", "20260101T000000Z-abc1234");
 * ```
 */
export async function claimRunFolder(
  out: string,
  benchmark: string,
  runId: string,
): Promise<{ dir: string; runId: string }> {
  const parent = join(out, benchmark);
  try {
    await Deno.mkdir(parent, { recursive: true });
  } catch (error) {
    throw new UserError(
      `Cannot create the results folder ${parent}: ${(error as Error).message}`,
      1,
    );
  }
  for (let n = 1; n < 1000; n++) {
    const id = n === 1 ? runId : `${runId}-${n}`;
    const dir = join(parent, id);
    try {
      await Deno.mkdir(dir); // not recursive: fails if another run took the name
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw new UserError(`Cannot create the run folder ${dir}: ${(error as Error).message}`, 1);
    }
    await Deno.mkdir(join(dir, RUN_LAYOUT.jobsDir));
    return { dir, runId: id };
  }
  throw new UserError(`Too many runs named ${runId} under ${parent}`, 1);
}

/** What a run lock file holds. */
export interface LockInfo {
  /** Process id of the run. */
  pid: number;
  /** Host it runs on. */
  hostname: string;
  /** ISO time the lock was taken. */
  since: string;
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    // Without /proc (not Linux), assume alive: refusing is the safe choice.
    try {
      Deno.statSync("/proc/self");
      return false;
    } catch {
      return true;
    }
  }
}

/**
 * Takes the lock of a run folder (`run.lock`, created exclusively). A lock
 * held by a live process on this host is refused with a `UserError`; a stale
 * one (its process is gone) is taken over.
 *
 * @example
 * ```ts
 * import { acquireRunLock, releaseRunLock } from "./run_folder.ts";
 * const dir = await Deno.makeTempDir();
 * await acquireRunLock(dir);
 * await releaseRunLock(dir);
 * ```
 */
export async function acquireRunLock(dir: string): Promise<void> {
  const path = join(dir, RUN_LAYOUT.lock);
  const info: LockInfo = {
    pid: Deno.pid,
    hostname: Deno.hostname(),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      try {
        await file.write(new TextEncoder().encode(JSON.stringify(info) + "\n"));
      } finally {
        file.close();
      }
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    let held: Partial<LockInfo> = {};
    try {
      held = JSON.parse(await Deno.readTextFile(path));
    } catch {
      // An unreadable lock is treated as held by an unknown process.
    }
    const sameHost = held.hostname === Deno.hostname();
    if (
      typeof held.pid === "number" && sameHost && held.pid !== Deno.pid && !processAlive(held.pid)
    ) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    throw new UserError(
      `${dir} is locked by another run (pid ${held.pid ?? "?"} on ${held.hostname ?? "?"}, since ${
        held.since ?? "?"
      }); wait for it to finish, or if it is gone, delete ${path}`,
      2,
    );
  }
  throw new UserError(`Could not lock ${dir}`, 1);
}

/**
 * Releases a lock taken by {@linkcode acquireRunLock} (only this process's).
 *
 * @example
 * ```ts
 * import { releaseRunLock } from "./run_folder.ts";
 * // await releaseRunLock(runDir);
 * ```
 */
export async function releaseRunLock(dir: string): Promise<void> {
  const path = join(dir, RUN_LAYOUT.lock);
  try {
    const held = JSON.parse(await Deno.readTextFile(path)) as LockInfo;
    if (held.pid === Deno.pid) await Deno.remove(path);
  } catch {
    // Already gone.
  }
}

/** Path of a job's JSON record. */
export function jobRecordPath(runDir: string, id: string): string {
  return join(runDir, RUN_LAYOUT.jobsDir, `${id}.json`);
}

/** Path of a job's per-epoch CSV. */
export function jobCsvPath(runDir: string, id: string): string {
  return join(runDir, RUN_LAYOUT.jobsDir, `${id}.csv`);
}

/** Path of a job process's output log (stderr and stray stdout). */
export function jobLogPath(runDir: string, id: string): string {
  return join(runDir, RUN_LAYOUT.jobsDir, `${id}.log`);
}

/**
 * Writes a job's record and its per-epoch CSV, each atomically.
 *
 * @example
 * ```ts
 * import { writeJobFiles } from "./run_folder.ts";
 * import type { JobRecord } from "./record.ts";
 * declare const record: JobRecord;
 * // await writeJobFiles("results/smoke/<run-id>", record);
 * ```
 */
export async function writeJobFiles(runDir: string, record: JobRecord): Promise<void> {
  await writeTextFileAtomic(jobCsvPath(runDir, record.id), epochsCsv(record));
  await writeJsonAtomic(jobRecordPath(runDir, record.id), record);
}

/**
 * Reads a job's record (no shape check: the runner wrote it).
 *
 * @example
 * ```ts
 * import { readJobRecord } from "./run_folder.ts";
 * // const record = await readJobRecord(runDir, "lenet5-lenet5-half__pre-dfkd__s0");
 * ```
 */
export async function readJobRecord(runDir: string, id: string): Promise<JobRecord> {
  return JSON.parse(await Deno.readTextFile(jobRecordPath(runDir, id))) as JobRecord;
}

/**
 * Writes the run manifest atomically.
 *
 * @example
 * ```ts
 * import { writeRunRecord } from "./run_folder.ts";
 * import type { RunRecord } from "./record.ts";
 * declare const run: RunRecord;
 * // await writeRunRecord(runDir, run);
 * ```
 */
export async function writeRunRecord(runDir: string, run: RunRecord): Promise<void> {
  await writeJsonAtomic(join(runDir, RUN_LAYOUT.run), run);
}
