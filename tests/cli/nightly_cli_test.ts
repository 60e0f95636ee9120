import assert from "node:assert/strict";
import { join } from "node:path";
import { jobs, testEnvironment, writeResults } from "../bench/results_fixture.ts";
import { runCli } from "./run_cli.ts";

const dfkd = (args: string[], cwd?: string) => runCli(args, cwd === undefined ? {} : { cwd });

const MU = [0.90, 0.905, 0.895];

Deno.test("nightly CLI on existing results folders: exit 0 clean, exit 1 on regression", async () => {
  const root = await Deno.makeTempDir();
  try {
    const flags = ["--history-dir", join(root, "history"), "--out", join(root, "nightly")];
    const make = (id: string, day: number, mus: number[]) =>
      writeResults(join(root, "results"), {
        runId: id,
        startedAt: `2026-01-0${day}T03:00:00Z`,
        env: testEnvironment({ gitCommit: String(day).repeat(40) }),
        jobs: jobs(["pre-dfkd"], mus),
      });
    const first = await dfkd(["nightly", "--results", await make("r1", 1, MU), ...flags]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /mnist-quick: first entry, nothing to compare/);
    const second = await dfkd(["nightly", "--results", await make("r2", 2, MU), ...flags]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /mnist-quick: no regression/);
    const third = await dfkd([
      "nightly",
      "--results",
      await make("r3", 3, MU.map((m) => m - 0.05)),
      ...flags,
    ]);
    assert.equal(third.code, 1, third.stderr);
    assert.match(
      third.stdout,
      /mnist-quick: REGRESSION \(1\)\n {2}- lenet5-lenet5half \/ pre-dfkd: mu/,
    );
    assert.match(third.stdout, /Report: .*nightly\/\d{8}T\d{6}Z\/report\.md/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("nightly CLI: no nightly benchmark or a missing folder exits 2 without a stack trace", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "benchmarks"));
    await Deno.writeTextFile(
      join(root, "benchmarks", "x.json"),
      JSON.stringify({ name: "x", tags: ["quick"] }),
    );
    const none = await dfkd(["nightly"], root);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No benchmark is tagged "nightly" in benchmarks\//);
    assert.doesNotMatch(none.stderr, /\n\s+at /);
    const missing = await dfkd(["nightly", "--results", join(root, "nope"), "--out", root]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Results folder not found/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("nightly's subprocess run step finds the folder the runner created and its exit code", async () => {
  const { subprocessRunStep } = await import("../../src/cli/nightly.ts");
  const root = await Deno.makeTempDir();
  try {
    const file = join(root, "bench.json");
    await Deno.writeTextFile(file, JSON.stringify({ name: "nightly-fake", tags: ["nightly"] }));
    const fake = new URL("./fake_runner.ts", import.meta.url).pathname;
    const step = (exit: string) =>
      subprocessRunStep({
        resultsRoot: join(root, "results"),
        extraArgs: ["--exit", exit],
        command: [Deno.execPath(), "run", "-A", fake],
      });
    const bench = { file, name: "nightly-fake" };
    // An older run folder already there is not mistaken for the new one.
    Deno.env.set("FAKE_RUN_ID", "20260101T000000Z-old");
    await step("0")(bench);
    Deno.env.set("FAKE_RUN_ID", "20260102T000000Z-new");
    const r = await step("1")(bench);
    assert.equal(r.exitCode, 1);
    assert.equal(r.resultsDir, join(root, "results", "nightly-fake", "20260102T000000Z-new"));
    Deno.env.set("FAKE_RUN_ID", "none");
    const none = await step("3")(bench);
    assert.deepEqual(none, { exitCode: 3 });
  } finally {
    Deno.env.delete("FAKE_RUN_ID");
    await Deno.remove(root, { recursive: true });
  }
});
