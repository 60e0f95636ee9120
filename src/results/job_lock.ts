/**
 * The per-job lock, `jobs/<job-id>.lock`: whoever runs a job holds it, so two
 * processes never run the same job of a run folder at once, even on two
 * machines sharing the folder (a cluster's array tasks, a requeued task and
 * the one it replaces). The file is a `util/file_lock.ts` holder record
 * (`{ pid, hostname, since, token }`); its holder touches it every
 * {@linkcode JOB_LOCK_HEARTBEAT_MS}, and a lock is **stale**, and taken over,
 * when its process is gone (same host) or it has not been touched for
 * {@linkcode JOB_LOCK_STALE_MS} (a node that died or was preempted: another
 * host cannot check the process).
 *
 * @module
 */
import { join } from "node:path";
import {
  acquireFileLock,
  describeHolder,
  type FileLock,
  type LockHolder,
  processAlive,
  readLockHolder,
} from "../util/file_lock.ts";
import { RUN_LAYOUT } from "./records.ts";

/** How often a job's lock holder touches the lock file. */
export const JOB_LOCK_HEARTBEAT_MS = 30_000;

/** A job lock not touched for this long is stale whoever holds it. */
export const JOB_LOCK_STALE_MS = 120_000;

/**
 * Path of a job's lock file.
 *
 * @example
 * ```ts
 * import { jobLockPath } from "./job_lock.ts";
 * console.log(jobLockPath("results/smoke/r1", "p__m__s0")); // results/smoke/r1/jobs/p__m__s0.lock
 * ```
 */
export function jobLockPath(runDir: string, jobId: string): string {
  return join(runDir, RUN_LAYOUT.jobsDir, `${jobId}.lock`);
}

/** Options of {@linkcode acquireJobLock}. */
export interface JobLockOptions {
  /** Told whose stale lock was taken over. */
  onTakeOver?: (holder: LockHolder | undefined) => void;
  /** Told that a silent holder's lock is waited for (and for how long). */
  onWait?: (holder: LockHolder, waitMs: number) => void;
  /** Milliseconds between touches (default {@linkcode JOB_LOCK_HEARTBEAT_MS}). */
  heartbeatMs?: number;
  /** A lock not touched for this long is stale (default {@linkcode JOB_LOCK_STALE_MS}). */
  staleMs?: number;
  /** A lock not touched for this long (two missed heartbeats by default) is waited for, not refused. */
  silentMs?: number;
}

/** A held job lock; `release()` also stops its heartbeat. */
export interface JobLock extends FileLock {
  /** Who held the lock before, when this acquisition took over a stale one. */
  readonly tookOver?: LockHolder | undefined;
}

/**
 * Takes the lock of job `jobId` in `runDir`, or throws a `UserError` (exit 2)
 * naming the live holder. A stale lock is taken over (`onTakeOver` is told
 * whose it was); one whose holder has missed two heartbeats (a node that
 * died a moment ago) is waited for until it is stale (`onWait`). While held, the file is touched every
 * {@linkcode JOB_LOCK_HEARTBEAT_MS} (the timer does not keep the process
 * alive).
 *
 * @example
 * ```ts
 * import { acquireJobLock } from "./job_lock.ts";
 * const runDir = await Deno.makeTempDir();
 * await Deno.mkdir(`${runDir}/jobs`);
 * const lock = await acquireJobLock(runDir, "p__m__s0");
 * await lock.release();
 * await Deno.remove(runDir, { recursive: true });
 * ```
 */
export async function acquireJobLock(
  runDir: string,
  jobId: string,
  options: JobLockOptions = {},
): Promise<JobLock> {
  let tookOver: LockHolder | undefined;
  const path = jobLockPath(runDir, jobId);
  const staleMs = options.staleMs ?? JOB_LOCK_STALE_MS;
  const take = () =>
    acquireFileLock(path, {
      exitCode: 2,
      staleMs,
      onTakeOver: (holder) => {
        tookOver = holder;
        options.onTakeOver?.(holder);
      },
      busyMessage: (holder) =>
        `Job ${jobId} of ${runDir} is already running (${describeHolder(holder)}); a second ` +
        `copy is refused. If that process is gone, its lock goes stale within ${
          staleMs / 1000
        } s, or delete ${path}`,
    });
  let lock: FileLock;
  try {
    lock = await take();
  } catch (error) {
    // A holder that has missed its heartbeats is most likely a dead node: wait until its lock
    // is stale (a task requeued after a node failure) rather than refuse.
    const state = await readJobLock(runDir, jobId, Date.now(), staleMs);
    const silentMs = options.silentMs ?? 2 * JOB_LOCK_HEARTBEAT_MS;
    if (state === undefined || !state.live || state.ageMs < silentMs) throw error;
    const waitMs = staleMs - state.ageMs + 1_000;
    options.onWait?.(state.holder, waitMs);
    await new Promise((r) => setTimeout(r, waitMs));
    lock = await take();
  }
  const timer = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, options.heartbeatMs ?? JOB_LOCK_HEARTBEAT_MS);
  Deno.unrefTimer(timer);
  return {
    path: lock.path,
    waited: lock.waited,
    tookOver,
    release: async () => {
      clearInterval(timer);
      await lock.release();
    },
  };
}

/** Who holds a job's lock, as `dfkd status` shows it. */
export interface JobLockState {
  /** The holder record, when the lock file exists and is readable. */
  holder: LockHolder;
  /** False when the lock is stale (its process is gone, or it was not touched in time). */
  live: boolean;
  /** Milliseconds since the holder last touched the file. */
  ageMs: number;
}

/**
 * The state of job `jobId`'s lock, or undefined when nobody holds it.
 *
 * @example
 * ```ts
 * import { readJobLock } from "./job_lock.ts";
 * console.log(await readJobLock("/nonexistent", "p__m__s0")); // undefined
 * ```
 */
export async function readJobLock(
  runDir: string,
  jobId: string,
  now: number = Date.now(),
  staleMs: number = JOB_LOCK_STALE_MS,
): Promise<JobLockState | undefined> {
  const path = jobLockPath(runDir, jobId);
  const holder = await readLockHolder(path);
  if (holder === undefined) return undefined;
  let ageMs = 0;
  try {
    ageMs = now - ((await Deno.stat(path)).mtime?.getTime() ?? now);
  } catch {
    return undefined; // Released meanwhile.
  }
  const dead = holder.hostname === Deno.hostname() && !processAlive(holder.pid);
  return { holder, live: !dead && ageMs <= staleMs, ageMs };
}
