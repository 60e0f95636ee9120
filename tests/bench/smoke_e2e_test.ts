/**
 * End to end: `dfkd run benchmarks/smoke.json` for real (embedded MNIST, a
 * one-epoch LeNet-5 teacher trained into a temporary cache, every method in
 * its own process), then checks every file, the summary against the job
 * CSVs, and that `dfkd report` rebuilds the same files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { main } from "../../src/cli/main.ts";

const SMOKE = new URL("../../benchmarks/smoke.json", import.meta.url).pathname;

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readTextFile(join(dir, e.name)));
  }
  return out;
}

Deno.test("smoke.json end to end: every file, mu equals the CSV's mean, report rebuilds the same files", async () => {
  const out = await Deno.makeTempDir();
  const cache = await Deno.makeTempDir();
  const code = await main([
    "run",
    SMOKE,
    "--out",
    out,
    "--cache-dir",
    cache,
    "--backend",
    "wasm",
    "--jobs",
    "2",
  ]);
  assert.equal(code, 0);
  const runs = [...Deno.readDirSync(join(out, "smoke"))].map((e) => e.name);
  assert.equal(runs.length, 1);
  const dir = join(out, "smoke", runs[0]!);
  const top = await files(dir);
  for (const name of ["run.json", "summary.csv", "report.md", "report.html"]) {
    assert.ok(top.has(name), `${name} missing`);
  }
  assert.ok(!top.has("run.lock"), "the lock is released");
  const run = JSON.parse(top.get("run.json")!);
  assert.equal(run.jobs.length, 3);
  const summary = parse(top.get("summary.csv")!, { columns: true }) as Record<string, string>[];
  assert.deepStrictEqual(summary.map((r) => r.method), ["pre-dfkd", "no-replay", "memory-bank"]);
  for (const id of run.jobs as string[]) {
    const record = JSON.parse(await Deno.readTextFile(join(dir, "jobs", `${id}.json`)));
    assert.equal(record.status, "completed", `${id}: ${record.error}`);
    assert.equal(record.epochs.length, 3);
    assert.match(record.environment.backend, /^wasm$/);
    const rows = parse(await Deno.readTextFile(join(dir, "jobs", `${id}.csv`)), {
      columns: true,
    }) as Record<string, string>[];
    assert.equal(rows.length, 3);
    const csvMean = rows.reduce((s, r) => s + Number(r.accuracy), 0) / rows.length;
    const row = summary.find((r) => r.method === record.method)!;
    // One seed: the reported mu (percent) is this job's mean per-epoch accuracy.
    assert.ok(
      Math.abs(Number(row.mu_pct_mean) - 100 * csvMean) < 1e-9,
      `${id}: summary mu ${row.mu_pct_mean} vs CSV mean ${100 * csvMean}`,
    );
    if (record.method === "no-replay") assert.equal(record.replayBytes, 0);
    else assert.ok(record.replayBytes > 0, `${id} replays`);
  }
  assert.match(top.get("report.md")!, /Scaled configuration: tiny smoke budget/);
  assert.match(top.get("report.html")!, /<svg/);

  for (const name of top.keys()) {
    if (name !== "run.json") await Deno.remove(join(dir, name));
  }
  assert.equal(await main(["report", dir]), 0);
  assert.deepStrictEqual(await files(dir), top);
});
