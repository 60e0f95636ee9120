/**
 * Lock files shared by processes: a lock is a file created exclusively
 * (`createNew`), holding who took it (`{ pid, hostname, since, token }`).
 * While it exists, nobody else takes it; its holder removes it when done.
 *
 * A lock left behind by a process that died is **stale** and taken over: its
 * holder ran on this host and that process no longer exists (checked in
 * `/proc`; without `/proc` a holder is assumed alive, the safe choice), or,
 * when the caller allows it (`staleMs`), the file is older than that. A lock
 * of another host cannot be checked: it is waited for or refused, with a
 * message naming the holder and the file to delete if that process is gone.
 *
 * Used for the regression history (read-modify-write of one file), the
 * teacher cache (one training per teacher) and run folders.
 *
 * @module
 */
import { READ_LIMITS, readBoundedText } from "./bounded_read.ts";
import { UserError } from "./errors.ts";

/** What a lock file holds. */
export interface LockHolder {
  /** Process id of the holder. */
  pid: number;
  /** Host the holder runs on. */
  hostname: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Random token of this acquisition (so a holder only ever removes its own lock). */
  token?: string;
}

/** A lock this process holds. */
export interface FileLock {
  /** The lock file. */
  readonly path: string;
  /** True when another holder had the lock first and this one waited for it. */
  readonly waited: boolean;
  /** Removes the lock file if it is still this acquisition's (idempotent). */
  release(): Promise<void>;
}

/** Options of {@linkcode acquireFileLock}. */
export interface AcquireLockOptions {
  /**
   * Wait for a live holder to finish (polling) instead of refusing at once.
   * Default false: a held lock is an error naming the holder.
   */
  wait?: boolean;
  /** With `wait`: give up after this many milliseconds (default: never). */
  timeoutMs?: number;
  /** With `wait`: milliseconds between attempts (default 100). */
  pollMs?: number;
  /** A lock file older than this many milliseconds is stale whoever holds it (default: never). */
  staleMs?: number;
  /** What the lock protects, for messages (e.g. "the history file results/history/b.jsonl"). */
  what?: string;
  /** Exit code of the `UserError` thrown when the lock is held or the wait times out (default 1). */
  exitCode?: number;
  /** The message when the lock is held (no `wait`); default names the holder and the file. */
  busyMessage?: (holder: LockHolder | undefined, path: string) => string;
  /** Called when a wait begins and then about once a minute while it lasts. */
  onWait?: (holder: LockHolder | undefined) => void;
  /** Called when a stale lock is taken over. */
  onTakeOver?: (holder: LockHolder | undefined) => void;
}

/** An unreadable lock file older than this is one whose writer died between creating and writing it. */
const UNREADABLE_STALE_MS = 10_000;

/**
 * Whether process `pid` runs on this host: `/proc/<pid>` exists and the
 * process is not a zombie (a process that has exited but whose parent has not
 * reaped it, as a job process killed after its runner died, whose new parent
 * may reap late, still has a `/proc` entry). Without `/proc` (not Linux) every
 * process is assumed alive: refusing is the safe choice.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processAlive } from "./file_lock.ts";
 * assert.equal(processAlive(Deno.pid), true);
 * ```
 */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    try {
      Deno.statSync("/proc/self");
      return false;
    } catch {
      return true;
    }
  }
  // "pid (comm) S ...": the state letter follows the last ')' (comm may hold any byte).
  const state = stat.slice(stat.lastIndexOf(")") + 1).trim()[0];
  return state !== "Z" && state !== "X";
}

/**
 * Reads a lock file's holder, or undefined when the file is missing or not a
 * holder record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLockHolder } from "./file_lock.ts";
 * assert.equal(await readLockHolder("/tmp/nothing.lock"), undefined);
 * ```
 */
export async function readLockHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const value = JSON.parse(await readBoundedText(path, READ_LIMITS.document));
    if (typeof value?.pid === "number" && typeof value?.hostname === "string") {
      return {
        pid: value.pid,
        hostname: value.hostname,
        since: typeof value.since === "string" ? value.since : "?",
        ...(typeof value.token === "string" ? { token: value.token } : {}),
      };
    }
  } catch {
    // Missing, being written, or not ours.
  }
  return undefined;
}

