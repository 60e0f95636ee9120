/**
 * Run folders: run ids, claiming a fresh folder (two runs started at once
 * never share one: folders are created exclusively), finding one to resume,
 * the folder lock, and writing job records.
 *
 * @module
 */
import { join } from "node:path";
import { epochsCsv } from "./epochs_csv.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../util/atomic_write.ts";
import { READ_LIMITS, readBoundedText } from "../util/bounded_read.ts";
import { UserError } from "../util/errors.ts";
import {
  acquireFileLock,
  describeHolder,
  type FileLock,
  type LockHolder,
} from "../util/file_lock.ts";
import { type JobRecord, RUN_LAYOUT, type RunRecord } from "./records.ts";

/**
 * A run id: UTC time to the second and the short commit, e.g.
 * `20260101T120000Z-9bfd833` (`nogit` outside a repository).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeRunId } from "./run_folder.ts";
 * assert.equal(makeRunId(new Date("2026-01-01T12:00:00Z"), "9bfd833abc"), "20260101T120000Z-9bfd833");
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

/**
 * Takes the lock of a run folder (`run.lock`, see `file_lock.ts`): a folder
 * locked by a live run is refused with a `UserError` (exit 2) naming the
 * holder; a stale lock (its process is gone) is taken over. Release it with
 * the returned lock's `release()`.
 *
 * @example
 * ```ts
 * import { acquireRunLock } from "./run_folder.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await acquireRunLock(dir);
 * await lock.release();
 * ```
 */
export function acquireRunLock(
  dir: string,
  options: { onTakeOver?: (holder: LockHolder | undefined) => void } = {},
): Promise<FileLock> {
  return acquireFileLock(join(dir, RUN_LAYOUT.lock), {
    exitCode: 2,
    ...(options.onTakeOver ? { onTakeOver: options.onTakeOver } : {}),
    busyMessage: (holder, path) =>
      `${dir} is locked by a live run (${describeHolder(holder)}); wait for it to finish or ` +
      `stop it (Ctrl-C) first. If that process is gone, delete ${path}`,
  });
}

/**
 * The run folder `<out>/<benchmark>/<runId>`, or with `runId` `latest` the
 * newest run of the benchmark (by run id, which starts with the UTC time). A
 * folder that does not exist is a `UserError` listing the runs there are.
 *
 * @example
 * ```ts
 * import { findRunFolder } from "./run_folder.ts";
 * // const { dir, runId } = await findRunFolder("results", "smoke", "latest");
 * ```
 */
export async function findRunFolder(
  out: string,
  benchmark: string,
  runId: string,
): Promise<{ dir: string; runId: string }> {
  const parent = join(out, benchmark);
  const runs: string[] = [];
  try {
    for await (const e of Deno.readDir(parent)) {
      if (!e.isDirectory) continue;
      try {
        await Deno.stat(join(parent, e.name, RUN_LAYOUT.run));
        runs.push(e.name);
      } catch {
        // Not a run folder.
      }
    }
  } catch {
    // No runs of this benchmark yet.
  }
  runs.sort(compareRunIds);
  if (runId === "latest") {
    const last = runs[runs.length - 1];
    if (last === undefined) {
      throw new UserError(`--resume latest: ${parent} holds no run of ${benchmark} to resume`);
    }
    return { dir: join(parent, last), runId: last };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId) || !runs.includes(runId)) {
    const known = runs.length === 0
      ? "there is none"
      : `runs there: ${runs.slice(-5).join(", ")}${runs.length > 5 ? ", ..." : ""}`;
    throw new UserError(`--resume: no run "${runId}" of ${benchmark} in ${parent} (${known})`);
  }
  return { dir: join(parent, runId), runId };
}

/** Orders run ids by time, then by their `-2`, `-3` suffix. */
function compareRunIds(a: string, b: string): number {
  const key = (id: string) => {
    const m = /^(.*-[0-9a-z]{7}|.*-nogit)(?:-(\d+))?$/.exec(id);
    return { base: m?.[1] ?? id, n: Number(m?.[2] ?? 1) };
  };
  const ka = key(a);
  const kb = key(b);
  return ka.base < kb.base ? -1 : ka.base > kb.base ? 1 : ka.n - kb.n;
}

/**
 * Path of a job's checkpoint folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointDir } from "./run_folder.ts";
 * assert.equal(checkpointDir("results/smoke/r1", "p__m__s0"), "results/smoke/r1/checkpoints/p__m__s0");
 * ```
 */
export function checkpointDir(runDir: string, id: string): string {
  return join(runDir, RUN_LAYOUT.checkpointsDir, id);
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
 * import type { JobRecord } from "./records.ts";
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
  return JSON.parse(
    await readBoundedText(jobRecordPath(runDir, id), READ_LIMITS.document),
  ) as JobRecord;
}

/**
 * Writes the run manifest atomically.
 *
 * @example
 * ```ts
 * import { writeRunRecord } from "./run_folder.ts";
 * import type { RunRecord } from "./records.ts";
 * declare const run: RunRecord;
 * // await writeRunRecord(runDir, run);
 * ```
 */
export async function writeRunRecord(runDir: string, run: RunRecord): Promise<void> {
  await writeJsonAtomic(join(runDir, RUN_LAYOUT.run), run);
}
