/**
 * Bounded whole-file reads: every file dfkd-bench reads whole from a path a
 * user can name (benchmark files, teacher `model.json` and weights, run and
 * job records, history files, checkpoints, dataset files) goes through
 * {@linkcode readBoundedBytes} or {@linkcode readBoundedText}. The path must
 * be a regular file (symbolic links to one are followed): a folder, a named
 * pipe (which would block the read forever) or a device (`/dev/zero` would
 * grow memory until the process dies) is refused before it is opened; and it
 * must be no larger than the limit of its kind ({@linkcode READ_LIMITS}),
 * checked before the buffer is allocated and again while reading.
 *
 * @module
 */
import { UserError } from "./errors.ts";

/** A size limit and why it is what it is (for the error message and the docs). */
export interface ReadLimit {
  /** Largest accepted size in bytes. */
  bytes: number;
  /** What kind of file this is, for messages ("a JSON document"). */
  kind: string;
}

const MiB = 1024 * 1024;

/**
 * The limits by kind of file. Each is far above the largest real file of
 * its kind and far below what would exhaust memory, so a wrong path fails at
 * once with a message instead of after minutes of swapping:
 *
 * - `document` 16 MiB: benchmark files, `model.json`, `run.json`, job
 *   records, `meta.json`. The largest real one is a job record of a
 *   1000-epoch run, about 200 kB.
 * - `history` 256 MiB: a regression history file (JSON lines), about 1 kB
 *   per run: 256 MiB is some 250,000 runs.
 * - `weights` 2 GiB: teacher weight files and job checkpoints. ResNet-34's
 *   float32 weights are 87 MB; a checkpoint holds student, generator and VAE
 *   with their Adam moments, a few hundred MB at most; the wasm heap that
 *   must hold them is 4 GiB at most.
 * - `data` 4 GiB: dataset files; the largest is the Tiny-ImageNet cache
 *   (110,000 images of 64x64x3 bytes, 1.35 GB).
 */
export const READ_LIMITS = {
  document: { bytes: 16 * MiB, kind: "a JSON document" },
  history: { bytes: 256 * MiB, kind: "a history file" },
  weights: { bytes: 2048 * MiB, kind: "a weights or checkpoint file" },
  data: { bytes: 4096 * MiB, kind: "a dataset file" },
} as const satisfies Record<string, ReadLimit>;

/** Why a bounded read was refused. */
export type ReadRefusal = "not-found" | "folder" | "not-regular" | "too-large" | "unreadable";

/**
 * A refused or failed bounded read: a `UserError` whose message is
 * `<path>: <reason>`; callers that word their own message use `reason`.
 */
export class FileReadError extends UserError {
  /** The file. */
  readonly path: string;
  /** The cause in words, without the path ("no such file", "is a folder"). */
  readonly reason: string;
  /** The cause as a code. */
  readonly refusal: ReadRefusal;
  /** The error, with the exit code `exitCode`. */
  constructor(path: string, refusal: ReadRefusal, reason: string, exitCode: number) {
    super(`${path}: ${reason}`, exitCode);
    this.name = "FileReadError";
    this.path = path;
    this.reason = reason;
    this.refusal = refusal;
  }
}

/** Options of {@linkcode readBoundedBytes}. */
export interface BoundedReadOptions {
  /** Exit code of the `FileReadError` thrown (default 1). */
  exitCode?: number;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * MiB
    ? `${(bytes / (1024 * MiB)).toFixed(bytes % (1024 * MiB) === 0 ? 0 : 1)} GiB`
    : bytes >= MiB
    ? `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB`
    : `${bytes} bytes`;
}

function describeType(info: Deno.FileInfo): string {
  if (info.isFifo) return "a named pipe";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

function tooLarge(path: string, size: string, limit: ReadLimit, exitCode: number): FileReadError {
  return new FileReadError(
    path,
    "too-large",
    `is ${size}, larger than the ${formatBytes(limit.bytes)} allowed for ${limit.kind} ` +
      `(is this the right file?)`,
    exitCode,
  );
}

/** Checks that `path` is a regular file within `limit`, without opening it. */
async function checkFile(path: string, limit: ReadLimit, exitCode: number): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw failure(path, error, exitCode);
  }
  if (info.isDirectory) throw new FileReadError(path, "folder", "is a folder", exitCode);
  if (!info.isFile) {
    throw new FileReadError(
      path,
      "not-regular",
      `is ${describeType(info)}, not a regular file`,
      exitCode,
    );
  }
  if (info.size > limit.bytes) throw tooLarge(path, formatBytes(info.size), limit, exitCode);
}