/**
 * Describes a holder for messages: `process 123 on host-a since 2026-…`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeHolder } from "./file_lock.ts";
 * assert.equal(describeHolder({ pid: 7, hostname: "a", since: "then" }), "process 7 on a since then");
 * ```
 */
export function describeHolder(holder: LockHolder | undefined): string {
  return holder === undefined
    ? "an unknown process"
    : `process ${holder.pid} on ${holder.hostname} since ${holder.since}`;
}

async function isStale(
  path: string,
  holder: LockHolder | undefined,
  staleMs: number | undefined,
): Promise<boolean> {
  if (holder !== undefined && holder.hostname === Deno.hostname() && holder.pid !== Deno.pid) {
    if (!processAlive(holder.pid)) return true;
  }
  let age: number;
  try {
    const mtime = (await Deno.stat(path)).mtime;
    if (mtime === null) return false;
    age = Date.now() - mtime.getTime();
  } catch {
    return false; // Gone: the next attempt takes it.
  }
  if (staleMs !== undefined && age > staleMs) return true;
  return holder === undefined && age > UNREADABLE_STALE_MS;
}

/** How many stale locks one acquisition takes over before giving up (each replaced by another). */
const MAX_TAKEOVERS = 5;

/**
 * Takes the lock file `path` (its folder must exist). A lock held by a live
 * process is refused with a `UserError` naming the holder, or with `wait`
 * waited for (up to `timeoutMs`); a stale one is taken over.
 *
 * Every loop here is bounded: a stale lock that cannot be removed (a
 * read-only folder, a directory in its place) fails at once with a
 * `UserError` naming the file and what to do; the takeover warning
 * (`onTakeOver`) is given at most once per acquisition; `timeoutMs` counts
 * takeovers too. A takeover is atomic: it happens under a guard file
 * (`<path>.takeover`, locked with `flock`, which the kernel releases when its
 * holder dies) and the lock is judged stale again under the guard, so of
 * several processes that find one stale lock exactly one takes it.
 *
 * @example
 * ```ts
 * import { acquireFileLock } from "./file_lock.ts";
 * const lock = await acquireFileLock("/tmp/example.lock", { wait: true, timeoutMs: 5000 });
 * try {
 *   // exclusive work
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export async function acquireFileLock(
  path: string,
  options: AcquireLockOptions = {},
): Promise<FileLock> {
  const mine: LockHolder = {
    pid: Deno.pid,
    hostname: Deno.hostname(),
    since: new Date().toISOString(),
    token: crypto.randomUUID(),
  };
  const start = Date.now();
  const what = options.what === undefined ? "" : ` (${options.what})`;
  let waited = false;
  let lastNotice = -Infinity;
  let takeovers = 0;
  for (;;) {
    if (await createLockFile(path, mine, what)) {
      return { path, waited, release: () => releaseIfMine(path, mine.token as string) };
    }
    await refuseNonFile(path, what);
    const holder = await readLockHolder(path);
    const waitedMs = Date.now() - start;
    if (options.timeoutMs !== undefined && waitedMs > options.timeoutMs) {
      throw new UserError(
        `Timed out after ${options.timeoutMs} ms waiting for the lock ${path}${what}, held by ` +
          `${describeHolder(holder)}; if that process is gone, delete ${path}`,
        options.exitCode ?? 1,
      );
    }
    if (await isStale(path, holder, options.staleMs)) {
      if (takeovers === 0) options.onTakeOver?.(holder);
      if (++takeovers > MAX_TAKEOVERS) {
        throw new UserError(
          `${path}${what}: took over ${MAX_TAKEOVERS} stale locks in a row and another came ` +
            `back each time (last ${describeHolder(holder)}); find what keeps writing it`,
          options.exitCode ?? 1,
        );
      }
      await takeOverIfStale(path, options.staleMs, holder, what);
      continue;
    }
    if (!options.wait) {
      throw new UserError(
        options.busyMessage?.(holder, path) ??
          `${path}${what} is locked by ${describeHolder(holder)}; wait for it to finish, ` +
            `or if that process is gone, delete ${path}`,
        options.exitCode ?? 1,
      );
    }
    waited = true;
    if (waitedMs - lastNotice >= 60_000) {
      lastNotice = waitedMs;
      options.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}

/**
 * Creates the lock file holding `mine`; false when it exists. A file that
 * could not be written whole (no space left) is removed: no empty lock stays.
 */
