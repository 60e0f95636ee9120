/**
 * The numbers of docs/claim.md from a run folder of
 * `benchmarks/mnist-forgetting.json` (or any run with pre-dfkd, no-replay and
 * memory-bank), printed as Markdown:
 *
 *     npx -y deno@2.9.6 run -A tools/claim_stats.ts <run-folder> [--epochs N]
 *
 * - per method: mu, sigma^2, best (peak), final and drop (peak - final) in
 *   percent, mean across seeds with the Student-t 95% confidence interval,
 *   and replay bytes;
 * - Welch's t-test of pre-dfkd against no-replay and against memory-bank on mu
 *   (H1: pre-dfkd higher) and on drop (H1: pre-dfkd lower), one-sided as the
 *   paper's claim is directional, with the two-sided p beside it;
 * - the mean curve across seeds every 5 epochs, and each method's late slope:
 *   the least-squares slope of accuracy over the second half of the epochs
 *   (points per 10 epochs), mean and 95% CI across seeds (a plateau is a slope
 *   whose CI holds 0; forgetting is a negative one).
 *
 * By default only completed jobs count. `--epochs N` instead takes the first N
 * epochs of every job that has at least N (completed or not), so an
 * unfinished run can be read at a common length: its tables then say so.
 * `--svg FILE` also writes the report's accuracy chart (mean and seed range
 * per epoch) drawn from every job's epochs so far, unfinished ones included,
 * titled as partial when any job is unfinished (the report itself draws
 * completed jobs only).
 */
import { parseArgs } from "node:util";
import { curveSpec, renderSvg } from "../src/report/charts.ts";
import { summarisePairs } from "../src/report/summary.ts";
import { loadRunResults } from "../src/results/load_run.ts";
import { curveMetrics, type SeedStats, seedStats } from "../src/results/metrics.ts";
import type { JobRecord } from "../src/results/records.ts";
import { welchTest } from "../src/tracking/welch.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { epochs: { type: "string" }, svg: { type: "string" } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error(
    "Usage: deno run -A tools/claim_stats.ts <run-folder> [--epochs N] [--svg FILE]",
  );
  Deno.exit(2);
}
const results = await loadRunResults(positionals[0]!);
const cut = values.epochs === undefined ? undefined : Number(values.epochs);
const METHODS = ["pre-dfkd", "no-replay", "memory-bank"];

/** Accuracy curves (in [0, 1]) per method, one per usable job. */
function curves(jobs: JobRecord[]): Map<string, { seed: number; acc: number[]; bytes: number }[]> {
  const out = new Map<string, { seed: number; acc: number[]; bytes: number }[]>();
  for (const j of jobs) {
    const acc = j.epochs.map((e) => e.accuracy);
    let use: number[] | undefined;
    if (cut === undefined) use = j.status === "completed" ? acc : undefined;
    else use = acc.length >= cut ? acc.slice(0, cut) : undefined;
    if (use === undefined) continue;
    const last = j.epochs[use.length - 1]!;
    const list = out.get(j.method) ?? [];
    list.push({ seed: j.seed, acc: use, bytes: last.replayBytes });
    out.set(j.method, list);
  }
  return out;
}

const byMethod = curves(results.jobs);
const pct = (s: SeedStats, digits = 2) =>
  s.n > 1
    ? `${(100 * s.mean).toFixed(digits)} [${(100 * s.ciLow).toFixed(digits)}, ${
      (100 * s.ciHigh).toFixed(digits)
    }]`
    : `${(100 * s.mean).toFixed(digits)}`;
const sq = (s: SeedStats) =>
  s.n > 1
    ? `${(1e4 * s.mean).toFixed(1)} [${(1e4 * s.ciLow).toFixed(1)}, ${(1e4 * s.ciHigh).toFixed(1)}]`
    : `${(1e4 * s.mean).toFixed(1)}`;

