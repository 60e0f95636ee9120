/**
 * Crash-safe file writes: write a temporary file beside the target, flush it
 * to disk, then rename it over the target (rename is atomic on one file
 * system), so readers see the old file or the new one, never half of one.
 * And a small lock file for read-modify-write updates by several processes.
 *
 * @module
 */
import { dirname } from "node:path";
import { UserError } from "./errors.ts";

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Called after the temporary file is written and before the rename (tests simulate crashes here). */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `data` to `path` atomically (temporary file, fsync, rename). Creates
 * the parent folder. On failure the temporary file is removed and `path` is
 * left as it was.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_file.ts";
 * await writeFileAtomic("/tmp/example.json", JSON.stringify({ ok: true }) + "\n");
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await options.beforeRename?.(temp);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** Options of {@linkcode withFileLock}. */
export interface FileLockOptions {
  /** Give up after this many milliseconds of waiting (default 30 000). */
  timeoutMs?: number;
  /** A lock older than this many milliseconds is taken as left by a dead process (default 120 000). */
  staleMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock on `path` (a `<path>.lock.tmp`
 * file created with `createNew`), so concurrent read-modify-write updates of
 * one file do not lose each other's changes.
 *
 * @example
 * ```ts
 * import { withFileLock } from "./atomic_file.ts";
 * await withFileLock("/tmp/history.jsonl", async () => {
 *   // read, modify, writeFileAtomic
 * });
 * ```
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lock = `${path}.lock.tmp`;
  const timeout = options.timeoutMs ?? 30_000;
  const stale = options.staleMs ?? 120_000;
  await Deno.mkdir(dirname(path), { recursive: true });
  const start = Date.now();
  for (;;) {
    try {
      const f = await Deno.open(lock, { write: true, createNew: true });
      await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
      f.close();
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const info = await Deno.stat(lock).catch(() => undefined);
      if (info?.mtime && Date.now() - info.mtime.getTime() > stale) {
        await Deno.remove(lock).catch(() => {});
        continue;
      }
      if (Date.now() - start > timeout) {
        throw new UserError(
          `Timed out after ${timeout} ms waiting for the lock ${lock}; if no other dfkd-bench ` +
            `process is running, delete that file`,
          1,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}
