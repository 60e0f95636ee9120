/**
 * `datasets check`: loads a dataset (which verifies its files: presence,
 * whole records, labels in range, decodable images, val annotations) and
 * summarises its splits.
 *
 * @module
 */
import type { Dataset, DatasetSpec, ImageSplit, LoadOptions } from "./dataset.ts";
import { classCounts } from "./files.ts";

/** Size and per-class counts of one split. */
export interface SplitReport {
  /** Number of images. */
  size: number;
  /** Images per class, indexed by label. */
  perClass: number[];
}

/** The result of {@linkcode checkDataset}, also the `--json` output of `datasets check`. */
export interface DatasetReport {
  /** Registry name. */
  name: string;
  /** Number of classes. */
  classes: number;
  /** The two splits. */
  splits: { train: SplitReport; test: SplitReport };
}

/**
 * Summarises a loaded dataset's splits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summariseDataset } from "./check.ts";
 * import { mnist } from "./mnist.ts";
 * const report = summariseDataset(await mnist.load({ dataRoot: "/unused" }));
 * assert.ok(report.splits.test.perClass.every((n) => n === 200));
 * ```
 */
export function summariseDataset(data: Dataset): DatasetReport {
  const split = (s: ImageSplit): SplitReport => ({
    size: s.size,
    perClass: classCounts(s.labels, data.classes),
  });
  return {
    name: data.name,
    classes: data.classes,
    splits: { train: split(data.train), test: split(data.test) },
  };
}

/**
 * Loads `spec` from the data root (every loader validates what it reads and
 * throws a one-line `UserError` naming the bad file) and returns its summary
 * and the differences from the published split sizes (`notes`, e.g. for a
 * partial copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDataset } from "./check.ts";
 * import { mnist } from "./mnist.ts";
 * const { report, notes } = await checkDataset(mnist, { dataRoot: "/unused" });
 * assert.equal(report.splits.train.size, 8000);
 * assert.equal(notes.length, 0);
 * ```
 */
export async function checkDataset(
  spec: DatasetSpec,
  options: LoadOptions,
): Promise<{ report: DatasetReport; classNames: readonly string[]; notes: string[] }> {
  const data = await spec.load(options);
  const report = summariseDataset(data);
  const notes: string[] = [];
  for (const name of ["train", "test"] as const) {
    const got = report.splits[name].size;
    const expected = spec.sizes[name];
    if (got !== expected) {
      notes.push(`${name} split has ${got} images; the published dataset has ${expected}`);
    }
  }
  return { report, classNames: data.classNames, notes };
}
