/**
 * Job checkpoints: everything a job needs to continue exactly where it
 * stopped (the method's {@linkcode MethodState}: networks, optimiser slots,
 * replay memory, random generators, position inside an epoch; plus the
 * runner's own part: the epoch records so far and its counters), in one
 * self-verifying binary file.
 *
 * A job's checkpoints live in `checkpoints/<job-id>/ckpt-<sequence>.bin`.
 * Each is written atomically (`atomic_write.ts`), then all but the newest two
 * are deleted. A file is:
 *
 * ```
 * "DFKDCKP1"            8 bytes, magic and format version
 * header length         u32, little-endian
 * header                JSON (UTF-8): the checkpoint's JSON part and a table of
 *                       tensors { name, shape, dtype, offset, bytes }
 * padding               zeros to a multiple of 4 bytes
 * tensor data           raw little-endian float32 / int32 values
 * SHA-256               32 bytes, over everything before it
 * ```
 *
 * Loading checks the magic, the sizes and the SHA-256; a torn or damaged file
 * is skipped (with a warning) and the previous checkpoint is used instead.
 * The format needs no TensorFlow.js to read or write.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { MethodState, TensorData } from "../methods/method.ts";
import {
  type AtomicWriteOptions,
  removeDeadTemporaries,
  writeFileAtomic,
} from "../util/atomic_write.ts";
import { READ_LIMITS, readBoundedBytes } from "../util/bounded_read.ts";
import type { EpochRecord } from "../results/records.ts";

/**
 * The magic bytes at the start of every checkpoint file (format version 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHECKPOINT_MAGIC } from "./checkpoint.ts";
 * assert.equal(CHECKPOINT_MAGIC.length, 8);
 * ```
 */
export const CHECKPOINT_MAGIC = "DFKDCKP1";

/**
 * How many checkpoints of a job are kept (the newest ones).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHECKPOINTS_KEPT } from "./checkpoint.ts";
 * assert.equal(CHECKPOINTS_KEPT, 2);
 * ```
 */
export const CHECKPOINTS_KEPT = 2;

const FILE_PATTERN = /^ckpt-(\d{6,})\.bin$/;
/** Also damaged files (`.bin.damaged`) and temporary ones: their numbers are never reused. */
const USED_PATTERN = /^ckpt-(\d{6,})\.bin/;

/** One job's saved state. */
export interface JobCheckpoint {
  /** Job id. */
  jobId: string;
  /** The job's configuration hash: a checkpoint only restores into the same configuration. */
  configHash: string;
  /** The job's seed. */
  seed: number;
  /** Epochs completed (and evaluated); the job continues with epoch `epochsDone`. */
  epochsDone: number;
  /**
   * Set when the checkpoint was taken inside epoch `epochsDone` (the first
   * Ctrl-C): the iterations of it already done. The method's state holds the
   * position; this copy is for messages.
   */
  partialIterations?: number;
  /** The epoch records of the completed epochs. */
  epochs: EpochRecord[];
  /** The runner's own counters and random state (JSON). */
  runner: unknown;
  /** The method's state. */
  method: MethodState;
  /** ISO time of saving. */
  savedAt: string;
}

/**
 * A checkpoint file that fails its checks (torn, damaged, or not a checkpoint).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointError } from "./checkpoint.ts";
 * assert.equal(new CheckpointError("too short").name, "CheckpointError");
 * ```
 */
export class CheckpointError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  offset: number;
  bytes: number;
}

/** The file's JSON header: the checkpoint without its tensors, plus the tensor table. */
type Header = Omit<JobCheckpoint, "method"> & { methodJson: unknown; tensors: TensorEntry[] };

/**
 * Encodes a checkpoint as the bytes of one file (see the module
 * documentation for the layout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const bytes = encodeCheckpoint({
 *   jobId: "p__m__s0", configHash: "abc", seed: 0, epochsDone: 1, epochs: [], runner: {},
 *   method: { json: {}, tensors: { w: { shape: [2], dtype: "float32", data: new Float32Array([1, 2]) } } },
 *   savedAt: new Date().toISOString(),
 * });
 * assert.deepEqual(decodeCheckpoint(bytes).method.tensors.w?.data, new Float32Array([1, 2]));
 * ```
 */
export function encodeCheckpoint(checkpoint: JobCheckpoint): Uint8Array {
  const entries: TensorEntry[] = [];
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(checkpoint.method.tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) {
      throw new Error(`Tensor "${name}" has ${t.data.length} values but shape [${t.shape}]`);
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    entries.push({ name, shape: [...t.shape], dtype: t.dtype, offset, bytes: bytes.length });
    datas.push(bytes);
    offset += bytes.length;
  }
  const { method, ...rest } = checkpoint;
  const header: Header = { ...rest, methodJson: method.json, tensors: entries };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(12 + headerBytes.length);
  const total = dataStart + offset + 32;
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  let at = dataStart;
  for (const d of datas) {
    out.set(d, at);
    at += d.length;
  }
  out.set(sha256(out.subarray(0, total - 32)), total - 32);
  return out;
}

