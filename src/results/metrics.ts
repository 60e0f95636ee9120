/**
 * The metrics dfkd-bench reports. Per job, with `acc_e` the student's test
 * accuracy after epoch `e` of `E`:
 *
 * - expected accuracy `mu = mean(acc_e)`: what a user without validation data
 *   can expect from stopping at an arbitrary epoch;
 * - `sigma`: population standard deviation over epochs (`sqrt(mean((acc_e - mu)^2))`),
 *   and `sigma2 = sigma^2`, the variance the PRE-DFKD paper reports (in
 *   percentage points squared when accuracies are in percent);
 * - `peak` (max acc_e) and `peakEpoch` (its first epoch); `final` (acc_{E-1});
 *   `drop = peak - final`;
 * - `monotoneShare`: the share of epochs after the first whose accuracy does not
 *   fall below the previous epoch's.
 *
 * Across seeds, each metric's mean, sample standard deviation (n - 1) and a
 * 95% confidence interval `mean +- t(0.975, n - 1) * std / sqrt(n)`.
 *
 * @module
 */
import tQuantile from "@stdlib/stats-base-dists-t-quantile";

/** Metrics of one job's accuracy curve (accuracies in [0, 1]). */
export interface CurveMetrics {
  /** Number of epochs. */
  epochs: number;
  /** Expected accuracy: mean over epochs. */
  mu: number;
  /** Population standard deviation over epochs. */
  sigma: number;
  /** sigma squared. */
  sigma2: number;
  /** Highest accuracy. */
  peak: number;
  /** First epoch (from 0) reaching the peak. */
  peakEpoch: number;
  /** Accuracy after the last epoch. */
  final: number;
  /** peak - final. */
  drop: number;
  /** Share of epochs after the first that do not fall below the previous one (1 for one epoch). */
  monotoneShare: number;
}

/**
 * Computes {@linkcode CurveMetrics} of a per-epoch accuracy curve.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { curveMetrics } from "./metrics.ts";
 * const m = curveMetrics([0.5, 0.9, 0.7]);
 * assert.ok(Math.abs(m.mu - 0.7) < 1e-12);
 * assert.equal(m.peak, 0.9);
 * assert.ok(Math.abs(m.drop - 0.2) < 1e-12);
 * ```
 */
export function curveMetrics(accuracies: readonly number[]): CurveMetrics {
  const n = accuracies.length;
  if (n === 0) throw new Error("Cannot compute metrics of an empty accuracy curve");
  for (const [i, a] of accuracies.entries()) {
    if (!Number.isFinite(a)) {
      throw new Error(`Accuracy of epoch ${i} is not a finite number (got ${a})`);
    }
  }
  const mu = accuracies.reduce((s, a) => s + a, 0) / n;
  const sigma2 = accuracies.reduce((s, a) => s + (a - mu) ** 2, 0) / n;
  let peakEpoch = 0;
  for (let i = 1; i < n; i++) {
    if ((accuracies[i] as number) > (accuracies[peakEpoch] as number)) peakEpoch = i;
  }
  const peak = accuracies[peakEpoch] as number;
  const final = accuracies[n - 1] as number;
  let holds = 0;
  for (let i = 1; i < n; i++) {
    if ((accuracies[i] as number) >= (accuracies[i - 1] as number)) holds++;
  }
  return {
    epochs: n,
    mu,
    sigma: Math.sqrt(sigma2),
    sigma2,
    peak,
    peakEpoch,
    final,
    drop: peak - final,
    monotoneShare: n === 1 ? 1 : holds / (n - 1),
  };
}

/** Mean, spread and 95% confidence interval of one metric across seeds. */
export interface SeedStats {
  /** Number of seeds. */
  n: number;
  /** Mean across seeds. */
  mean: number;
  /** Sample standard deviation (n - 1); 0 for one seed. */
  std: number;
  /** Lower end of the 95% confidence interval (equals the mean for one seed). */
  ciLow: number;
  /** Upper end of the 95% confidence interval (equals the mean for one seed). */
  ciHigh: number;
}

/**
 * Mean, sample standard deviation and Student-t 95% confidence interval of
 * `values` (one per seed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedStats } from "./metrics.ts";
 * const s = seedStats([0.8, 0.82, 0.84]);
 * assert.equal(s.mean.toFixed(2), "0.82");
 * assert.ok(s.ciLow < s.mean && s.mean < s.ciHigh);
 * ```
 */
export function seedStats(values: readonly number[]): SeedStats {
  const n = values.length;
  if (n === 0) throw new Error("Cannot summarise zero seeds");
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { n, mean, std: 0, ciLow: mean, ciHigh: mean };
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = tQuantile(0.975, n - 1) * std / Math.sqrt(n);
  return { n, mean, std, ciLow: mean - half, ciHigh: mean + half };
}

/** The curve metrics that are summarised across seeds. */
export const SUMMARISED_METRICS = [
  "mu",
  "sigma",
  "sigma2",
  "peak",
  "final",
  "drop",
  "monotoneShare",
] as const;

/**
 * Summarises each of {@linkcode SUMMARISED_METRICS} across seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { curveMetrics, summariseSeeds } from "./metrics.ts";
 * const s = summariseSeeds([curveMetrics([0.5, 0.7]), curveMetrics([0.6, 0.8])]);
 * assert.ok(Math.abs(s.mu.mean - 0.65) < 1e-9);
 * ```
 */
export function summariseSeeds(
  perSeed: readonly CurveMetrics[],
): Record<(typeof SUMMARISED_METRICS)[number], SeedStats> {
  const out = {} as Record<(typeof SUMMARISED_METRICS)[number], SeedStats>;
  for (const key of SUMMARISED_METRICS) out[key] = seedStats(perSeed.map((m) => m[key]));
  return out;
}
