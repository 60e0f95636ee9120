/**
 * Datasets by name. Adding one is one new file in `src/data/` plus one line
 * here.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";
import { cifar10 } from "./cifar10.ts";
import { cifar100 } from "./cifar100.ts";
import type { DatasetSpec } from "./dataset.ts";
import { mnist } from "./mnist.ts";
import { tinyImageNet } from "./tiny_imagenet.ts";

/** Every dataset dfkd-bench can load, by registry name. */
export const DATASETS: Record<string, DatasetSpec> = {
  mnist,
  cifar10,
  cifar100,
  "tiny-imagenet": tinyImageNet,
};

/**
 * The dataset registered as `name`, or a `UserError` (exit code 2) listing
 * the valid names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getDataset } from "./registry.ts";
 * assert.equal(getDataset("cifar10").classes, 10);
 * ```
 */
export function getDataset(name: string): DatasetSpec {
  const spec = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (spec === undefined) {
    throw new UserError(
      `Unknown dataset ${JSON.stringify(name)}; valid names: ${Object.keys(DATASETS).join(", ")}`,
    );
  }
  return spec;
}
