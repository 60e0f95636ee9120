/**
 * Reader for the binary versions of CIFAR-10 and CIFAR-100: fixed-size
 * records of label byte(s) then 1,024 red, 1,024 green and 1,024 blue bytes
 * (each plane row-major 32x32), converted to NHWC.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { ImageSplit } from "./dataset.ts";
import { readDataFile, readDataText } from "./files.ts";

/** Pixels per CIFAR image plane (32x32). */
const PLANE = 1024;

/** The record layout of one CIFAR binary version. */
export interface CifarLayout {
  /** Label bytes before the pixels (1 for CIFAR-10, 2 for CIFAR-100). */
  labelBytes: number;
  /** Which of the label bytes is the class (CIFAR-100: 1, the fine label). */
  labelIndex: number;
  /** Number of classes; a label outside `0 .. classes - 1` is an error. */
  classes: number;
}

/**
 * Parses CIFAR binary record files into one NHWC split. Each file must be a
 * whole number of records and every label must be in range; errors name the
 * file (shown relative to its dataset folder's parent) and the record index.
 *
 * @example
 * ```ts
 * import { readCifarFiles } from "./cifar_binary.ts";
 * // const split = await readCifarFiles(["/data/cifar-10-batches-bin/test_batch.bin"],
 * //   { labelBytes: 1, labelIndex: 0, classes: 10 });
 * ```
 */
export async function readCifarFiles(paths: string[], layout: CifarLayout): Promise<ImageSplit> {
  const files = await Promise.all(paths.map((p) => readDataFile(p, true)));
  const recordBytes = layout.labelBytes + 3 * PLANE;
  let size = 0;
  files.forEach((bytes, f) => {
    if (bytes.length === 0 || bytes.length % recordBytes !== 0) {
      throw new UserError(
        `${
          paths[f]
        }: size ${bytes.length} bytes is not a whole number of ${recordBytes}-byte records`,
        1,
      );
    }
    size += bytes.length / recordBytes;
  });
  const images = new Uint8Array(size * 3 * PLANE);
  const labels = new Uint8Array(size);
  let n = 0;
  files.forEach((bytes, f) => {
    const records = bytes.length / recordBytes;
    for (let r = 0; r < records; r++, n++) {
      const base = r * recordBytes;
      const label = bytes[base + layout.labelIndex] as number;
      if (label >= layout.classes) {
        throw new UserError(
          `${paths[f]}: record ${r} has label ${label}, outside 0..${layout.classes - 1}`,
          1,
        );
      }
      labels[n] = label;
      const px = base + layout.labelBytes;
      const out = n * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = bytes[px + p] as number;
        images[out + 3 * p + 1] = bytes[px + PLANE + p] as number;
        images[out + 3 * p + 2] = bytes[px + 2 * PLANE + p] as number;
      }
    }
  });
  return { size, images, labels };
}

/**
 * Reads class names, one a line, from an optional metadata file; falls back to
 * `fallback` when the file is absent and checks the count otherwise.
 *
 * @example
 * ```ts
 * import { readClassNames } from "./cifar_binary.ts";
 * // const names = await readClassNames("/data/cifar-10-batches-bin/batches.meta.txt", defaults);
 * ```
 */
export async function readClassNames(
  path: string,
  fallback: readonly string[],
): Promise<readonly string[]> {
  try {
    await Deno.stat(path);
  } catch {
    return fallback;
  }
  const names = (await readDataText(path)).split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l !== ""
  );
  if (names.length !== fallback.length) {
    throw new UserError(
      `${path}: lists ${names.length} class names, expected ${fallback.length}`,
      1,
    );
  }
  return names;
}
