/**
 * Installing a dataset from its publisher's archive: download (with
 * progress) or a local file (`--from`), checksum, extraction, and an atomic
 * move into place.
 *
 * Everything happens in a temporary folder `<dataRoot>/.fetch-<folder>-*`;
 * only a verified, fully extracted dataset folder is renamed to
 * `<dataRoot>/<folder>` (one `rename`, atomic on one file system), so a failed
 * or interrupted fetch never leaves anything a later load could mistake for
 * data. The temporary folder is removed on failure; one left by a killed
 * process is harmless (loaders never look at it) and `fetch` warns about it.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve, sep as SEPARATOR } from "node:path";
import { UserError } from "../util/errors.ts";
import { checkDataRoot } from "./data_root.ts";
import { type Logger, silentLogger } from "../util/logger.ts";
import {
  type Digests,
  DigestStream,
  type ExpansionLimits,
  extractArchive,
  fileDigests,
} from "./archive.ts";
import type { ArchiveSource, DatasetSpec } from "./dataset.ts";

/** The file written into an installed dataset folder recording where it came from. */
export const INSTALL_RECORD = ".dfkd-install.json";

/** Options of {@linkcode fetchDataset}. */
export interface FetchOptions {
  /** The data root to install into (created if missing). */
  dataRoot: string;
  /** Install from this local archive instead of downloading. */
  from?: string;
  /** Download from this address instead of the publisher's (a mirror, or a test server). */
  url?: string;
  /**
   * Expected MD5 (hex), replacing the published checksums (with `url`, for a
   * mirror that serves a different file, or a test archive).
   */
  md5?: string;
  /** Expected SHA-256 (hex), replacing the published checksums like `md5`. */
  sha256?: string;
  /** Progress and messages. */
  log?: Logger;
  /** Caps on the extracted size (default `EXPANSION_LIMITS`; tests pass small ones). */
  expansionLimits?: ExpansionLimits;
}

/** What {@linkcode fetchDataset} did. */
export interface FetchResult {
  /** `installed` now, already `present`, or `embedded` (nothing to fetch). */
  status: "installed" | "present" | "embedded";
  /** The dataset folder (absent for embedded datasets). */
  path?: string;
  /** The verified archive's digests (when installed). */
  digests?: Digests;
}

/** The checksums an archive must match: the published ones unless overridden. */
function expectedChecksums(
  source: ArchiveSource,
  options: FetchOptions,
): { md5?: string; sha256?: string; bytes?: number } {
  if (options.md5 !== undefined || options.sha256 !== undefined) {
    return {
      ...(options.md5 !== undefined ? { md5: options.md5.toLowerCase() } : {}),
      ...(options.sha256 !== undefined ? { sha256: options.sha256.toLowerCase() } : {}),
    };
  }
  return {
    ...(source.md5 !== undefined ? { md5: source.md5 } : {}),
    ...(source.sha256 !== undefined ? { sha256: source.sha256 } : {}),
    ...(source.bytes !== undefined ? { bytes: source.bytes } : {}),
  };
}

/** Throws a `UserError` unless `got` matches every expected checksum. */
function verify(
  archive: string,
  got: Digests,
  expected: { md5?: string; sha256?: string; bytes?: number },
): void {
  const problems: string[] = [];
  if (expected.bytes !== undefined && got.bytes !== expected.bytes) {
    problems.push(`size ${got.bytes} bytes, expected ${expected.bytes}`);
  }
  if (expected.md5 !== undefined && got.md5 !== expected.md5) {
    problems.push(`MD5 ${got.md5}, expected ${expected.md5}`);
  }
  if (expected.sha256 !== undefined && got.sha256 !== expected.sha256) {
    problems.push(`SHA-256 ${got.sha256}, expected ${expected.sha256}`);
  }
  if (problems.length > 0) {
    throw new UserError(
      `${archive}: checksum mismatch (${problems.join("; ")}); nothing was installed`,
      1,
    );
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Downloads `url` to `path`, hashing on the way; a failed or short transfer is a `UserError`. */
async function download(url: string, path: string, log: Logger): Promise<Digests> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new UserError(
      `Download of ${url} failed (${firstLine(error)}); nothing was installed`,
      1,
    );
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new UserError(
      `Download of ${url} failed: HTTP ${response.status} ${response.statusText}; nothing was installed`,
      1,
    );
  }
  const header = response.headers.get("content-length");
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  // Without a Content-Length there is no total to show progress against.
  const progress = total !== undefined && total > 0
    ? log.progress(`downloading ${url.split("/").pop() ?? url}`, total)
    : silentLogger.progress("", 0);
  const digest = new DigestStream();
  let received = 0;
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    for await (const chunk of response.body) {
      digest.update(chunk);
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
      received += chunk.length;
      progress.update(received);
    }
  } catch (error) {
    throw new UserError(
      `Download of ${url} was cut off after ${received}${
        total !== undefined ? ` of ${total}` : ""
      } bytes (${firstLine(error)}); nothing was installed, run the fetch again`,
      1,
    );
  } finally {
    file.close();
    progress.stop();
  }
  if (total !== undefined && received !== total) {
    throw new UserError(
      `Download of ${url} was cut off after ${received} of ${total} bytes; nothing was installed, run the fetch again`,
      1,
    );
  }
  return digest.digest();
}

