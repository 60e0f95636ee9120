/**
 * Imported PyTorch teachers in the teacher cache: a checkpoint is converted
 * once and stored as a TensorFlow.js model under
 * `<cacheDir>/pytorch/<id>/` (`model.json`, `weights.bin`, `meta.json`),
 * where `id` is the first 16 hex digits of the hash of the checkpoint file's
 * SHA-256, the architecture, the dataset and the converter's source text. A
 * failed conversion stores nothing.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import type { Dataset } from "../../data/dataset.ts";
import { writeJsonAtomic } from "../../util/atomic_write.ts";
import { UserError } from "../../util/errors.ts";
import type { Logger } from "../../util/logger.ts";
import type { Classifier } from "../classifier.ts";
import { evaluateAccuracy } from "../evaluate.ts";
import { loadClassifier, storeCacheEntry } from "../io.ts";
import { getArchitecture } from "../registry.ts";
import type { CheckpointFormat } from "./formats.ts";
import { convertPytorchCheckpoint } from "./import.ts";

/** Bumped by hand when conversion changes in a way the hashed sources do not show. */
export const PYTORCH_IMPORT_VERSION = 1;

const CONVERTER_SOURCES = [
  "formats.ts",
  "import.ts",
  "key_map.ts",
  "pickle.ts",
  "state_dict.ts",
  "tensor.ts",
]
  .map((f) => new URL(`./${f}`, import.meta.url));

/** `meta.json` of an imported teacher. */
export interface PytorchTeacherMeta {
  format: "dfkd-bench-pytorch-teacher/1";
  /** The cache key (SHA-256 hex). */
  hash: string;
  /** The checkpoint: its file name when imported, SHA-256 of its bytes, format and container. */
  source: {
    file: string;
    sha256: string;
    format: CheckpointFormat;
    container: string;
  };
  arch: string;
  dataset: string;
  inputShape: [number, number, number];
  classes: number;
  /** Test accuracy in [0, 1], or null when the dataset was not there to evaluate on. */
  testAccuracy: number | null;
  /** Test split size the accuracy was measured on (0 when not measured). */
  testSize: number;
  /** Conversion warnings (float64 / float16 tensors). */
  warnings: string[];
  /** When it was converted (ISO 8601). */
  importedAt: string;
}

/** An imported teacher ready to use. */
export interface ObtainedPytorchTeacher {
  /** The classifier (the caller disposes its model). */
  classifier: Classifier;
  /** The stored metadata. */
  meta: PytorchTeacherMeta;
  /** The cache folder. */
  path: string;
  /** Whether it was converted now (false: taken from the cache). */
  converted: boolean;
}

