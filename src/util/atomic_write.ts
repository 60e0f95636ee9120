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
    throw error;
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

/** A unique temporary file name beside `path` (ignored by git through `*.tmp`). */
function temporaryPath(path: string): string {
  return `${path}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
}
