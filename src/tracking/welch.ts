/**
 * Welch's unequal-variance t-test, one-sided, the test regression tracking
 * uses to decide whether a candidate's per-seed values are worse than a
 * baseline's beyond the noise between seeds.
 *
 * With `a` (baseline) and `b` (candidate) samples of sizes `n_a, n_b >= 2`,
 * sample variances `s_a^2, s_b^2`:
 *
 * - `se = sqrt(s_a^2 / n_a + s_b^2 / n_b)`, `t = (mean_a - mean_b) / se`;
 * - Welch–Satterthwaite degrees of freedom
 *   `df = se^4 / ((s_a^2/n_a)^2 / (n_a - 1) + (s_b^2/n_b)^2 / (n_b - 1))`;
 * - `alternative: "greater"` (H1: mean_a > mean_b) gives `p = 1 - F_t(t; df) = F_t(-t; df)`,
 *   `"less"` gives `p = F_t(t; df)`.
 *
 * This is `scipy.stats.ttest_ind(a, b, equal_var=False, alternative=...)`.
 * When both variances are zero the difference is exact: `p` is 0 when the
 * means differ in the alternative's direction, 1 otherwise.
 *
 * @module
 */
import tCdf from "@stdlib/stats-base-dists-t-cdf";

/** Result of {@linkcode welchTest}. */
export interface WelchResult {
  /** The t statistic `(mean_a - mean_b) / se` (±Infinity or 0 when se is 0). */
  t: number;
  /** Welch–Satterthwaite degrees of freedom (NaN when both variances are zero). */
  df: number;
  /** One-sided p-value for the chosen alternative. */
  p: number;
}

/**
 * One-sided Welch t-test of samples `a` and `b` (each at least 2 values).
 * `alternative: "greater"` tests H1: mean(a) > mean(b); `"less"` tests
 * H1: mean(a) < mean(b).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { welchTest } from "./welch.ts";
 * // Baseline accuracies vs a candidate that lost about 2 points:
 * const r = welchTest([0.91, 0.92, 0.9], [0.89, 0.9, 0.88], "greater");
 * assert.equal(r.p < 0.05, true);
 * ```
 */
export function welchTest(
  a: readonly number[],
  b: readonly number[],
  alternative: "greater" | "less",
): WelchResult {
  if (a.length < 2 || b.length < 2) {
    throw new Error(
      `Welch's t-test needs at least 2 values per sample (got ${a.length} and ${b.length})`,
    );
  }
  for (const v of [...a, ...b]) {
    if (!Number.isFinite(v)) throw new Error(`Welch's t-test got a non-finite value (${v})`);
  }
  const ma = mean(a);
  const mb = mean(b);
  const va = variance(a, ma) / a.length;
  const vb = variance(b, mb) / b.length;
  const se2 = va + vb;
  const sign = alternative === "greater" ? 1 : -1;
  if (se2 === 0) {
    const diff = ma - mb;
    const t = diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity;
    return { t, df: NaN, p: diff * sign > 0 ? 0 : 1 };
  }
  const t = (ma - mb) / Math.sqrt(se2);
  const df = se2 * se2 / (va * va / (a.length - 1) + vb * vb / (b.length - 1));
  // F(-t) rather than 1 - F(t): the same value without cancellation for small p.
  return { t, df, p: tCdf(sign * -t, df) };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

function variance(xs: readonly number[], m: number): number {
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}
