/**
 * Saving and loading classifiers in TensorFlow.js's layers format
 * (`model.json` + `weights.bin`), written with Deno's file APIs. The files
 * are the ones `tf.loadLayersModel` reads over HTTP and tfjs-node reads from
 * `file://` paths: the manifest's weight paths are relative to `model.json`.
 * A classifier's registry facts (architecture, input shape, classes, feature
 * size) travel in the model's `userDefinedMetadata`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../util/atomic_write.ts";
import {
  FileReadError,
  insideFolder,
  READ_LIMITS,
  readBoundedBytes,
  readBoundedText,
} from "../util/bounded_read.ts";
import { UserError } from "../util/errors.ts";
import type { Classifier } from "./classifier.ts";

/** The weights file name written next to `model.json`. */
export const WEIGHTS_FILE = "weights.bin";
/** The topology file name. */
export const MODEL_FILE = "model.json";

/** The classifier facts stored in `userDefinedMetadata.dfkdBench`. */
export interface ClassifierMetadata {
  /** Architecture name. */
  arch: string;
  /** Input shape `[height, width, channels]`. */
  inputShape: [number, number, number];
  /** Number of classes. */
  classes: number;
  /** Feature size (second output). */
  featureSize: number;
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/**
 * A TensorFlow.js IO handler that saves to and loads from a folder on disk
 * (`model.json` + `weights.bin`) with Deno's file APIs. Saving writes the
 * weights first and the topology last, each atomically, so a `model.json`
 * that exists always has its weights.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { denoFileHandler } from "./io.ts";
 * declare const model: tf.LayersModel;
 * await model.save(denoFileHandler("/tmp/my-model"));
 * const again = await tf.loadLayersModel(denoFileHandler("/tmp/my-model"));
 * ```
 */
export function denoFileHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await Deno.mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await writeFileAtomic(join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig !== undefined) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata !== undefined) {
        json.userDefinedMetadata = artifacts.userDefinedMetadata;
      }
      const text = JSON.stringify(json);
      await writeTextFileAtomic(join(dir, MODEL_FILE), text);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          modelTopologyBytes: text.length,
          weightSpecsBytes: JSON.stringify(json.weightsManifest).length,
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    load(): Promise<tf.io.ModelArtifacts> {
      return loadArtifacts(join(dir, MODEL_FILE));
    },
  };
}

/**
 * Reads the artifacts of a layers-format `model.json` and its weight files;
 * a missing or malformed file is a `UserError` naming it.
 */
async function loadArtifacts(modelPath: string): Promise<tf.io.ModelArtifacts> {
  let text: string;
  try {
    text = await readBoundedText(modelPath, READ_LIMITS.document, { exitCode: 2 });
  } catch (error) {
    if (error instanceof FileReadError && error.refusal === "not-found") {
      throw new UserError(`${modelPath}: no such file (expected a TensorFlow.js model.json)`);
    }
    throw new UserError(`${modelPath}: cannot read (${(error as Error).message})`);
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${modelPath}: not valid JSON (${(error as Error).message})`);
  }
  if (
    typeof json !== "object" || json === null || json.modelTopology === undefined ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new UserError(
      `${modelPath}: not a TensorFlow.js layers model (needs "modelTopology" and "weightsManifest")`,
    );
  }
  const base = dirname(modelPath);
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) {
        const file = insideFolder(base, p, modelPath);
        try {
          const bytes = await readBoundedBytes(file, READ_LIMITS.weights, { exitCode: 2 });
          buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        } catch (error) {
          throw new UserError(
            `${file}: cannot read the weights named by ${modelPath} (${(error as Error).message})`,
          );
        }
      }
    }
    const expected = specs.reduce((n, s) => n + manifestEntryBytes(s), 0);
    const got = buffers.reduce((n, b) => n + b.byteLength, 0);
    if (got !== expected) {
      throw new UserError(
        `${modelPath}: its weight files hold ${got} bytes, but its weightsManifest describes ` +
          `${expected} (${got > expected ? "extra bytes after the weights" : "truncated"}); ` +
          `the files do not belong together`,
        2,
      );
    }
    return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
  });
}

/**
 * Bytes of one weights-manifest entry: its element count times its
 * (quantised) element size.
 *
 * @example
 * ```ts
 * import { manifestEntryBytes } from "./io.ts";
 * import assert from "node:assert/strict";
 * assert.equal(manifestEntryBytes({ name: "w", shape: [3, 4], dtype: "float32" }), 48);
 * ```
 */
export function manifestEntryBytes(spec: tf.io.WeightsManifestEntry): number {
  const elements = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const size = dtype === "uint8" ? 1 : dtype === "uint16" || dtype === "float16" ? 2 : 4;
  return elements * size;
}

/**
 * Saves `classifier` to `dir` (`model.json` + `weights.bin`), with its
 * registry facts in the model's metadata.
 *
 * @example
 * ```ts
 * import { saveClassifier } from "./io.ts";
 * import type { Classifier } from "./classifier.ts";
 * declare const c: Classifier;
 * await saveClassifier(c, "/tmp/teacher");
 * ```
 */
export async function saveClassifier(classifier: Classifier, dir: string): Promise<void> {
  const meta: ClassifierMetadata = {
    arch: classifier.arch,
    inputShape: [...classifier.inputShape],
    classes: classifier.classes,
    featureSize: classifier.featureSize,
  };
  classifier.model.setUserDefinedMetadata({ dfkdBench: meta });
  await classifier.model.save(denoFileHandler(dir));
}

/**
 * Stores a cache entry: `classifier` and `meta.json` written into a fresh
 * temporary folder beside `dir`, which then replaces `dir` in one rename, so
 * a reader sees the old entry or the complete new one. On failure the
 * temporary folder is removed, the model disposed and the error rethrown.
 *
 * @example
 * ```ts
 * import { storeCacheEntry } from "./io.ts";
 * import type { Classifier } from "./classifier.ts";
 * declare const c: Classifier;
 * await storeCacheEntry(c, { arch: c.arch }, "/tmp/cache/teacher-abc");
 * ```
 */
export async function storeCacheEntry(
  classifier: Classifier,
  meta: unknown,
  dir: string,
): Promise<void> {
  const tmp = `${dir}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await saveClassifier(classifier, tmp);
    await writeJsonAtomic(join(tmp, "meta.json"), meta);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, dir);
  } catch (error) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    classifier.model.dispose();
    throw error;
  }
}

