/**
 * The teacher cache: a trained teacher is stored under the hash of
 * everything that determines it (architecture, dataset, recipe with seed,
 * and the source text of the model and training code), so a benchmark that
 * declares the same teacher reuses it and any change trains a new one.
 *
 * Layout: `<cacheDir>/<hash16>/model.json`, `weights.bin`, `meta.json`.
 * Entries appear atomically (trained into a temporary folder, then renamed),
 * and a lock file makes parallel processes that need the same teacher wait
 * for one training instead of each training it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { BackendInfo, BackendName } from "../../backends/init_backend.ts";
import type { Dataset } from "../../data/dataset.ts";
import { getDataset } from "../../data/registry.ts";
import { collectEnvironment, type Environment } from "../../util/environment.ts";
import { READ_LIMITS, readBoundedText } from "../../util/bounded_read.ts";
import { UserError } from "../../util/errors.ts";
import { acquireFileLock, describeHolder } from "../../util/file_lock.ts";
import type { Logger } from "../../util/logger.ts";
import type { Classifier } from "../classifier.ts";
import { loadClassifier, storeCacheEntry } from "../io.ts";
import { trainableParameterCount } from "../layers.ts";
import { getArchitecture } from "../registry.ts";
import type { TeacherDeclaration } from "./recipe.ts";
import { type TeacherEpoch, trainTeacher } from "./train.ts";

/** The environment variable naming the teacher cache when no flag is given. */
export const TEACHER_CACHE_ENV = "DFKD_TEACHERS";

/**
 * Bumped by hand when teacher training changes in a way the hashed sources
 * do not show (e.g. the data pipeline's augmentation semantics).
 */
export const TEACHER_TRAINING_VERSION = 1;

const TRAINING_SOURCES = [new URL("./train.ts", import.meta.url)];

/**
 * The teacher cache folder: `flag` if given, then `$DFKD_TEACHERS`, then
 * `~/.cache/dfkd-bench/teachers`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTeacherCacheDir } from "./cache.ts";
 * assert.equal(resolveTeacherCacheDir("/srv/teachers"), "/srv/teachers");
 * ```
 */
export function resolveTeacherCacheDir(flag?: string): string {
  if (flag !== undefined && flag !== "") return resolve(flag);
  const env = Deno.env.get(TEACHER_CACHE_ENV);
  if (env !== undefined && env !== "") return resolve(env);
  return join(homedir(), ".cache", "dfkd-bench", "teachers");
}

