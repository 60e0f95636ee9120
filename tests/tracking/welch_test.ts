import assert from "node:assert/strict";
import { welchTest } from "../../src/tracking/welch.ts";

// Expected values computed independently with SciPy 1.17.1:
//   scipy.stats.ttest_ind(a, b, equal_var=False, alternative=...)
// (statistic, pvalue, df printed with repr).

Deno.test("Welch one-sided p-value matches SciPy (equal sizes)", () => {
  const r = welchTest([0.91, 0.92, 0.90], [0.89, 0.90, 0.88], "greater");
  // SciPy: statistic 2.449489742783178, pvalue 0.03524199845510996, df 4.0
  assert.ok(Math.abs(r.t - 2.449489742783178) < 1e-9);
  assert.ok(Math.abs(r.df - 4.0) < 1e-9);
  assert.ok(Math.abs(r.p - 0.03524199845510996) < 1e-9, `p = ${r.p}`);
});

Deno.test("Welch one-sided p-value matches SciPy (unequal sizes and variances)", () => {
  const a = [0.912, 0.905, 0.921, 0.899];
  const b = [0.897, 0.915, 0.889];
  const greater = welchTest(a, b, "greater");
  // SciPy: statistic 0.9876549060845337, pvalue 0.1935392593945101, df 3.4704830184813824
  assert.ok(Math.abs(greater.t - 0.9876549060845337) < 1e-9);
  assert.ok(Math.abs(greater.df - 3.4704830184813824) < 1e-9);
  assert.ok(Math.abs(greater.p - 0.1935392593945101) < 1e-9, `p = ${greater.p}`);
  // SciPy alternative="less": pvalue 0.8064607406054899
  assert.ok(Math.abs(welchTest(a, b, "less").p - 0.8064607406054899) < 1e-9);
});

Deno.test("Welch 'less' alternative for a slower candidate matches SciPy", () => {
  const r = welchTest([1.20, 1.25, 1.22], [1.41, 1.38, 1.45, 1.40, 1.39], "less");
  // SciPy: statistic -9.666241076684482, pvalue 0.00015429043828160677, df 4.6184251529855604
  assert.ok(Math.abs(r.t - -9.666241076684482) < 1e-8);
  assert.ok(Math.abs(r.df - 4.6184251529855604) < 1e-8);
  assert.ok(Math.abs(r.p - 0.00015429043828160677) / 0.00015429043828160677 < 1e-6, `p = ${r.p}`);
});

Deno.test("Welch with zero variance on both sides is exact", () => {
  assert.equal(welchTest([0.9, 0.9], [0.8, 0.8], "greater").p, 0);
  assert.equal(welchTest([0.9, 0.9], [0.8, 0.8], "less").p, 1);
  assert.equal(welchTest([0.9, 0.9], [0.9, 0.9], "greater").p, 1);
});

Deno.test("Welch refuses fewer than two values per sample", () => {
  assert.throws(() => welchTest([0.9], [0.8, 0.7], "greater"), /at least 2 values/);
});
