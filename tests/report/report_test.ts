import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { curveMetrics, seedStats } from "../../src/results/metrics.ts";
import { loadRunResults } from "../../src/results/load_run.ts";
import { rebuildReports } from "../../src/report/report.ts";
import { UserError } from "../../src/util/errors.ts";
import { writeFakeRun } from "./fake_run.ts";

const PRE = [[0.5, 0.7, 0.8, 0.82], [0.45, 0.72, 0.79, 0.85]];
const NR = [[0.5, 0.75, 0.6, 0.7], [0.4, 0.7, 0.65, 0.6]];

async function fakeRun(): Promise<string> {
  return writeFakeRun(await Deno.makeTempDir(), [
    { method: "pre-dfkd", seed: 0, accuracies: PRE[0]!, replayBytes: 4_000_000 },
    { method: "pre-dfkd", seed: 1, accuracies: PRE[1]!, replayBytes: 4_000_000 },
    { method: "no-replay", seed: 0, accuracies: NR[0]! },
    { method: "no-replay", seed: 1, accuracies: NR[1]! },
    {
      method: "memory-bank",
      seed: 0,
      accuracies: [0.5],
      status: "failed",
      error: "Boom at step 3",
    },
  ], { scaled: true });
}

async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) files.set(e.name, await Deno.readTextFile(join(dir, e.name)));
  }
  return files;
}

Deno.test("report writes summary.csv, report.md, report.html and the curves from the records", async () => {
  const dir = await fakeRun();
  const written = await rebuildReports(dir);
  assert.deepStrictEqual(written.files.map((f) => f.slice(dir.length + 1)), [
    "summary.csv",
    "curves-lenet5-lenet5-half.svg",
    "report.md",
    "report.html",
  ]);
  const rows = parse(await Deno.readTextFile(join(dir, "summary.csv")), {
    columns: true,
  }) as Record<
    string,
    string
  >[];
  assert.deepStrictEqual(rows.map((r) => r.method), ["pre-dfkd", "no-replay", "memory-bank"]);
  // Across-seed statistics of per-seed curve metrics, accuracies in percent.
  const mus = PRE.map((c) => curveMetrics(c).mu * 100);
  const expected = seedStats(mus);
  const pre = rows[0]!;
  assert.ok(Math.abs(Number(pre.mu_pct_mean) - expected.mean) < 1e-9);
  assert.ok(Math.abs(Number(pre.mu_pct_ci_low) - expected.ciLow) < 1e-9);
  assert.ok(Math.abs(Number(pre.mu_pct_ci_high) - expected.ciHigh) < 1e-9);
  const s2 = seedStats(PRE.map((c) => curveMetrics(c).sigma2 * 1e4));
  assert.ok(Math.abs(Number(pre.sigma2_pct2_mean) - s2.mean) < 1e-9);
  assert.equal(pre.replay_bytes_mean, "4000000");
  assert.equal(pre.completed, "2");
  assert.equal(rows[2]!.completed, "0");
  assert.equal(rows[2]!.mu_pct_mean, "");

  const md = await Deno.readTextFile(join(dir, "report.md"));
  assert.match(md, /Scaled configuration/);
  assert.match(md, /\| pre-dfkd +\| 70\.38 ± 1\.59 /);
  assert.match(md, /!\[Accuracy curves[^\]]*\]\(curves-lenet5-lenet5-half\.svg\)/);
  assert.match(md, /lenet5-lenet5-half__memory-bank__s0`: Boom at step 3/);
  assert.match(md, /\| Git +\| 0123456789abcdef/);
  const html = await Deno.readTextFile(join(dir, "report.html"));
  assert.match(html, /<svg[^>]*class="marks"/);
  assert.doesNotMatch(html, /<script|<link|src="http/);
  assert.match(html, /Test CPU \(2 logical\)/);
  const svg = await Deno.readTextFile(join(dir, "curves-lenet5-lenet5-half.svg"));
  // One line per method with data (pre-dfkd, no-replay) plus the axes.
  assert.match(svg, /pre-dfkd/);
  assert.match(svg, /no-replay/);
});

Deno.test("report rebuilds byte-identical files from the same records", async () => {
  const dir = await fakeRun();
  await rebuildReports(dir);
  const first = await snapshot(dir);
  for (const name of first.keys()) {
    if (!name.endsWith(".json")) await Deno.remove(join(dir, name));
  }
  await rebuildReports(dir);
  assert.deepStrictEqual(await snapshot(dir), first);
});

Deno.test("malformed results folders are clear errors with exit code 2", async () => {
  const tmp = await Deno.makeTempDir();
  const expectError = async (dir: string, pattern: RegExp) => {
    const error = await loadRunResults(dir).then(() => undefined, (e) => e);
    assert.ok(error instanceof UserError, `expected a UserError for ${dir}, got ${error}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, pattern);
  };
  await expectError(join(tmp, "nope"), /nope: no such results folder/);
  await Deno.writeTextFile(join(tmp, "file"), "x");
  await expectError(join(tmp, "file"), /not a folder/);
  await expectError(tmp, /run\.json: missing; this is not a run folder/);

  const dir = await fakeRun();
  const runPath = join(dir, "run.json");
  const run = JSON.parse(await Deno.readTextFile(runPath));
  await Deno.writeTextFile(runPath, "{ not json");
  await expectError(dir, /run\.json: not valid JSON/);
  await Deno.writeTextFile(runPath, JSON.stringify({ ...run, jobs: "all" }));
  await expectError(dir, /run\.json: jobs: expected an array \(got "all"\)/);
  await Deno.writeTextFile(runPath, JSON.stringify({ ...run, jobs: ["../../etc/passwd"] }));
  await expectError(dir, /invalid job id/);
  await Deno.writeTextFile(runPath, JSON.stringify(run));
  const jobPath = join(dir, "jobs", `${run.jobs[0]}.json`);
  const job = JSON.parse(await Deno.readTextFile(jobPath));
  job.epochs[1].accuracy = 1.5;
  await Deno.writeTextFile(jobPath, JSON.stringify(job));
  await expectError(
    dir,
    /pre-dfkd__s0\.json: epochs\[1\]\.accuracy: must be at most 1 \(got 1\.5\)/,
  );
});

Deno.test("a job listed in run.json without a record is reported, not fatal", async () => {
  const dir = await fakeRun();
  await Deno.remove(join(dir, "jobs", "lenet5-lenet5-half__no-replay__s1.json"));
  const results = await loadRunResults(dir);
  assert.deepStrictEqual(results.missing, ["lenet5-lenet5-half__no-replay__s1"]);
  await rebuildReports(dir);
  const md = await Deno.readTextFile(join(dir, "report.md"));
  assert.match(md, /lenet5-lenet5-half__no-replay__s1 +\| no record/);
});
