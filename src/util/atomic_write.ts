/**
 * Atomic file writes: the content goes to a temporary file in the same folder,
 * is flushed to disk, and is then renamed over the target (rename is atomic on
 * one file system). A reader, or a process that died halfway, sees either the
 * old file or the new one, never a torn one. The one implementation every
 * writer in dfkd-bench uses (run records, reports, the history, saved models,
 * teacher metadata).
 *
 * The parent folder must exist. For read-modify-write updates by several
 * processes, hold a lock around the update (`withFileLock` in
 * `file_lock.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { environmentError } from "./errors.ts";
import { processAlive } from "./file_lock.ts";

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * Called after the temporary file is written and flushed, before the rename
   * (tests simulate a crash here by throwing; the temporary file is removed).
   */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `data` to `path` atomically (temporary file, fsync, rename). On
 * failure the temporary file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_write.ts";
 * await writeFileAtomic("/tmp/example.bin", new Uint8Array([1, 2, 3]));
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = temporaryPath(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await options.beforeRename?.(tmp);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    // No space, a read-only folder: one line naming the file, not "a bug".
    throw environmentError(error, path) ?? error;
  }
}

/**
 * Writes `text` (UTF-8) to `path` atomically.
 *
 * @example
 * ```ts
 * import { writeTextFileAtomic } from "./atomic_write.ts";
 * await writeTextFileAtomic("/tmp/example.txt", "hello\n");
 * ```
 */
export function writeTextFileAtomic(
  path: string,
  text: string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text), options);
}

/**
 * Writes `value` as indented JSON (with a final newline) to `path` atomically.
 *
 * @example
 * ```ts
 * import { writeJsonAtomic } from "./atomic_write.ts";
 * await writeJsonAtomic("/tmp/example.json", { ok: true });
 * ```
 */
export function writeJsonAtomic(
  path: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  return writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n", options);
}

/**
 * Removes the temporary files under `dir` (not recursive) that writers on
 * this host left when they died before their rename: only those whose
 * process (the pid in the name) no longer exists, never a live writer's.
 * Resolves to the names removed.
 *
 * @example
 * ```ts
 * import { removeDeadTemporaries } from "./atomic_write.ts";
 * console.log(await removeDeadTemporaries("/tmp/nothing-here")); // []
 * ```
 */
export async function removeDeadTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const pid = /\.(\d+)-[0-9a-f]{8}\.tmp$/.exec(entry.name)?.[1];
      if (!entry.isFile || pid === undefined || Number(pid) === Deno.pid) continue;
      if (processAlive(Number(pid))) continue;
      await Deno.remove(join(dir, entry.name)).then(() => removed.push(entry.name), () => {});
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return removed;
}

/** A unique temporary file name beside `path` (ignored by git through `*.tmp`). */
function temporaryPath(path: string): string {
  return `${path}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
}
