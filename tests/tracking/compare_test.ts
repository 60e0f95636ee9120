import assert from "node:assert/strict";
import { compareRuns, type MetricName } from "../../src/tracking/compare.ts";
import { buildRunSummary } from "../../src/tracking/run_summary.ts";
import { UserError } from "../../src/util/errors.ts";
import {
  formatComparisonMarkdown,
  formatComparisonText,
} from "../../src/tracking/comparison_table.ts";
import { jobs, makeRun, type RunSpec, testEnvironment } from "../bench/results_fixture.ts";

function summary(spec: RunSpec) {
  const { run, jobs } = makeRun(spec);
  return buildRunSummary(run, jobs);
}

const METHODS = ["pre-dfkd", "no-replay"];
const BASE_MU = [0.900, 0.905, 0.895];

function metric(c: ReturnType<typeof compareRuns>, method: string, m: MetricName) {
  const row = c.rows.find((r) => r.method === method);
  assert.ok(row, `row for ${method}`);
  const found = row.metrics.find((x) => x.metric === m);
  assert.ok(found);
  return found;
}

Deno.test("identical runs compare clean", () => {
  const base = summary({ runId: "a", jobs: jobs(METHODS, BASE_MU) });
  const cand = summary({ runId: "b", jobs: jobs(METHODS, BASE_MU) });
  const c = compareRuns(base, cand);
  assert.equal(c.regression, false);
  assert.deepEqual(c.regressions, []);
  assert.equal(c.rows.length, 2);
  for (const row of c.rows) {
    for (const m of row.metrics) {
      assert.equal(m.verdict, "unchanged", `${row.method} ${m.metric}`);
      assert.equal(m.test, "welch");
    }
  }
  assert.match(formatComparisonText(c), /Result: no regression/);
});

Deno.test("mu lowered beyond the threshold on every seed is a regression naming pair and method", () => {
  const base = summary({ runId: "a", jobs: jobs(METHODS, BASE_MU) });
  const cand = summary({
    runId: "b",
    jobs: [
      ...jobs(["pre-dfkd"], BASE_MU.map((m) => m - 0.02)), // 2 points lower on every seed
      ...jobs(["no-replay"], BASE_MU),
    ],
  });
  const c = compareRuns(base, cand);
  assert.equal(c.regression, true);
  assert.equal(c.regressions.length, 1);
  const r = c.regressions[0]!;
  assert.equal(r.pair, "lenet5-lenet5half");
  assert.equal(r.method, "pre-dfkd");
  assert.equal(r.metric, "mu");
  const mu = metric(c, "pre-dfkd", "mu");
  assert.equal(mu.verdict, "regression");
  assert.ok(Math.abs(mu.worsening - 2) < 1e-9);
  assert.ok(mu.pWorse !== null && mu.pWorse < 0.05);
  assert.equal(metric(c, "no-replay", "mu").verdict, "unchanged");
  const text = formatComparisonText(c);
  assert.match(text, /REGRESSION/);
  assert.match(text, /lenet5-lenet5half \/ pre-dfkd: mu 90\.00% -> 88\.00%/);
  assert.match(formatComparisonMarkdown(c), /\*\*REGRESSION\*\*/);
});

Deno.test("a drop inside the seed noise is not a regression", () => {
  // Candidate 1.5 points lower on average, but seeds spread over 6 points.
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], [0.90, 0.87, 0.93]) });
  const cand = summary({ runId: "b", jobs: jobs(["pre-dfkd"], [0.915, 0.855, 0.885]) });
  const mu = metric(compareRuns(base, cand), "pre-dfkd", "mu");
  assert.ok(mu.worsening > 1, "the effect alone exceeds the minimum");
  assert.ok(mu.pWorse !== null && mu.pWorse > 0.05, `p = ${mu.pWorse}`);
  assert.equal(mu.verdict, "unchanged");
});

