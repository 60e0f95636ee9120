import assert from "node:assert/strict";
import { join } from "node:path";
import { findNightlyBenchmarks, runNightly } from "../../src/tracking/nightly.ts";
import { readHistory } from "../../src/tracking/history.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { jobs, testEnvironment, writeResults } from "../bench/results_fixture.ts";

const MU = [0.90, 0.905, 0.895];
const BENCH = { file: "benchmarks/mnist-quick.json", name: "mnist-quick" };

Deno.test("nightly: first entry, clean rerun, then a regression (exit 1, named in the report)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const hist = join(root, "history");
    const out = join(root, "nightly");
    const folder = (id: string, day: number, mus: number[], commit: string) =>
      writeResults(join(root, "results"), {
        runId: id,
        startedAt: `2026-01-0${day}T03:00:00Z`,
        env: testEnvironment({ gitCommit: commit.repeat(40) }),
        jobs: [...jobs(["pre-dfkd"], mus), ...jobs(["no-replay"], MU)],
      });
    const night = (dir: string, day: number) =>
      runNightly({
        benchmarks: [BENCH],
        runStep: () => Promise.resolve({ exitCode: 0, resultsDir: dir }),
        historyDir: hist,
        outDir: out,
        log: silentLogger,
        now: new Date(`2026-01-0${day}T04:00:00Z`),
      });

    const first = await night(await folder("r1", 1, MU, "a"), 1);
    assert.equal(first.exitCode, 0);
    assert.equal(first.results[0]!.comparison, undefined);
    assert.match(first.results[0]!.problems.join(), /first entry for test-host\/wasm/);

    const second = await night(await folder("r2", 2, MU, "b"), 2);
    assert.equal(second.exitCode, 0);
    assert.equal(second.results[0]!.previous?.runId, "r1");
    assert.equal(second.results[0]!.comparison?.regression, false);

    const third = await night(await folder("r3", 3, MU.map((m) => m - 0.02), "c"), 3);
    assert.equal(third.exitCode, 1);
    const r = third.results[0]!;
    assert.equal(r.previous?.runId, "r2", "compared with the previous comparable entry");
    assert.deepEqual(r.comparison?.regressions.map((x) => [x.method, x.metric]), [
      ["pre-dfkd", "mu"],
    ]);
    const report = await Deno.readTextFile(third.reportPath);
    assert.match(report, /\*\*Result: 1 benchmark\(s\) REGRESSED\.\*\*/);
    assert.match(
      report,
      /\| mnist-quick \| r3 \| ccccccc \| test-host\/wasm \| r2 \(bbbbbbb\) \| \*\*REGRESSION\*\* \(1\) \|/,
    );
    assert.match(report, /lenet5-lenet5half \/ pre-dfkd: mu 90\.00% -> 88\.00%/);
    assert.match(report, /!\[trend of mnist-quick\]\(mnist-quick-trend\.svg\)/);
    const svg = await Deno.readTextFile(join(third.reportDir, "mnist-quick-trend.svg"));
    assert.match(svg, /#2 ccccccc/);
    const latest = await Deno.readTextFile(join(out, "latest.md"));
    assert.match(latest, /\(20260103T040000Z\/mnist-quick-trend\.svg\)/);
    const json = JSON.parse(await Deno.readTextFile(join(third.reportDir, "report.json")));
    assert.equal(json.results[0].regression, true);
    assert.equal(json.results[0].previousRunId, "r2");
    assert.equal((await readHistory(join(hist, "mnist-quick.jsonl"))).length, 3);

    // Rerunning nightly on the same folder is idempotent for the history.
    const again = await night(join(root, "results", "mnist-quick", "r3"), 4);
    assert.equal(again.results[0]!.history, "unchanged");
    assert.equal((await readHistory(join(hist, "mnist-quick.jsonl"))).length, 3);
    assert.equal(again.results[0]!.previous?.runId, "r2");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("nightly: a run that writes nothing or fails jobs is a failure (exit 1)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const none = await runNightly({
      benchmarks: [BENCH],
      runStep: () => Promise.resolve({ exitCode: 1 }),
      historyDir: join(root, "history"),
      outDir: join(root, "nightly"),
      log: silentLogger,
    });
    assert.equal(none.exitCode, 1);
    assert.equal(none.results[0]!.failed, true);
    assert.match(none.results[0]!.problems.join("\n"), /wrote no results folder/);
    assert.match(await Deno.readTextFile(none.reportPath), /1 run\(s\) FAILED/);

    const dir = await writeResults(join(root, "results"), {
      runId: "r1",
      jobs: [
        ...jobs(["pre-dfkd"], MU),
        { method: "no-replay", seed: 1, accuracies: [0.3], status: "failed" },
      ],
    });
    const partial = await runNightly({
      benchmarks: [BENCH],
      runStep: () => Promise.resolve({ exitCode: 1, resultsDir: dir }),
      historyDir: join(root, "history"),
      outDir: join(root, "nightly"),
      log: silentLogger,
    });
    assert.equal(partial.exitCode, 1);
    assert.match(partial.results[0]!.problems.join("\n"), /no-replay \(failed\)/);
    assert.equal(partial.results[0]!.history, "added", "a failed run is still recorded");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("findNightlyBenchmarks picks files tagged nightly and names bad JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "a.json"), JSON.stringify({ name: "a", tags: ["quick"] }));
    await Deno.writeTextFile(
      join(dir, "b.json"),
      JSON.stringify({ name: "bee", tags: ["quick", "nightly"] }),
    );
    assert.deepEqual(await findNightlyBenchmarks(dir), [{
      file: join(dir, "b.json"),
      name: "bee",
    }]);
    await Deno.writeTextFile(join(dir, "c.json"), "{");
    await assert.rejects(findNightlyBenchmarks(dir), /c\.json: not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