/** Options of {@linkcode obtainPytorchTeacher}. */
export interface ObtainPytorchTeacherOptions {
  /** Zoo architecture. */
  arch: string;
  /** Dataset registry name. */
  dataset: string;
  /** The teacher cache folder (imports go to its `pytorch/` subfolder). */
  cacheDir: string;
  /** Where progress and warnings go. */
  log: Logger;
  /** The loaded dataset, to evaluate on its test split (absent: accuracy not measured). */
  data?: Dataset;
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The cache key of checkpoint bytes with SHA-256 `fileSha256` imported as
 * `arch` for `dataset`.
 *
 * @example
 * ```ts
 * import { pytorchTeacherKey } from "./cache.ts";
 * console.log((await pytorchTeacherKey("ab".repeat(32), "lenet5", "mnist")).slice(0, 16));
 * ```
 */
export async function pytorchTeacherKey(
  fileSha256: string,
  arch: string,
  dataset: string,
): Promise<string> {
  const code: Record<string, string> = {};
  for (const url of [...getArchitecture(arch).sources, ...CONVERTER_SOURCES]) {
    code[basename(url.pathname)] = sha256(await Deno.readTextFile(url));
  }
  const keys = Object.keys(code).sort();
  return sha256(JSON.stringify({
    kind: "dfkd-bench pytorch teacher",
    version: PYTORCH_IMPORT_VERSION,
    fileSha256,
    arch,
    dataset,
    code: keys.map((k) => [k, code[k]]),
  }));
}

/**
 * The teacher the checkpoint at `file` holds, converted on first use and
 * taken from the cache afterwards (keyed by the file's SHA-256). With `data`
 * it is evaluated on the test split when converted (or when a cached entry
 * has no accuracy yet).
 *
 * @example
 * ```ts
 * import { obtainPytorchTeacher } from "./cache.ts";
 * import { lineLogger } from "../../util/logger.ts";
 * const t = await obtainPytorchTeacher("cifar10_resnet34.pth", {
 *   arch: "resnet34", dataset: "cifar10", cacheDir: "/tmp/teachers", log: lineLogger(),
 * });
 * console.log(t.meta.source.sha256, t.path);
 * t.classifier.model.dispose();
 * ```
 */
export async function obtainPytorchTeacher(
  file: string,
  options: ObtainPytorchTeacherOptions,
): Promise<ObtainedPytorchTeacher> {
  const { arch, dataset, log } = options;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    throw new UserError(`${file}: cannot read the checkpoint (${(error as Error).message})`, 2);
  }
  const fileSha = sha256(bytes);
  const hash = await pytorchTeacherKey(fileSha, arch, dataset);
  const dir = join(options.cacheDir, "pytorch", hash.slice(0, 16));
  const cached = await readCached(dir, hash, log);
  if (cached !== undefined) {
    if (cached.meta.testAccuracy === null && options.data !== undefined) {
      cached.meta.testAccuracy = await evaluate(cached.classifier, options.data);
      cached.meta.testSize = options.data.test.size;
      await writeJsonAtomic(join(dir, "meta.json"), cached.meta);
    }
    log.info(`teacher ${basename(file)} (${arch}): cached ${dir}${accuracyText(cached.meta)}`);
    return cached;
  }
  const converted = convertPytorchCheckpoint(bytes, file, {
    arch,
    dataset,
    warn: (m) => log.warn(m),
  });
  const { classifier } = converted;
  let testAccuracy: number | null = null;
  try {
    if (options.data !== undefined) testAccuracy = await evaluate(classifier, options.data);
  } catch (error) {
    classifier.model.dispose();
    throw error;
  }
  const meta: PytorchTeacherMeta = {
    format: "dfkd-bench-pytorch-teacher/1",
    hash,
    source: {
      file: basename(file),
      sha256: fileSha,
      format: converted.format,
      container: converted.container,
    },
    arch,
    dataset,
    inputShape: [...classifier.inputShape],
    classes: classifier.classes,
    testAccuracy,
    testSize: testAccuracy === null ? 0 : options.data!.test.size,
    warnings: converted.warnings,
    importedAt: new Date().toISOString(),
  };
  await storeCacheEntry(classifier, meta, dir);
  log.info(`teacher ${basename(file)} (${arch}): converted into ${dir}${accuracyText(meta)}`);
  return { classifier, meta, path: dir, converted: true };
}

function accuracyText(meta: PytorchTeacherMeta): string {
  return meta.testAccuracy === null
    ? ""
    : `, test accuracy ${(100 * meta.testAccuracy).toFixed(2)}%`;
}

/** Test accuracy (awaited, so a backend with asynchronous reads fits too). */
async function evaluate(classifier: Classifier, data: Dataset): Promise<number> {
  return await evaluateAccuracy(classifier, data.test, {
    imageShape: data.imageShape,
    normalisation: data.normalisation,
  });
}

async function readCached(
  dir: string,
  hash: string,
  log: Logger,
): Promise<ObtainedPytorchTeacher | undefined> {
  let meta: PytorchTeacherMeta;
  try {
    meta = JSON.parse(await Deno.readTextFile(join(dir, "meta.json")));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      log.warn(`${dir}/meta.json is unreadable (${(error as Error).message}); converting again`);
    }
    return undefined;
  }
  if (meta.hash !== hash) return undefined;
  try {
    const classifier = await loadClassifier(dir);
    return { classifier, meta, path: dir, converted: false };
  } catch (error) {
    log.warn(
      `${dir}: cached teacher does not load (${(error as Error).message}); converting again`,
    );
    return undefined;
  }
}

/**
 * Every imported teacher in `cacheDir`'s `pytorch/` folder (readable
 * `meta.json`), oldest first.
 *
 * @example
 * ```ts
 * import { listPytorchTeachers } from "./cache.ts";
 * for (const t of await listPytorchTeachers("/tmp/teachers")) console.log(t.meta.source.file);
 * ```
 */
export async function listPytorchTeachers(
  cacheDir: string,
): Promise<{ path: string; meta: PytorchTeacherMeta }[]> {
  const root = join(cacheDir, "pytorch");
  const out: { path: string; meta: PytorchTeacherMeta }[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      if (!entry.isDirectory || entry.name.includes(".tmp-")) continue;
      const path = join(root, entry.name);
      try {
        const meta = JSON.parse(await Deno.readTextFile(join(path, "meta.json")));
        if (meta.format === "dfkd-bench-pytorch-teacher/1") out.push({ path, meta });
      } catch {
        // Not an imported teacher.
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new UserError(`${root}: cannot read the teacher cache (${(error as Error).message})`);
  }
  return out.sort((a, b) => a.meta.importedAt.localeCompare(b.meta.importedAt));
}