Deno.test("a significant drop smaller than the minimum effect is not a regression", () => {
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], [0.900, 0.901, 0.899]) });
  const cand = summary({ runId: "b", jobs: jobs(["pre-dfkd"], [0.895, 0.896, 0.894]) });
  const c = compareRuns(base, cand);
  const mu = metric(c, "pre-dfkd", "mu");
  assert.ok(mu.pWorse !== null && mu.pWorse < 0.01, "clearly significant");
  assert.equal(mu.verdict, "unchanged", "0.5 points < 1 point minimum");
  // ... but it is one when the minimum effect is lowered by a flag.
  const strict = compareRuns(base, cand, { overrides: { minEffect: 0.25 } });
  assert.equal(metric(strict, "pre-dfkd", "mu").verdict, "regression");
  assert.equal(strict.settingSources.minEffect, "flag");
});

Deno.test("the minimum effect comes from the benchmark's regression.minEffect, flags override", () => {
  const source = { name: "mnist-quick", regression: { minEffect: 3 } };
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], BASE_MU) });
  const cand = summary({
    runId: "b",
    benchmarkSource: source,
    jobs: jobs(["pre-dfkd"], BASE_MU.map((m) => m - 0.02)),
  });
  const c = compareRuns(base, cand);
  assert.equal(c.settings.minEffect, 3);
  assert.equal(c.settingSources.minEffect, "benchmark");
  assert.equal(c.regression, false, "2 points < the benchmark's 3");
  assert.equal(compareRuns(base, cand, { overrides: { minEffect: 1 } }).regression, true);
});

Deno.test("time regressions are detected the same way (lower is better)", () => {
  const mus = BASE_MU;
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], mus, [10.0, 10.2, 9.9]) });
  const slow = summary({ runId: "b", jobs: jobs(["pre-dfkd"], mus, [13.0, 13.1, 12.8]) });
  const c = compareRuns(base, slow);
  const t = metric(c, "pre-dfkd", "wallPerEpoch");
  assert.equal(t.better, "lower");
  assert.equal(t.verdict, "regression");
  assert.ok(t.worsening > 25 && t.worsening < 35, `${t.worsening}% slower`);
  assert.deepEqual(c.regressions.map((r) => r.metric), ["wallPerEpoch"]);
  assert.match(c.regressions[0]!.detail, /slower \(minimum 10%\)/);

  // 3% slower: significant or not, under the 10% minimum.
  const bit = summary({ runId: "c", jobs: jobs(["pre-dfkd"], mus, [10.3, 10.5, 10.2]) });
  assert.equal(metric(compareRuns(base, bit), "pre-dfkd", "wallPerEpoch").verdict, "unchanged");

  // Faster is an improvement, never a regression.
  const fast = summary({ runId: "d", jobs: jobs(["pre-dfkd"], mus, [7.0, 7.1, 6.9]) });
  const f = compareRuns(base, fast);
  assert.equal(f.regression, false);
  assert.equal(metric(f, "pre-dfkd", "wallPerEpoch").verdict, "improved");

  // Not gated: the slowdown is shown but does not count.
  assert.equal(compareRuns(base, slow, { overrides: { gate: ["mu"] } }).regression, false);
});

Deno.test("higher accuracy is an improvement; a larger drop is worse", () => {
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], BASE_MU) });
  const better = summary({ runId: "b", jobs: jobs(["pre-dfkd"], BASE_MU.map((m) => m + 0.03)) });
  const c = compareRuns(base, better);
  assert.equal(c.regression, false);
  assert.equal(metric(c, "pre-dfkd", "mu").verdict, "improved");

  // Same mu, but the curve peaks higher and ends lower: drop is lower-is-better.
  const decaying = (mu: number) => [mu - 0.04, mu + 0.02, mu + 0.06, mu - 0.01, mu - 0.03];
  const cand = summary({
    runId: "c",
    jobs: BASE_MU.map((mu, i) => ({ method: "pre-dfkd", seed: i + 1, accuracies: decaying(mu) })),
  });
  const d = compareRuns(base, cand);
  assert.equal(metric(d, "pre-dfkd", "drop").better, "lower");
  assert.equal(metric(d, "pre-dfkd", "drop").verdict, "regression");
  assert.equal(d.regression, false, "drop is not gated by default");
  assert.equal(compareRuns(base, cand, { overrides: { gate: ["drop"] } }).regression, true);
});

