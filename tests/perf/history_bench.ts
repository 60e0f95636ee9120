/**
 * Regression-tracking costs at realistic sizes: adding a run to a history of
 * 1000 nightly entries (the whole file is rewritten atomically each time),
 * reading it back, and comparing two runs of 3 pairs x 3 methods x 5 seeds.
 * Run with `deno task bench` (or `deno bench -A tests/perf/history_bench.ts`).
 */
import { join } from "node:path";
import { compareRuns } from "../../src/tracking/compare.ts";
import { addToHistory, readHistory } from "../../src/tracking/history.ts";
import { buildRunSummary } from "../../src/tracking/run_summary.ts";
import { jobs, makeRun, testEnvironment } from "../bench/results_fixture.ts";

const METHODS = ["pre-dfkd", "no-replay", "memory-bank"];
const PAIRS = ["lenet5-lenet5half", "resnet34-resnet18", "wrn40_2-wrn16_1"];

function run(i: number) {
  const spec = PAIRS.flatMap((pair) =>
    jobs(METHODS, [0.9, 0.905, 0.895, 0.91, 0.9]).map((j) => ({ ...j, pair }))
  );
  const date = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString();
  const { run, jobs: js } = makeRun({
    runId: `r${i}`,
    startedAt: date,
    env: testEnvironment({ gitCommit: i.toString(16).padStart(40, "0") }),
    jobs: spec,
  });
  return buildRunSummary(run, js);
}

const dir = await Deno.makeTempDir();
const path = join(dir, "mnist-quick.jsonl");
const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ ...run(i), addedAt: "x" }));
await Deno.writeTextFile(path, lines.join("\n") + "\n");
const bytes = (await Deno.stat(path)).size;
let next = 1000;

Deno.bench(`history add to 1000 entries (${(bytes / 1e6).toFixed(1)} MB file)`, async () => {
  await addToHistory(dir, run(next++));
});

Deno.bench("history read of 1000 entries", async () => {
  await readHistory(path);
});

const a = run(1);
const b = run(2);
Deno.bench("compare 3 pairs x 3 methods x 5 seeds", () => {
  compareRuns(a, b);
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