async function createLockFile(path: string, mine: LockHolder, what: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw lockError(`Cannot create the lock file ${path}${what}`, error);
  }
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(mine) + "\n"));
  } catch (error) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw lockError(`Cannot write the lock file ${path}${what}`, error);
  }
  file.close();
  return true;
}

/** A `UserError` for a file system failure, naming the cause in words. */
function lockError(what: string, error: unknown): UserError {
  const message = (error as Error).message ?? String(error);
  const cause = error instanceof Deno.errors.PermissionDenied
    ? "permission denied (is the folder read-only?)"
    : /No space left|ENOSPC|os error 28/.test(message)
    ? "no space left on the device"
    : /Read-only file system|os error 30/.test(message)
    ? "the file system is read-only"
    : message;
  return new UserError(`${what}: ${cause}`, 1);
}

/** Refuses a lock path that is not a regular file (a directory, a link, a device). */
async function refuseNonFile(path: string, what: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return; // Gone: the next attempt takes it.
  }
  if (info.isFile) return;
  const kind = info.isDirectory ? "a directory" : info.isSymlink ? "a symbolic link" : "not a file";
  throw new UserError(
    `${path}${what} is ${kind}, not a lock file; remove it (nothing of dfkd-bench is in it)`,
    1,
  );
}

/**
 * Removes the lock file `path` if, judged again under the takeover guard, it
 * is still stale. Only a guard holder removes another's lock, so two
 * processes never both remove and recreate it.
 */
async function takeOverIfStale(
  path: string,
  staleMs: number | undefined,
  judged: LockHolder | undefined,
  what: string,
): Promise<void> {
  const guardPath = `${path}.takeover`;
  const failure = (error: unknown) =>
    lockError(
      `Cannot take over the stale lock ${path}${what} (left by ${describeHolder(judged)}); ` +
        `delete it by hand`,
      error,
    );
  for (let attempt = 0; attempt < 100; attempt++) {
    let guard: Deno.FsFile;
    try {
      guard = await Deno.open(guardPath, { read: true, write: true, create: true, mode: 0o644 });
    } catch (error) {
      throw failure(error);
    }
    try {
      await guard.lock(true);
      // The guard file may have been removed (and another made) while this one waited on it.
      const current = await Deno.stat(guardPath).catch(() => undefined);
      if (current?.ino !== (await guard.stat()).ino) continue;
      try {
        const holder = await readLockHolder(path);
        if (await isStale(path, holder, staleMs)) {
          await Deno.remove(path).catch((error) => {
            if (!(error instanceof Deno.errors.NotFound)) throw failure(error);
          });
        }
      } finally {
        // Removed while still locked, so a waiter on this guard sees it is gone and retries.
        await Deno.remove(guardPath).catch(() => {});
      }
      return;
    } finally {
      guard.close();
    }
  }
  throw new UserError(`Could not take the takeover guard ${guardPath}${what}; delete it`, 1);
}

async function releaseIfMine(path: string, token: string): Promise<void> {
  const holder = await readLockHolder(path);
  if (holder?.token === token) await Deno.remove(path).catch(() => {});
}

/**
 * Runs `fn` while holding the lock file `lockPath` (see
 * {@linkcode acquireFileLock}; `wait` defaults to true here), and releases
 * it afterwards, also when `fn` throws.
 *
 * @example
 * ```ts
 * import { withFileLock } from "./file_lock.ts";
 * await withFileLock("/tmp/history.jsonl.lock", async () => {
 *   // read, modify, write atomically
 * }, { timeoutMs: 30_000 });
 * ```
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: AcquireLockOptions = {},
): Promise<T> {
  const lock = await acquireFileLock(lockPath, { wait: true, ...options });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