Deno.test("one seed uses the plain threshold", () => {
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], [0.90]) });
  const worse = summary({ runId: "b", jobs: jobs(["pre-dfkd"], [0.885]) });
  const c = compareRuns(base, worse);
  const mu = metric(c, "pre-dfkd", "mu");
  assert.equal(mu.test, "threshold");
  assert.equal(mu.pWorse, null);
  assert.equal(mu.verdict, "regression");
  const close = summary({ runId: "c", jobs: jobs(["pre-dfkd"], [0.895]) });
  assert.equal(compareRuns(base, close).regression, false);
});

Deno.test("a seed that newly diverges is a regression; one-sided pairs are listed", () => {
  const base = summary({
    runId: "a",
    jobs: [...jobs(["pre-dfkd", "memory-bank"], BASE_MU)],
  });
  const candJobs = jobs(["pre-dfkd", "no-replay"], BASE_MU);
  candJobs[1] = { ...candJobs[1]!, status: "diverged", accuracies: [0.5, 0.1] };
  const cand = summary({ runId: "b", jobs: candJobs });
  const c = compareRuns(base, cand);
  assert.equal(c.regression, true);
  assert.deepEqual(c.regressions.map((r) => [r.method, r.metric]), [["pre-dfkd", "status"]]);
  assert.match(c.regressions[0]!.detail, /seed 2 diverged/);
  assert.deepEqual(c.onlyInBaseline, [{ pair: "lenet5-lenet5half", method: "memory-bank" }]);
  assert.deepEqual(c.onlyInCandidate, [{ pair: "lenet5-lenet5half", method: "no-replay" }]);
  // The diverged seed is left out of the statistics.
  assert.equal(metric(c, "pre-dfkd", "mu").candidate.n, 2);
  assert.match(formatComparisonText(c), /Only in the baseline \(not compared\): .*memory-bank/);
});

Deno.test("mismatched benchmarks, smoke vs full, and different environments are refused", () => {
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], BASE_MU) });
  const other = summary({ runId: "b", benchmark: "cifar10", jobs: jobs(["pre-dfkd"], BASE_MU) });
  assert.throws(
    () => compareRuns(base, other),
    (e) => e instanceof UserError && e.exitCode === 2 && /Mismatched benchmarks/.test(e.message),
  );
  const smoke = summary({ runId: "b", smoke: true, jobs: jobs(["pre-dfkd"], BASE_MU) });
  assert.throws(() => compareRuns(base, smoke), /Mismatched budgets/);

  const elsewhere = summary({
    runId: "b",
    env: testEnvironment({ hostname: "other-host", cpuModel: "Other CPU" }),
    jobs: jobs(["pre-dfkd"], BASE_MU),
  });
  assert.throws(
    () => compareRuns(base, elsewhere),
    (e) =>
      e instanceof UserError && e.exitCode === 2 &&
      /different machines are not comparable: .*test-host\/wasm.*other-host\/wasm/.test(
        e.message,
      ) && /--allow-different-env/.test(e.message),
  );
  const forced = compareRuns(base, elsewhere, { overrides: { allowDifferentEnv: true } });
  assert.equal(forced.regression, false);
  assert.ok(forced.warnings.some((w) => /^DIFFERENT MACHINES/.test(w)));
  assert.ok(forced.warnings.some((w) => /CPU models differ/.test(w)));
  assert.match(formatComparisonText(forced), /WARNING: DIFFERENT MACHINES/);

  const cpu = summary({
    runId: "b",
    env: testEnvironment({ backend: "cpu" }),
    jobs: jobs(["pre-dfkd"], BASE_MU),
  });
  assert.throws(() => compareRuns(base, cpu), /different backends/);
});

Deno.test("dependency changes are noted, dirty trees warned about", () => {
  const base = summary({ runId: "a", jobs: jobs(["pre-dfkd"], BASE_MU) });
  const cand = summary({
    runId: "b",
    env: testEnvironment({ tfjs: "4.23.0", gitDirty: true }),
    jobs: jobs(["pre-dfkd"], BASE_MU),
  });
  const c = compareRuns(base, cand);
  assert.ok(c.notes.includes("tfjs changed: 4.22.0 -> 4.23.0"));
  assert.ok(c.warnings.some((w) => /candidate ran on a tree with uncommitted changes/.test(w)));
});
