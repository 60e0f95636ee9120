import assert from "node:assert/strict";
import { curveMetrics, seedStats, summariseSeeds } from "../../src/results/metrics.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("curve metrics of a hand-made rise-and-decay curve", () => {
  // acc: 0.2 0.6 0.9 0.8 0.7 -> mu 0.64; deviations -0.44 -0.04 0.26 0.16 0.06;
  // squares .1936 .0016 .0676 .0256 .0036 = .292 -> sigma2 .0584
  const m = curveMetrics([0.2, 0.6, 0.9, 0.8, 0.7]);
  close(m.mu, 0.64);
  close(m.sigma2, 0.0584);
  close(m.sigma, Math.sqrt(0.0584));
  assert.equal(m.peak, 0.9);
  assert.equal(m.peakEpoch, 2);
  assert.equal(m.final, 0.7);
  close(m.drop, 0.2);
  close(m.monotoneShare, 2 / 4); // rises at epochs 1 and 2, falls at 3 and 4
  assert.equal(m.epochs, 5);
});

Deno.test("ties: the peak epoch is the first, equal epochs count as not falling", () => {
  const m = curveMetrics([0.5, 0.5, 0.4, 0.5]);
  assert.equal(m.peakEpoch, 0);
  close(m.monotoneShare, 2 / 3);
  close(m.drop, 0);
});

Deno.test("a one-epoch curve and bad curves", () => {
  const m = curveMetrics([0.3]);
  assert.equal(m.sigma, 0);
  assert.equal(m.monotoneShare, 1);
  assert.throws(() => curveMetrics([]), /empty accuracy curve/);
  assert.throws(() => curveMetrics([0.1, NaN]), /epoch 1 is not a finite number/);
});

Deno.test("across seeds: mean, sample std and the t-based 95% interval", () => {
  // values 1,2,3,4,5: mean 3, sample std sqrt(2.5); t(0.975, 4) = 2.7764451 (standard t table)
  const s = seedStats([1, 2, 3, 4, 5]);
  close(s.mean, 3);
  close(s.std, Math.sqrt(2.5));
  const half = 2.7764451 * Math.sqrt(2.5) / Math.sqrt(5);
  close(s.ciLow, 3 - half, 1e-6);
  close(s.ciHigh, 3 + half, 1e-6);
  const one = seedStats([0.7]);
  assert.deepEqual(one, { n: 1, mean: 0.7, std: 0, ciLow: 0.7, ciHigh: 0.7 });
});

Deno.test("summariseSeeds summarises every metric", () => {
  const s = summariseSeeds([curveMetrics([0.5, 0.7]), curveMetrics([0.6, 0.8])]);
  close(s.mu.mean, 0.65);
  close(s.peak.mean, 0.75);
  assert.equal(s.final.n, 2);
});