/** What a teacher's hash covers. */
export interface TeacherKey {
  /** SHA-256 (hex) of the canonical JSON of the other fields. */
  hash: string;
  /** The cache folder name: the first 16 hex digits of the hash. */
  id: string;
  /** SHA-256 of each source file's text, by file name. */
  code: Record<string, string>;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function sha256(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

async function sourceDigest(url: URL): Promise<string> {
  if (url.protocol === "file:") return sha256(await Deno.readTextFile(url));
  // Running from a remote copy: the text is fetched as Deno did to import it.
  const response = await fetch(url);
  return sha256(await response.text());
}

/**
 * The hash of a teacher declaration together with the source text of its
 * architecture's files and of the training code.
 *
 * @example
 * ```ts
 * import { teacherKey } from "./cache.ts";
 * import { declareTeacher } from "./recipe.ts";
 * const key = await teacherKey(declareTeacher("lenet5", "mnist"));
 * console.log(key.id);
 * ```
 */
export async function teacherKey(declaration: TeacherDeclaration): Promise<TeacherKey> {
  const spec = getArchitecture(declaration.arch);
  const code: Record<string, string> = {};
  for (const url of [...spec.sources, ...TRAINING_SOURCES]) {
    code[basename(url.pathname)] = await sourceDigest(url);
  }
  return keyFor(declaration, code);
}

/**
 * The key of `declaration` given the digests of its source files (what
 * {@linkcode teacherKey} computes after reading them).
 *
 * @example
 * ```ts
 * import { keyFor } from "./cache.ts";
 * import { declareTeacher } from "./recipe.ts";
 * console.log(keyFor(declareTeacher("lenet5", "mnist"), { "lenet.ts": "00" }).id);
 * ```
 */
export function keyFor(declaration: TeacherDeclaration, code: Record<string, string>): TeacherKey {
  const identity = {
    kind: "dfkd-bench teacher",
    trainingVersion: TEACHER_TRAINING_VERSION,
    arch: declaration.arch,
    dataset: declaration.dataset,
    recipe: declaration.recipe,
    code,
  };
  const hash = sha256(JSON.stringify(canonical(identity)));
  return { hash, id: hash.slice(0, 16), code };
}

/** `meta.json` of a cached teacher. */
export interface TeacherMeta {
  /** Format tag. */
  format: "dfkd-bench-teacher/1";
  /** Full hash. */
  hash: string;
  /** What was trained. */
  declaration: TeacherDeclaration;
  /** Source digests that were hashed. */
  code: Record<string, string>;
  /** Final test accuracy in [0, 1]. */
  testAccuracy: number;
  /** Test split size the accuracy was measured on. */
  testSize: number;
  /** Training split size. */
  trainSize: number;
  /** Trainable parameters. */
  trainableParams: number;
  /** Input shape `[h, w, c]`. */
  inputShape: [number, number, number];
  /** Number of classes. */
  classes: number;
  /** Per-epoch history. */
  history: TeacherEpoch[];
  /** Wall seconds of the training (evaluation included). */
  wallSeconds: number;
  /** When training finished (ISO 8601). */
  trainedAt: string;
  /** Where it was trained. */
  environment: Environment;
}

/** A teacher ready to use. */
export interface ObtainedTeacher {
  /** The classifier (the caller disposes its model). */
  classifier: Classifier;
  /** Test accuracy in [0, 1] (from the metadata). */
  testAccuracy: number;
  /** Full hash. */
  hash: string;
  /** The cache folder holding `model.json`, `weights.bin`, `meta.json`. */
  path: string;
  /** The stored metadata. */
  meta: TeacherMeta;
  /** Whether it was trained now (false: taken from the cache). */
  trained: boolean;
}

/** Options of {@linkcode obtainTeacher}. */
export interface ObtainTeacherOptions {
  /** The data root (for training). */
  dataRoot: string;
  /** The teacher cache (default {@linkcode resolveTeacherCacheDir}). */
  cacheDir?: string;
  /** Where progress goes. */
  log: Logger;
  /** The initialised backend, recorded in the metadata (default: described from tfjs). */
  backend?: BackendInfo;
  /** Retrain even when cached (replacing the entry). */
  force?: boolean;
  /** Evaluate every this many epochs while training (default 1; 0 = only at the end). */
  evalEvery?: number;
  /**
   * The dataset, already loaded (instead of loading it from `dataRoot` when
   * training is needed); its name must be the declaration's.
   */
  dataset?: Dataset;
}

/**
 * Returns the teacher `declaration` describes: from the cache when it is
 * there, otherwise trained (on the dataset loaded from `dataRoot`), stored
 * and returned. Parallel callers for the same teacher wait for one training.
 *
 * @example
 * ```ts
 * import { obtainTeacher } from "./cache.ts";
 * import { declareTeacher } from "./recipe.ts";
 * import { lineLogger } from "../../util/logger.ts";
 * const t = await obtainTeacher(declareTeacher("lenet5", "mnist"), { dataRoot: "/tmp", log: lineLogger() });
 * console.log(t.testAccuracy, t.path);
 * t.classifier.model.dispose();
 * ```
 */
export async function obtainTeacher(
  declaration: TeacherDeclaration,
  options: ObtainTeacherOptions,
): Promise<ObtainedTeacher> {
  const cacheDir = options.cacheDir ?? resolveTeacherCacheDir();
  const key = await teacherKey(declaration);
  const dir = join(cacheDir, key.id);
  const { log } = options;
  const label = `${declaration.arch} on ${declaration.dataset}`;
  if (!options.force) {
    const cached = await readCached(dir, key, declaration, log);
    if (cached !== undefined) {
      log.info(
        `teacher ${label}: cached ${key.id} (test accuracy ${
          (100 * cached.testAccuracy).toFixed(2)
        }%)`,
      );
      return cached;
    }
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  // Parallel processes that need this teacher wait for one training (as long as it takes).
  const lockPath = join(cacheDir, `${key.id}.lock`);
  const lock = await acquireFileLock(lockPath, {
    wait: true,
    pollMs: 1000,
    onWait: (holder) =>
      log.info(
        `teacher ${label}: waiting for ${
          describeHolder(holder)
        }, which is training it (lock ${lockPath}; delete it if that process is gone)`,
      ),
    onTakeOver: (holder) =>
      log.warn(`${lockPath}: left by ${describeHolder(holder)}, which is gone; taking it over`),
  });
  try {
    // Another process may have trained it while this one waited.
    if (!options.force || lock.waited) {
      const cached = await readCached(dir, key, declaration, log);
      if (cached !== undefined) return cached;
    }
    return await trainAndStore(declaration, key, dir, options);
  } finally {
    await lock.release();
  }
}

async function readCached(
  dir: string,
  key: TeacherKey,
  declaration: TeacherDeclaration,
  log: Logger,
): Promise<ObtainedTeacher | undefined> {
  let meta: TeacherMeta;
  try {
    meta = JSON.parse(await readBoundedText(join(dir, "meta.json"), READ_LIMITS.document));
  } catch (error) {
    if ((error as { refusal?: string }).refusal === "not-found") return undefined;
    log.warn(`${dir}/meta.json is unreadable (${(error as Error).message}); retraining`);
    return undefined;
  }
  if (meta.hash !== key.hash) {
    log.warn(`${dir}/meta.json has hash ${meta.hash}, expected ${key.hash}; retraining`);
    return undefined;
  }
  let classifier: Classifier;
  try {
    classifier = await loadClassifier(dir);
  } catch (error) {
    log.warn(`${dir}: cached teacher does not load (${(error as Error).message}); retraining`);
    return undefined;
  }
  if (classifier.arch !== declaration.arch || classifier.classes !== meta.classes) {
    classifier.model.dispose();
    log.warn(`${dir}: cached teacher does not match its metadata; retraining`);
    return undefined;
  }
  return {
    classifier,
    testAccuracy: meta.testAccuracy,
    hash: key.hash,
    path: dir,
    meta,
    trained: false,
  };
}

async function trainAndStore(
  declaration: TeacherDeclaration,
  key: TeacherKey,
  dir: string,
  options: ObtainTeacherOptions,
): Promise<ObtainedTeacher> {
  const { log } = options;
  if (options.dataset !== undefined && options.dataset.name !== declaration.dataset) {
    throw new UserError(
      `teacher ${declaration.arch}: declared on ${declaration.dataset} but given the ${options.dataset.name} dataset`,
    );
  }
  const data = options.dataset ??
    await getDataset(declaration.dataset).load({ dataRoot: options.dataRoot, log });
  const env = await collectEnvironment(options.backend ?? await describeBackend());
  log.info(
    `teacher ${declaration.arch} on ${declaration.dataset}: training ${key.id} (${
      JSON.stringify(declaration.recipe)
    })`,
  );
  const trainOptions = options.evalEvery === undefined
    ? { log }
    : { log, evalEvery: options.evalEvery };
  const trained = await trainTeacher(declaration, data, trainOptions);
  const { classifier } = trained;
  const meta: TeacherMeta = {
    format: "dfkd-bench-teacher/1",
    hash: key.hash,
    declaration,
    code: key.code,
    testAccuracy: trained.testAccuracy,
    testSize: data.test.size,
    trainSize: data.train.size,
    trainableParams: trainableParameterCount(classifier.model),
    inputShape: [...classifier.inputShape],
    classes: classifier.classes,
    history: trained.history,
    wallSeconds: trained.wallSeconds,
    trainedAt: new Date().toISOString(),
    environment: env,
  };
  await storeCacheEntry(classifier, meta, dir);
  log.info(
    `teacher ${declaration.arch} on ${declaration.dataset}: test accuracy ${
      (100 * trained.testAccuracy).toFixed(2)
    }% in ${trained.wallSeconds.toFixed(1)} s, stored in ${dir}`,
  );
  return {
    classifier,
    testAccuracy: trained.testAccuracy,
    hash: key.hash,
    path: dir,
    meta,
    trained: true,
  };
}

/** A `BackendInfo` for the backend TensorFlow.js currently runs (when the caller has none). */
async function describeBackend(): Promise<BackendInfo> {
  const tfjsBackend = tf.getBackend();
  const name: BackendName = tfjsBackend === "tensorflow"
    ? "tfjs-node"
    : tfjsBackend === "wasm"
    ? "wasm"
    : "cpu";
  return {
    name,
    tfjsBackend,
    tfjsVersion: tf.version.tfjs,
    threads: name === "tfjs-node" ? navigator.hardwareConcurrency : 1,
    simd: name === "wasm" ? Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) : null,
    customKernels: [],
    probes: [],
  };
}

/** One entry of {@linkcode listCachedTeachers}. */
export interface CachedTeacherEntry {
  /** The folder. */
  path: string;
  /** Its metadata. */
  meta: TeacherMeta;
}

/**
 * Every complete teacher in `cacheDir` (folders with a readable
 * `meta.json`), oldest first.
 *
 * @example
 * ```ts
 * import { listCachedTeachers, resolveTeacherCacheDir } from "./cache.ts";
 * for (const t of await listCachedTeachers(resolveTeacherCacheDir())) console.log(t.path);
 * ```
 */
export async function listCachedTeachers(cacheDir: string): Promise<CachedTeacherEntry[]> {
  const out: CachedTeacherEntry[] = [];
  try {
    for await (const entry of Deno.readDir(cacheDir)) {
      if (!entry.isDirectory || entry.name.includes(".tmp-")) continue;
      const path = join(cacheDir, entry.name);
      try {
        const meta = JSON.parse(
          await readBoundedText(join(path, "meta.json"), READ_LIMITS.document),
        );
        // Other folders with a meta.json (an imported teacher's --out copy) are not trained teachers.
        if (meta.format === "dfkd-bench-teacher/1") out.push({ path, meta });
      } catch {
        // Not a teacher folder.
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new UserError(`${cacheDir}: cannot read the teacher cache (${(error as Error).message})`);
  }
  return out.sort((a, b) => a.meta.trainedAt.localeCompare(b.meta.trainedAt));
}
