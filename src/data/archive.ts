/**
 * Archive extraction for dataset installs: `.tar.gz` with `tar` (node-tar,
 * the npm CLI's own tar implementation) and `.zip` with `fflate` (streamed,
 * so a large archive is never held in memory whole). Entries that would land
 * outside the target folder are refused.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { Unzip, UnzipInflate, UnzipPassThrough } from "fflate";
import * as tar from "tar";
import { UserError } from "../util/errors.ts";

/** Archive formats dfkd-bench extracts. */
export type ArchiveFormat = "tar.gz" | "zip";

/**
 * Extracts `archive` into the existing folder `dest`. Corrupt archives give a
 * `UserError` (exit code 1) naming the archive.
 *
 * @example
 * ```ts
 * import { extractArchive } from "./archive.ts";
 * // await extractArchive("/tmp/cifar-10-binary.tar.gz", "tar.gz", "/tmp/extract");
 * ```
 */
export async function extractArchive(
  archive: string,
  format: ArchiveFormat,
  dest: string,
): Promise<void> {
  try {
    if (format === "tar.gz") {
      await tar.x({ file: archive, cwd: dest, strict: true });
    } else {
      await extractZip(archive, dest);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError(`${archive}: cannot be extracted as ${format} (${message})`, 1);
  }
}

/** A zip entry's path inside `dest`, or an error if it would escape it. */
function safeEntryPath(archive: string, dest: string, name: string): string {
  const clean = normalize(name.replaceAll("\\", "/"));
  if (
    isAbsolute(clean) || clean === ".." || clean.startsWith(`..${sep}`) || /^[a-z]:/i.test(name)
  ) {
    throw new UserError(`${archive}: entry ${JSON.stringify(name)} points outside the archive`, 1);
  }
  return join(dest, clean);
}

async function extractZip(archive: string, dest: string): Promise<void> {
  const file = await Deno.open(archive, { read: true });
  let failure: unknown;
  const open = new Set<Deno.FsFile>();
  const unzip = new Unzip((entry) => {
    const path = safeEntryPath(archive, dest, entry.name);
    if (entry.name.endsWith("/")) {
      Deno.mkdirSync(path, { recursive: true });
      return;
    }
    Deno.mkdirSync(dirname(path), { recursive: true });
    const out = Deno.openSync(path, { write: true, createNew: true });
    open.add(out);
    entry.ondata = (error, chunk, final) => {
      if (failure !== undefined) return;
      if (error) {
        failure = error;
        return;
      }
      let written = 0;
      while (written < chunk.length) written += out.writeSync(chunk.subarray(written));
      if (final) {
        open.delete(out);
        out.close();
      }
    };
    entry.start();
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  try {
    const buffer = new Uint8Array(1 << 20);
    while (failure === undefined) {
      const n = await file.read(buffer);
      if (n === null) {
        unzip.push(new Uint8Array(0), true);
        break;
      }
      // fflate may keep references to pushed chunks: hand it a copy.
      unzip.push(buffer.slice(0, n));
    }
  } finally {
    file.close();
    for (const out of open) out.close();
  }
  if (failure !== undefined) throw failure;
  if (open.size > 0) throw new Error("the archive ends inside a file");
}

/** Digests computed while streaming bytes. */
export interface Digests {
  /** MD5, hex. */
  md5: string;
  /** SHA-256, hex. */
  sha256: string;
  /** Bytes seen. */
  bytes: number;
}

/**
 * MD5 and SHA-256 of a byte stream, fed chunk by chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DigestStream } from "./archive.ts";
 * const d = new DigestStream();
 * d.update(new TextEncoder().encode("abc"));
 * assert.equal(d.digest().md5, "900150983cd24fb0d6963f7d28e17f72");
 * ```
 */
export class DigestStream {
  #md5: Hash = createHash("md5");
  #sha256: Hash = createHash("sha256");
  #bytes = 0;

  /** Adds a chunk. */
  update(chunk: Uint8Array): void {
    this.#md5.update(chunk);
    this.#sha256.update(chunk);
    this.#bytes += chunk.length;
  }

  /** The digests of everything added. */
  digest(): Digests {
    return { md5: this.#md5.digest("hex"), sha256: this.#sha256.digest("hex"), bytes: this.#bytes };
  }
}

/**
 * MD5 and SHA-256 of a file, read in 1 MiB chunks; `onProgress` receives the
 * bytes read so far.
 *
 * @example
 * ```ts
 * import { fileDigests } from "./archive.ts";
 * // const { md5, sha256 } = await fileDigests("/tmp/archive.tar.gz");
 * ```
 */
export async function fileDigests(
  path: string,
  onProgress?: (bytes: number) => void,
): Promise<Digests> {
  const digest = new DigestStream();
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(1 << 20);
    let total = 0;
    while (true) {
      const n = await file.read(buffer);
      if (n === null) break;
      digest.update(buffer.subarray(0, n));
      total += n;
      onProgress?.(total);
    }
  } finally {
    file.close();
  }
  return digest.digest();
}