function failure(path: string, error: unknown, exitCode: number): FileReadError {
  if (error instanceof FileReadError) return error;
  if (error instanceof Deno.errors.NotFound) {
    return new FileReadError(path, "not-found", "no such file", exitCode);
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return new FileReadError(path, "folder", "is a folder", exitCode);
  }
  const message = error instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : error instanceof Error
    ? error.message
    : String(error);
  return new FileReadError(path, "unreadable", `cannot be read (${message})`, exitCode);
}

/**
 * Reads the whole regular file `path`, of at most `limit.bytes` bytes, into
 * one buffer of its size (16 MiB reads). A missing file, a folder, a pipe or
 * device, a file over the limit or a read failure is a `FileReadError`.
 *
 * @example
 * ```ts
 * import { READ_LIMITS, readBoundedBytes } from "./bounded_read.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await readBoundedBytes(path, READ_LIMITS.document), new Uint8Array([1, 2, 3]));
 * await assert.rejects(readBoundedBytes("/dev/zero", READ_LIMITS.document), /character device/);
 * ```
 */
export async function readBoundedBytes(
  path: string,
  limit: ReadLimit,
  options: BoundedReadOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const exitCode = options.exitCode ?? 1;
  await checkFile(path, limit, exitCode);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw failure(path, error, exitCode);
  }
  try {
    const info = await file.stat();
    // Replaced between the check and the open.
    if (!info.isFile) {
      throw new FileReadError(path, "not-regular", "is not a regular file", exitCode);
    }
    if (info.size > limit.bytes) throw tooLarge(path, formatBytes(info.size), limit, exitCode);
    // One byte more than the size, to notice a file that grows while it is read.
    const buffer = new Uint8Array(info.size + 1);
    let offset = 0;
    for (;;) {
      const end = Math.min(buffer.length, offset + 16 * MiB);
      if (offset === buffer.length) {
        throw tooLarge(path, "growing while it is read", limit, exitCode);
      }
      const n = await file.read(buffer.subarray(offset, end));
      if (n === null) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } catch (error) {
    throw failure(path, error, exitCode);
  } finally {
    file.close();
  }
}

/**
 * Reads the whole regular file `path` as UTF-8 text, with the checks of
 * {@linkcode readBoundedBytes}.
 *
 * @example
 * ```ts
 * import { READ_LIMITS, readBoundedText } from "./bounded_read.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "{}");
 * assert.equal(await readBoundedText(path, READ_LIMITS.document), "{}");
 * ```
 */
export async function readBoundedText(
  path: string,
  limit: ReadLimit,
  options: BoundedReadOptions = {},
): Promise<string> {
  return new TextDecoder().decode(await readBoundedBytes(path, limit, options));
}

/**
 * Checks that a file named inside a folder's own description (a weight path
 * in `model.json`) stays inside that folder: no absolute path, no `..` step
 * out of it. Returns the joined path; throws a `UserError` naming `source`.
 *
 * @example
 * ```ts
 * import { insideFolder } from "./bounded_read.ts";
 * import assert from "node:assert/strict";
 * assert.equal(insideFolder("/m", "./weights.bin", "/m/model.json"), "/m/weights.bin");
 * assert.throws(() => insideFolder("/m", "../etc/passwd", "/m/model.json"), /outside/);
 * ```
 */
export function insideFolder(
  folder: string,
  relative: string,
  source: string,
  exitCode = 2,
): string {
  const parts = relative.split(/[\\/]+/);
  if (relative.startsWith("/") || /^[A-Za-z]:/.test(relative) || parts.includes("..")) {
    throw new UserError(
      `${source}: the path ${JSON.stringify(relative)} leads outside its folder ${folder}; ` +
        `weight files must lie in the model's folder`,
      exitCode,
    );
  }
  const clean = parts.filter((p) => p !== "" && p !== ".");
  if (clean.length === 0) {
    throw new UserError(`${source}: the path ${JSON.stringify(relative)} names no file`, exitCode);
  }
  return [folder.replace(/\/+$/, ""), ...clean].join("/");
}
