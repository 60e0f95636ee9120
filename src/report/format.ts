/**
 * Number formatting shared by the reports.
 *
 * @module
 */
import type { SeedStats } from "../results/metrics.ts";
import { formatSeconds } from "../util/logger.ts";

/**
 * A statistic across seeds as `mean ± half-width of the 95% CI` (just the
 * mean for one seed), scaled by `scale` with `digits` decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStat } from "./format.ts";
 * assert.equal(formatStat({ n: 1, mean: 0.5, std: 0, ciLow: 0.5, ciHigh: 0.5 }, 100), 50.00);
 * ```
 */
export function formatStat(s: SeedStats | undefined, scale = 1, digits = 2): string {
  if (s === undefined) return "–";
  const mean = (s.mean * scale).toFixed(digits);
  if (s.n < 2) return mean;
  return `${mean} ± ${(((s.ciHigh - s.ciLow) / 2) * scale).toFixed(digits)}`;
}

/**
 * Bytes as `512 B`, `3.4 KiB`, `8.0 MiB` or `1.20 GiB`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./format.ts";
 * assert.equal(formatBytes(3 * 1024 * 1024), "3.0 MiB");
 * ```
 */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "–";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * A fraction in [0, 1] as a percentage with `digits` decimals (`–` when absent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPercent } from "./format.ts";
 * assert.equal(formatPercent(0.98765), 98.77);
 * ```
 */
export function formatPercent(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? "–" : (x * 100).toFixed(digits);
}

/**
 * Seconds as `42s` / `3m05s` / `1h02m` (`–` when absent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./format.ts";
 * assert.equal(formatDuration(65), "1m05s");
 * ```
 */
export function formatDuration(seconds: number | undefined): string {
  return seconds === undefined ? "–" : formatSeconds(seconds);
}