/**
 * Checks the extracted dataset folder: a real folder (`lstat`: a symbolic
 * link in its place is refused, it could point anywhere), and no symbolic
 * link inside it whose target is absolute or leads out of it (it would
 * dangle or reach outside the data root once installed).
 */
async function checkExtracted(archive: string, folder: string, name: string): Promise<void> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.lstat(folder);
  } catch { /* reported below */ }
  if (info?.isSymlink) {
    throw new UserError(
      `${archive}: its ${name}/ is a symbolic link, not a folder; nothing was installed`,
      1,
    );
  }
  if (!info?.isDirectory) {
    throw new UserError(
      `${archive}: does not contain the folder ${name}/; nothing was installed`,
      1,
    );
  }
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      if (!entry.isSymlink) continue;
      const target = await Deno.readLink(path);
      const inside = relative(folder, resolve(dir, target));
      if (isAbsolute(target) || inside === ".." || inside.startsWith(`..${SEPARATOR}`)) {
        throw new UserError(
          `${archive}: ${relative(dirname(folder), path)} is a symbolic link to ${target}, ` +
            `outside the dataset folder; nothing was installed`,
          1,
        );
      }
    }
  };
  await walk(folder);
}

/**
 * Installs `spec`'s archive into `<dataRoot>/<source.folder>` unless it is
 * already there (idempotent). Downloads from the publisher (or `url`), or
 * uses the local archive `from`; verifies the checksum, extracts into a
 * temporary folder under the data root, and renames the dataset folder into
 * place only when everything succeeded.
 *
 * @example
 * ```ts
 * import { fetchDataset } from "./fetch.ts";
 * import { getDataset } from "./registry.ts";
 * // await fetchDataset(getDataset("cifar10"), { dataRoot: "/data", from: "cifar-10-binary.tar.gz" });
 * ```
 */
export async function fetchDataset(spec: DatasetSpec, options: FetchOptions): Promise<FetchResult> {
  const log = options.log ?? silentLogger;
  const source = spec.source;
  if (source === undefined) return { status: "embedded" };
  const { dataRoot } = options;
  await checkDataRoot(dataRoot);
  const dest = join(dataRoot, source.folder);
  if (await exists(dest)) return { status: "present", path: dest };
  const expected = expectedChecksums(source, options);
  if (expected.md5 === undefined && expected.sha256 === undefined) {
    throw new UserError(`${spec.name}: no checksum to verify the archive against`);
  }
  if (options.from !== undefined) {
    let isFile = false;
    try {
      isFile = (await Deno.stat(options.from)).isFile;
    } catch { /* reported below */ }
    if (!isFile) throw new UserError(`--from ${options.from}: no such file`);
  }
  await Deno.mkdir(dataRoot, { recursive: true });
  for await (const e of Deno.readDir(dataRoot)) {
    if (e.name.startsWith(`.fetch-${source.folder}-`)) {
      log.warn(
        `${
          join(dataRoot, e.name)
        } is left from an earlier fetch that was killed; it is safe to delete`,
      );
    }
  }
  const tmp = await Deno.makeTempDir({ dir: dataRoot, prefix: `.fetch-${source.folder}-` });
  try {
    const url = options.url ?? source.url;
    let archive: string;
    let digests: Digests;
    if (options.from !== undefined) {
      archive = options.from;
      const size = (await Deno.stat(archive)).size;
      const progress = log.progress(`checksumming ${source.fileName}`, size);
      digests = await fileDigests(archive, (n) => progress.update(n));
      progress.stop();
    } else {
      archive = join(tmp, source.fileName);
      log.info(`${spec.name}: downloading ${url}`);
      digests = await download(url, archive, log);
    }
    verify(options.from ?? url, digests, expected);
    log.info(`${spec.name}: checksum verified, extracting ${source.fileName}`);
    const extractDir = join(tmp, "extract");
    await Deno.mkdir(extractDir);
    await extractArchive(archive, source.format, extractDir, options.expansionLimits);
    const extracted = join(extractDir, source.folder);
    await checkExtracted(archive, extracted, source.folder);
    const record = {
      dataset: spec.name,
      archive: options.from ?? url,
      md5: digests.md5,
      sha256: digests.sha256,
      bytes: digests.bytes,
      installed: new Date().toISOString(),
    };
    // createNew: never through a link of that name the archive may hold.
    await Deno.writeTextFile(join(extracted, INSTALL_RECORD), JSON.stringify(record, null, 2), {
      createNew: true,
    });
    await Deno.rename(extracted, dest);
    log.info(`${spec.name}: installed ${dest}`);
    return { status: "installed", path: dest, digests };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
