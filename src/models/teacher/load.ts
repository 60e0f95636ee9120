/**
 * Bring-your-own teachers: a TensorFlow.js layers model saved anywhere
 * (`model.json` + weights), checked against what the benchmark needs.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import type * as tf from "@tensorflow/tfjs";
import {
  FileReadError,
  insideFolder,
  READ_LIMITS,
  readBoundedBytes,
  readBoundedText,
} from "../../util/bounded_read.ts";
import { UserError } from "../../util/errors.ts";
import type { Classifier } from "../classifier.ts";
import { loadClassifier, manifestEntryBytes, modelJsonPath } from "../io.ts";

/** What the benchmark needs of a teacher. */
export interface TeacherExpectation {
  /** The dataset's image shape `[height, width, channels]`. */
  inputShape: readonly [number, number, number];
  /** The dataset's number of classes. */
  classes: number;
}

/**
 * Loads a teacher from `path` (a `model.json` or the folder holding it) and
 * checks that it takes `inputShape` images and predicts `classes` classes; a
 * mismatch is a `UserError` naming the file and the expected and actual
 * values. Models with outputs `[logits, features]` load as they are; a
 * one-output model must end in a dense layer, whose input becomes the
 * features.
 *
 * @example
 * ```ts
 * import { loadTeacherFromPath } from "./load.ts";
 * const teacher = await loadTeacherFromPath("teachers/lenet5", { inputShape: [32, 32, 1], classes: 10 });
 * teacher.model.dispose();
 * ```
 */
export async function loadTeacherFromPath(
  path: string,
  expected: TeacherExpectation,
): Promise<Classifier> {
  const file = modelJsonPath(path);
  const classifier = await loadClassifier(file);
  const shape = classifier.inputShape;
  const problems: string[] = [];
  if (shape.some((d, i) => d !== expected.inputShape[i])) {
    problems.push(
      `it takes input [${shape.join(", ")}] but the dataset's images are [${
        expected.inputShape.join(", ")
      }] (height, width, channels)`,
    );
  }
  if (classifier.classes !== expected.classes) {
    problems.push(
      `it predicts ${classifier.classes} classes but the dataset has ${expected.classes}`,
    );
  }
  if (problems.length > 0) {
    classifier.model.dispose();
    throw new UserError(`${file}: the teacher does not fit: ${problems.join("; ")}`);
  }
  return classifier;
}

/**
 * The identity of a teacher file: SHA-256 (hex) over `model.json` and every
 * weight file it names, in manifest order.
 *
 * @example
 * ```ts
 * import { teacherFileHash } from "./load.ts";
 * console.log(await teacherFileHash("teachers/lenet5"));
 * ```
 */
export async function teacherFileHash(path: string): Promise<string> {
  const file = modelJsonPath(path);
  const hash = createHash("sha256");
  let text: string;
  try {
    const bytes = await readBoundedBytes(file, READ_LIMITS.document, { exitCode: 2 });
    hash.update(bytes);
    text = new TextDecoder().decode(bytes);
  } catch (error) {
    throw new UserError(`${file}: cannot read (${(error as Error).message})`);
  }
  let manifest: { paths?: string[] }[] = [];
  try {
    manifest = JSON.parse(text).weightsManifest ?? [];
  } catch {
    throw new UserError(`${file}: not valid JSON`);
  }
  for (const group of manifest) {
    for (const p of group.paths ?? []) {
      const weights = insideFolder(dirname(file), p, file);
      try {
        hash.update(await readBoundedBytes(weights, READ_LIMITS.weights, { exitCode: 2 }));
      } catch (error) {
        throw new UserError(`${weights}: cannot read (${(error as Error).message})`);
      }
    }
  }
  return hash.digest("hex");
}

/**
 * Checks a teacher file without loading the model (for `validate`): its
 * `model.json` is a bounded regular file holding JSON with a
 * `weightsManifest`, and every weight file it names lies in its folder, is a
 * regular file, and the sizes add up to what the manifest describes. Throws
 * the `UserError` a run would give, naming the file.
 *
 * @example
 * ```ts
 * import { checkTeacherFiles } from "./load.ts";
 * // await checkTeacherFiles("teachers/lenet5");
 * ```
 */
export async function checkTeacherFiles(path: string): Promise<void> {
  const file = modelJsonPath(path);
  let json: { weightsManifest?: { paths?: string[]; weights?: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(await readBoundedText(file, READ_LIMITS.document, { exitCode: 2 }));
  } catch (error) {
    const why = error instanceof FileReadError ? error.reason : (error as Error).message;
    throw new UserError(`${file}: cannot read the teacher (${why})`, 2);
  }
  if (!Array.isArray(json?.weightsManifest)) {
    throw new UserError(`${file}: not a TensorFlow.js layers model (no "weightsManifest")`, 2);
  }
  let expected = 0;
  let got = 0;
  for (const group of json.weightsManifest) {
    for (const spec of group.weights ?? []) expected += manifestEntryBytes(spec);
    for (const p of group.paths ?? []) {
      const weights = insideFolder(dirname(file), p, file);
      const info = await Deno.stat(weights).catch(() => undefined);
      if (info === undefined || !info.isFile) {
        throw new UserError(
          `${weights}: ${info === undefined ? "no such file" : "not a regular file"} ` +
            `(named by ${file})`,
          2,
        );
      }
      if (info.size > READ_LIMITS.weights.bytes) {
        throw new UserError(`${weights}: larger than the weights limit (named by ${file})`, 2);
      }
      got += info.size;
    }
  }
  if (got !== expected) {
    throw new UserError(
      `${file}: its weight files hold ${got} bytes, but its weightsManifest describes ${expected}`,
      2,
    );
  }
}
