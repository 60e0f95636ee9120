/**
 * Bring-your-own teachers: a TensorFlow.js layers model saved anywhere
 * (`model.json` + weights), checked against what the benchmark needs.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { UserError } from "../../util/errors.ts";
import type { Classifier } from "../classifier.ts";
import { loadClassifier, modelJsonPath } from "../io.ts";

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
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UserError(`${file}: cannot read (${(error as Error).message})`);
  }
  hash.update(text);
  let manifest: { paths?: string[] }[] = [];
  try {
    manifest = JSON.parse(text).weightsManifest ?? [];
  } catch {
    throw new UserError(`${file}: not valid JSON`);
  }
  for (const group of manifest) {
    for (const p of group.paths ?? []) {
      const weights = join(dirname(file), p);
      try {
        hash.update(await Deno.readFile(weights));
      } catch (error) {
        throw new UserError(`${weights}: cannot read (${(error as Error).message})`);
      }
    }
  }
  return hash.digest("hex");
}