/** Least-squares slope of `ys` against their index. */
function slope(ys: number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

const lines: string[] = [];
const scope = cut === undefined
  ? "completed jobs only"
  : `first ${cut} epochs of every job that reached them (PARTIAL: the run had not finished)`;
lines.push(`Run ${results.run.runId} (${results.run.benchmark}); ${scope}.`, "");
lines.push(
  "| method | seeds | mu (%) | sigma^2 | best (%) | final (%) | drop (points) | late slope (points / 10 epochs) | replay bytes |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
);
const metrics = new Map<string, ReturnType<typeof curveMetrics>[]>();
for (const m of METHODS) {
  const list = byMethod.get(m) ?? [];
  if (list.length === 0) {
    lines.push(`| ${m} | 0 | | | | | | | |`);
    continue;
  }
  const ms = list.map((c) => curveMetrics(c.acc));
  metrics.set(m, ms);
  const st = (k: "mu" | "sigma2" | "peak" | "final" | "drop") => seedStats(ms.map((x) => x[k]));
  const late = seedStats(list.map((c) => 10 * slope(c.acc.slice(Math.floor(c.acc.length / 2)))));
  const bytes = [...new Set(list.map((c) => c.bytes))].join(" / ");
  lines.push(
    `| ${m} | ${list.length} (${list.map((c) => c.seed).join(", ")}) | ${pct(st("mu"))} | ${
      sq(st("sigma2"))
    } | ${pct(st("peak"))} | ${pct(st("final"))} | ${pct(st("drop"))} | ${pct(late)} | ${bytes} |`,
  );
}
lines.push("", "mean [95% CI] across seeds; sigma^2 in points squared.", "");

lines.push(
  "| test | metric | pre-dfkd | other | t | df | p (one-sided) | p (two-sided) |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
);
const pre = metrics.get("pre-dfkd");
for (const other of ["no-replay", "memory-bank"]) {
  const o = metrics.get(other);
  for (const [key, alt] of [["mu", "greater"], ["drop", "less"]] as const) {
    if (pre === undefined || o === undefined || pre.length < 2 || o.length < 2) {
      lines.push(`| pre-dfkd vs ${other} | ${key} | | | | | needs 2 seeds each | |`);
      continue;
    }
    const a = pre.map((x) => 100 * x[key]);
    const b = o.map((x) => 100 * x[key]);
    const r = welchTest(a, b, alt);
    const two = Math.min(1, 2 * Math.min(r.p, 1 - r.p));
    const mean = (xs: number[]) => (xs.reduce((s, x) => s + x, 0) / xs.length).toFixed(2);
    lines.push(
      `| pre-dfkd vs ${other} | ${key} (H1: pre-dfkd ${alt === "greater" ? "higher" : "lower"}) | ${
        mean(a)
      } | ${mean(b)} | ${r.t.toFixed(2)} | ${r.df.toFixed(1)} | ${r.p.toFixed(3)} | ${
        two.toFixed(3)
      } |`,
    );
  }
}
lines.push("");

const length = Math.min(...[...byMethod.values()].flat().map((c) => c.acc.length));
if (Number.isFinite(length)) {
  const marks = [...Array(length).keys()].filter((e) => e % 5 === 4 || e === 0);
  lines.push(
    `| epoch | ${marks.map((e) => e + 1).join(" | ")} |`,
    `| --- | ${marks.map(() => "---").join(" | ")} |`,
  );
  for (const m of METHODS) {
    const list = byMethod.get(m) ?? [];
    if (list.length === 0) continue;
    const meanAt = (e: number) => list.reduce((s, c) => s + c.acc[e]!, 0) / list.length;
    lines.push(`| ${m} | ${marks.map((e) => (100 * meanAt(e)).toFixed(1)).join(" | ")} |`);
  }
  lines.push("", "Mean test accuracy (%) across the seeds above, after the epoch shown.");
}
console.log(lines.join("\n"));

if (values.svg !== undefined) {
  const unfinished = results.jobs.filter((j) => j.status !== "completed");
  const pairs = summarisePairs(results).map((p) => ({
    ...p,
    methods: p.methods.map((g) => ({ ...g, completed: g.jobs.filter((j) => j.epochs.length > 0) })),
  }));
  const note = unfinished.length === 0
    ? undefined
    : `PARTIAL: ${unfinished.length} of ${results.jobs.length} jobs unfinished, drawn to their last epoch`;
  await Deno.writeTextFile(values.svg, await renderSvg(curveSpec(pairs[0]!, note)));
  console.log(`\nWrote ${values.svg}`);
}
