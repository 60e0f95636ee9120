/**
 * Published PRE-DFKD numbers, shown beside a run of the same configuration.
 *
 * Source: the PRE-DFKD paper's table (Binici et al., AAAI 2022) as copied in a
 * later paper's README, CIFAR ResNet-34 -> ResNet-18, 400 epochs (see
 * `/work/shared/docs/pre-dfkd.md` of the project). mu = mean accuracy over
 * epochs, sigma^2 = its variance, best = the peak, all in percent.
 *
 * @module
 */

/** One published row. */
export interface PublishedRow {
  /** Method name in the paper. */
  method: string;
  /** The dfkd-bench method it corresponds to, if any. */
  ours?: string;
  /** Expected accuracy (%). */
  mu: number;
  /** Variance over epochs (%^2). */
  sigma2: number;
  /** Peak accuracy (%). */
  best: number;
}

const SOURCE =
  "PRE-DFKD paper (Binici et al., AAAI 2022), table for CIFAR ResNet-34 → ResNet-18, 400 epochs";

const TABLES: Record<string, PublishedRow[]> = {
  "cifar10/resnet34/resnet18": [
    { method: "DAFL", mu: 62.6, sigma2: 17.1, best: 92.0 },
    { method: "DFAD", ours: "no-replay", mu: 86.1, sigma2: 12.3, best: 93.3 },
    { method: "MB-DFKD", ours: "memory-bank", mu: 83.3, sigma2: 16.4, best: 92.4 },
    { method: "PRE-DFKD", ours: "pre-dfkd", mu: 87.4, sigma2: 10.3, best: 94.1 },
  ],
  "cifar100/resnet34/resnet18": [
    { method: "DAFL", mu: 52.5, sigma2: 12.8, best: 74.5 },
    { method: "DFAD", ours: "no-replay", mu: 54.9, sigma2: 12.9, best: 67.7 },
    { method: "MB-DFKD", ours: "memory-bank", mu: 64.4, sigma2: 18.3, best: 75.4 },
    { method: "PRE-DFKD", ours: "pre-dfkd", mu: 70.2, sigma2: 11.1, best: 77.1 },
  ],
};

/**
 * The published rows for a dataset and pair, when the paper reports them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishedFor } from "./published.ts";
 * assert.equal(publishedFor("cifar10", "resnet34", "resnet18")?.rows.length, 4);
 * ```
 */
export function publishedFor(
  dataset: string,
  teacher: string,
  student: string,
): { source: string; rows: PublishedRow[] } | undefined {
  const rows = TABLES[`${dataset}/${teacher}/${student}`];
  return rows === undefined ? undefined : { source: SOURCE, rows };
}