/**
 * Decodes and verifies a checkpoint file's bytes; a torn, damaged or foreign
 * file throws {@linkcode CheckpointError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointError, decodeCheckpoint } from "./checkpoint.ts";
 * try {
 *   decodeCheckpoint(new Uint8Array(10));
 * } catch (error) {
 *   assert.equal(error instanceof CheckpointError, true);
 * }
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array): JobCheckpoint {
  if (bytes.length < 12 + 32) throw new CheckpointError(`too short (${bytes.length} bytes)`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) throw new CheckpointError("not a dfkd-bench checkpoint");
  const body = bytes.subarray(0, bytes.length - 32);
  const stored = bytes.subarray(bytes.length - 32);
  const actual = sha256(body);
  if (!actual.every((b, i) => b === stored[i])) {
    throw new CheckpointError("its SHA-256 does not match its contents (torn or damaged file)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > body.length) throw new CheckpointError("header runs past the end");
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (error) {
    throw new CheckpointError(`unreadable header: ${(error as Error).message}`);
  }
  const dataStart = align4(12 + headerLength);
  const tensors: Record<string, TensorData> = {};
  for (const e of header.tensors) {
    const start = dataStart + e.offset;
    if (start + e.bytes > body.length) {
      throw new CheckpointError(`tensor "${e.name}" runs past the end`);
    }
    // A copy: typed arrays need aligned buffers of their own.
    const buffer = bytes.slice(start, start + e.bytes).buffer;
    const data = e.dtype === "int32" ? new Int32Array(buffer) : new Float32Array(buffer);
    tensors[e.name] = { shape: e.shape, dtype: e.dtype, data };
  }
  const { methodJson, tensors: _table, ...rest } = header;
  return { ...rest, method: { json: methodJson, tensors } };
}

/** The checkpoints in `dir`, newest first, and the highest sequence number in use. */
async function listCheckpoints(
  dir: string,
): Promise<{ files: { path: string; sequence: number }[]; highest: number }> {
  const files: { path: string; sequence: number }[] = [];
  let highest = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const used = USED_PATTERN.exec(entry.name);
      if (used) highest = Math.max(highest, Number(used[1]));
      const m = FILE_PATTERN.exec(entry.name);
      if (entry.isFile && m) files.push({ path: join(dir, entry.name), sequence: Number(m[1]) });
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { files: [], highest: 0 };
    throw error;
  }
  return { files: files.sort((a, b) => b.sequence - a.sequence), highest };
}

/**
 * Writes `checkpoint` into `dir` (created if needed) as the next
 * `ckpt-<sequence>.bin`, atomically, then deletes all but the newest
 * {@linkcode CHECKPOINTS_KEPT}; resolves to the new file's path.
 *
 * @example
 * ```ts
 * import { saveCheckpoint } from "./checkpoint.ts";
 * import type { JobCheckpoint } from "./checkpoint.ts";
 * declare const checkpoint: JobCheckpoint;
 * // await saveCheckpoint("results/smoke/<run-id>/checkpoints/<job-id>", checkpoint);
 * ```
 */
export async function saveCheckpoint(
  dir: string,
  checkpoint: JobCheckpoint,
  options: AtomicWriteOptions = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const { files: existing, highest } = await listCheckpoints(dir);
  const sequence = highest + 1;
  const path = join(dir, `ckpt-${String(sequence).padStart(6, "0")}.bin`);
  await writeFileAtomic(path, encodeCheckpoint(checkpoint), options);
  for (const old of existing.slice(CHECKPOINTS_KEPT - 1)) {
    await Deno.remove(old.path).catch(() => {});
  }
  // Temporary files of writers that died before their rename (never a live writer's).
  await removeDeadTemporaries(dir);
  return path;
}

/**
 * The newest checkpoint in `dir` that passes its checks, or `undefined` when
 * there is none. A file that fails them is reported to `onSkip`, renamed to
 * `<name>.damaged` (out of the rotation) and the previous one is tried.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadLatestCheckpoint } from "./checkpoint.ts";
 * const found = await loadLatestCheckpoint("/nonexistent");
 * assert.equal(found, undefined);
 * ```
 */
export async function loadLatestCheckpoint(
  dir: string,
  onSkip: (path: string, reason: string) => void = () => {},
): Promise<{ checkpoint: JobCheckpoint; path: string } | undefined> {
  for (const { path } of (await listCheckpoints(dir)).files) {
    try {
      return {
        checkpoint: decodeCheckpoint(await readBoundedBytes(path, READ_LIMITS.weights)),
        path,
      };
    } catch (error) {
      onSkip(path, error instanceof Error ? error.message : String(error));
      // Out of the rotation (kept for inspection), so the newest two stay loadable ones.
      await Deno.rename(path, `${path}.damaged`).catch(() => {});
    }
  }
  return undefined;
}

/**
 * Deletes a job's checkpoint folder (a completed job needs none).
 *
 * @example
 * ```ts
 * import { removeCheckpoints } from "./checkpoint.ts";
 * await removeCheckpoints("/tmp/nothing-here");
 * ```
 */
export async function removeCheckpoints(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}
