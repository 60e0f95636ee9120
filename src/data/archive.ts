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

/** Caps on what one archive may expand to (a zip or tar bomb fails instead of filling the disk). */
export interface ExpansionLimits {
  /** Total bytes of all files (default 16 GiB: the largest dataset, Tiny-ImageNet, is 0.5 GB). */
  bytes: number;
  /** Number of entries (default 1,000,000: Tiny-ImageNet has 120,000 files). */
  entries: number;
}

/** The default {@linkcode ExpansionLimits}. */
export const EXPANSION_LIMITS: ExpansionLimits = { bytes: 16 * 1024 ** 3, entries: 1_000_000 };

function expansionError(archive: string, what: string): UserError {
  return new UserError(
    `${archive}: expands to more than ${what}; this is not a dataset archive (nothing was installed)`,
    1,
  );
}

/** Counts an archive's entries and bytes against the limits. */
class ExpansionMeter {
  #bytes = 0;
  #entries = 0;
  constructor(readonly archive: string, readonly limits: ExpansionLimits) {}
  /** Counts one more entry. */
  entry(): void {
    if (++this.#entries > this.limits.entries) {
      throw expansionError(this.archive, `${this.limits.entries} entries`);
    }
  }
  /** Counts `n` more bytes. */
  bytes(n: number): void {
    this.#bytes += n;
    if (this.#bytes > this.limits.bytes) {
      throw expansionError(this.archive, `${this.limits.bytes} bytes`);
    }
  }
}

/**
 * Extracts `archive` into the existing folder `dest`, within `limits` (the
 * total size and the number of entries). Corrupt archives give a `UserError`
 * (exit code 1) naming the archive.
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
  limits: ExpansionLimits = EXPANSION_LIMITS,
): Promise<void> {
  const meter = new ExpansionMeter(archive, limits);
  await checkMagic(archive, format);
  try {
    if (format === "tar.gz") {
      await extractTar(archive, dest, meter);
    } else {
      await extractZip(archive, dest, meter);
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

/** Bytes of compressed input handed to fflate at a time (at most ~16 MiB of output each). */
const ZIP_PUSH_BYTES = 8 << 10;

/** The first bytes of each format: a file without them is named as not being one. */
const MAGIC: Record<ArchiveFormat, { bytes: number[]; name: string }> = {
  "tar.gz": { bytes: [0x1f, 0x8b], name: "a gzip-compressed tar archive" },
  zip: { bytes: [0x50, 0x4b, 0x03, 0x04], name: "a zip archive" },
};

async function checkMagic(archive: string, format: ArchiveFormat): Promise<void> {
  const { bytes, name } = MAGIC[format];
  const head = new Uint8Array(bytes.length);
  let n = 0;
  const file = await Deno.open(archive, { read: true });
  try {
    while (n < head.length) {
      const got = await file.read(head.subarray(n));
      if (got === null) break;
      n += got;
    }
  } finally {
    file.close();
  }
  if (n < bytes.length || bytes.some((b, i) => head[i] !== b)) {
    throw new UserError(`${archive}: is not ${name} (its first bytes say otherwise)`, 1);
  }
}

/** Extracts a tar.gz, counting each entry's size against the limits before it is written. */
async function extractTar(archive: string, dest: string, meter: ExpansionMeter): Promise<void> {
  let over: unknown;
  await tar.x({
    file: archive,
    cwd: dest,
    strict: true,
    filter: (_path, entry) => {
      if (over !== undefined) return false;
      try {
        meter.entry();
        meter.bytes("size" in entry && typeof entry.size === "number" ? entry.size : 0);
        return true;
      } catch (error) {
        over = error;
        return false;
      }
    },
  });
  if (over !== undefined) throw over;
}

async function extractZip(archive: string, dest: string, meter: ExpansionMeter): Promise<void> {
  const file = await Deno.open(archive, { read: true });
  let failure: unknown;
  const open = new Set<Deno.FsFile>();
  const unzip = new Unzip((entry) => {
    if (failure !== undefined) return;
    try {
      meter.entry();
    } catch (error) {
      failure = error;
      return;
    }
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
      try {
        meter.bytes(chunk.length);
      } catch (error) {
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
    // Small compressed chunks: fflate inflates a whole pushed chunk at once, and deflate
    // expands up to ~1000x, so a 1 MiB push could need a gigabyte of output.
    const buffer = new Uint8Array(ZIP_PUSH_BYTES);
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