/**
 * The path of `model.json` for `path`, which may name the file itself or the
 * folder holding it.
 */
export function modelJsonPath(path: string): string {
  try {
    if (Deno.statSync(path).isDirectory) return join(path, MODEL_FILE);
  } catch {
    // Missing paths are reported when read.
  }
  return path;
}

/**
 * Loads a layers model from `path` (a `model.json` or its folder) as a
 * {@linkcode Classifier}. A model with one output whose last layer is dense
 * gets that layer's input as its features (so teachers trained elsewhere
 * work); its registry facts come from the metadata when present, otherwise
 * from the model's shapes (architecture `custom`).
 *
 * @example
 * ```ts
 * import { loadClassifier } from "./io.ts";
 * const c = await loadClassifier("/tmp/teacher");
 * console.log(c.arch, c.inputShape, c.classes);
 * ```
 */
export async function loadClassifier(path: string): Promise<Classifier> {
  const file = modelJsonPath(path);
  const handler: tf.io.IOHandler = { load: () => loadArtifacts(file) };
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(handler);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `${file}: TensorFlow.js cannot build the model (${(error as Error).message})`,
    );
  }
  const inputShape = model.inputs[0]?.shape;
  if (model.inputs.length !== 1 || inputShape === undefined || inputShape.length !== 4) {
    model.dispose();
    throw new UserError(
      `${file}: expected one image input [batch, height, width, channels], got ${
        JSON.stringify(model.inputs.map((i) => i.shape))
      }`,
    );
  }
  if (model.outputs.length === 1) model = withDenseFeatures(model, file);
  else if (model.outputs.length !== 2) {
    const n = model.outputs.length;
    model.dispose();
    throw new UserError(`${file}: expected outputs [logits, features], got ${n} outputs`);
  }
  const [logits, features] = model.outputs as [tf.SymbolicTensor, tf.SymbolicTensor];
  const meta = (model.getUserDefinedMetadata() as { dfkdBench?: ClassifierMetadata } | undefined)
    ?.dfkdBench;
  return {
    arch: meta?.arch ?? "custom",
    inputShape: inputShape.slice(1) as [number, number, number],
    classes: logits.shape[logits.shape.length - 1] as number,
    featureSize: features.shape[features.shape.length - 1] as number,
    model,
  };
}

function withDenseFeatures(model: tf.LayersModel, file: string): tf.LayersModel {
  const last = model.layers[model.layers.length - 1];
  const className = last?.getClassName();
  if (last === undefined || className !== "Dense") {
    model.dispose();
    throw new UserError(
      `${file}: a model with one output must end in a Dense layer (its input becomes the features); the last layer is ${
        className ?? "missing"
      }`,
    );
  }
  const features = last.input as tf.SymbolicTensor;
  const wrapped = tf.model({ inputs: model.inputs, outputs: [model.outputs[0]!, features] });
  const meta = model.getUserDefinedMetadata();
  if (meta !== undefined) wrapped.setUserDefinedMetadata(meta);
  return wrapped;
}
