/**
 * Imports a PyTorch teacher checkpoint (`.pth` / `.pt` in the zip or legacy
 * `torch.save` format, or `.safetensors`; a bare state dict, a container dict,
 * `nn.DataParallel` keys or a whole pickled module) into a zoo classifier.
 * Everything is read by this project's TypeScript: no Python runs.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { getDataset } from "../../data/registry.ts";
import { UserError } from "../../util/errors.ts";
import type { Classifier } from "../classifier.ts";
import { buildClassifier } from "../registry.ts";
import { type CheckpointFormat, parseCheckpoint } from "./formats.ts";
import { loadStateDict } from "./key_map.ts";
import { findStateDict } from "./state_dict.ts";
import type { TorchTensor } from "./tensor.ts";

/** Options of {@linkcode importPytorchTeacher}. */
export interface ImportPytorchOptions {
  /** Zoo architecture the checkpoint was trained as (e.g. `resnet34`, `wrn-40-2`). */
  arch: string;
  /** Dataset registry name, which fixes the input shape and class count. */
  dataset: string;
  /** Receives one line per conversion warning (float64 / float16 tensors); default `console.warn`. */
  warn?: (message: string) => void;
}

/** A converted checkpoint and what was found in it. */
export interface ImportedPytorchTeacher {
  classifier: Classifier;
  /** SHA-256 (hex) of the file's bytes. */
  sha256: string;
  format: CheckpointFormat;
  /** Where the state dict was (`a bare state dict`, `the "state_dict" entry`, ...). */
  container: string;
  /** Conversion warnings (also passed to `warn`). */
  warnings: string[];
}

/**
 * Converts checkpoint `bytes` (read from `file`, named in every error).
 *
 * @example
 * ```ts
 * import { convertPytorchCheckpoint } from "./import.ts";
 * const bytes = await Deno.readFile("lenet5.pth");
 * const t = convertPytorchCheckpoint(bytes, "lenet5.pth", { arch: "lenet5", dataset: "mnist" });
 * console.log(t.format, t.sha256);
 * t.classifier.model.dispose();
 * ```
 */
export function convertPytorchCheckpoint(
  bytes: Uint8Array,
  file: string,
  options: ImportPytorchOptions,
): ImportedPytorchTeacher {
  const { arch, dataset } = options;
  const info = getDataset(dataset);
  const { format, root } = parseCheckpoint(bytes, file);
  const { tensors, container } = findStateDict(root, file);
  const classifier = buildClassifier(arch, {
    inputShape: info.imageShape,
    classes: info.classes,
    seed: 0,
  });
  let warnings: string[];
  try {
    warnings = loadStateDict(classifier, tensors as Map<string, TorchTensor>, {
      file,
      dataset,
      container,
    }).warnings;
  } catch (error) {
    classifier.model.dispose();
    throw error;
  }
  const warn = options.warn ?? ((m: string) => console.warn(m));
  for (const w of warnings) warn(w);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { classifier, sha256, format, container, warnings };
}

/**
 * Reads the checkpoint at `path` and returns a classifier of the zoo's
 * architecture `arch` for `dataset`'s images and classes, with the
 * checkpoint's weights and BatchNorm statistics: `forward(teacher, x, false)`
 * gives PyTorch's eval-mode logits for the same normalised (NHWC) images.
 * Bad input (an unreadable, truncated or non-checkpoint file, a missing key,
 * a wrong shape or class count, a pickle calling a forbidden global) is a
 * one-line `UserError` naming the file.
 *
 * @example
 * ```ts
 * import { importPytorchTeacher } from "./import.ts";
 * const teacher = await importPytorchTeacher("cifar10_resnet34.pth", { arch: "resnet34", dataset: "cifar10" });
 * teacher.model.dispose();
 * ```
 */
export async function importPytorchTeacher(
  path: string,
  options: ImportPytorchOptions,
): Promise<Classifier> {
  return (await importPytorchTeacherFile(path, options)).classifier;
}

/** {@linkcode importPytorchTeacher} with the file's hash, format and container. */
export async function importPytorchTeacherFile(
  path: string,
  options: ImportPytorchOptions,
): Promise<ImportedPytorchTeacher> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new UserError(`${path}: cannot read the checkpoint (${(error as Error).message})`, 2);
  }
  return convertPytorchCheckpoint(bytes, path, options);
}
