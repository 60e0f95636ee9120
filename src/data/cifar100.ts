/**
 * CIFAR-100, binary version (`cifar-100-binary/`): `train.bin` (50,000) and
 * `test.bin` (10,000), 3,074-byte records (coarse label, fine label, then R,
 * G, B planes). Classification uses the fine label (100 classes).
 *
 * @module
 */
import { join } from "node:path";
import type { DatasetSpec } from "./dataset.ts";
import { readCifarFiles, readClassNames } from "./cifar_binary.ts";
import { infoOf, requireFolder } from "./files.ts";

/**
 * CIFAR-100 (fine labels) from `<dataRoot>/cifar-100-binary` (fetched from the
 * publisher's `cifar-100-binary.tar.gz`). Normalised with the CIFAR-10
 * statistics, as the reference code does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cifar100 } from "./cifar100.ts";
 * assert.equal(cifar100.classes, 100);
 * // const data = await cifar100.load({ dataRoot: "/data" });
 * ```
 */
export const cifar100: DatasetSpec = {
  name: "cifar100",
  classes: 100,
  imageShape: [32, 32, 3],
  normalisation: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] },
  sizes: { train: 50000, test: 10000 },
  description: "CIFAR-100, binary version (University of Toronto), fine labels, 32x32 RGB",
  source: {
    url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    fileName: "cifar-100-binary.tar.gz",
    format: "tar.gz",
    folder: "cifar-100-binary",
    bytes: 168513733,
    md5: "03b5dce01913d631647c71ecec9e9cb8",
  },
  async load({ dataRoot }) {
    const folder = await requireFolder("cifar100", dataRoot, "cifar-100-binary");
    const layout = { labelBytes: 2, labelIndex: 1, classes: 100 };
    const train = await readCifarFiles([join(folder, "train.bin")], layout);
    const test = await readCifarFiles([join(folder, "test.bin")], layout);
    const fallback = Array.from({ length: 100 }, (_, i) => `class_${i}`);
    const classNames = await readClassNames(join(folder, "fine_label_names.txt"), fallback);
    return { ...infoOf(cifar100), classNames, train, test };
  },
};
