/**
 * CIFAR-10, binary version (`cifar-10-batches-bin/`): 50,000 train images in
 * `data_batch_1.bin` .. `data_batch_5.bin`, 10,000 test images in
 * `test_batch.bin`, 3,073-byte records (label, then R, G, B planes).
 *
 * @module
 */
import { join } from "node:path";
import type { DatasetSpec } from "./dataset.ts";
import { readCifarFiles, readClassNames } from "./cifar_binary.ts";
import { infoOf, requireFolder } from "./files.ts";

/** CIFAR-10's class names, in label order (as in `batches.meta.txt`). */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/**
 * CIFAR-10 from `<dataRoot>/cifar-10-batches-bin` (fetched from the
 * publisher's `cifar-10-binary.tar.gz`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cifar10 } from "./cifar10.ts";
 * assert.equal(cifar10.classes, 10);
 * assert.deepEqual(cifar10.imageShape, [32, 32, 3]);
 * // const data = await cifar10.load({ dataRoot: "/data" });
 * ```
 */
export const cifar10: DatasetSpec = {
  name: "cifar10",
  classes: 10,
  imageShape: [32, 32, 3],
  normalisation: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] },
  sizes: { train: 50000, test: 10000 },
  description: "CIFAR-10, binary version (University of Toronto), 32x32 RGB",
  source: {
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    fileName: "cifar-10-binary.tar.gz",
    format: "tar.gz",
    folder: "cifar-10-batches-bin",
    bytes: 170052171,
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
    sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
  },
  async load({ dataRoot }) {
    const folder = await requireFolder("cifar10", dataRoot, "cifar-10-batches-bin");
    const layout = { labelBytes: 1, labelIndex: 0, classes: 10 };
    const trainFiles = [1, 2, 3, 4, 5].map((i) => join(folder, `data_batch_${i}.bin`));
    const train = await readCifarFiles(trainFiles, layout);
    const test = await readCifarFiles([join(folder, "test_batch.bin")], layout);
    const classNames = await readClassNames(join(folder, "batches.meta.txt"), CIFAR10_CLASS_NAMES);
    return { ...infoOf(cifar10), classNames, train, test };
  },
};
