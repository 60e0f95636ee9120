import assert from "node:assert/strict";
import { join } from "node:path";
import { jobs, testEnvironment, writeResults } from "../bench/results_fixture.ts";
import { runCli } from "./run_cli.ts";
import { withTempDir } from "../temp_dir.ts";

const dfkd = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

function noStack(stderr: string) {
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

const MU = [0.90, 0.905, 0.895];

Deno.test("compare CLI: identical runs exit 0, a regression exits 1 and names pair and method", async () => {
  await withTempDir(async (root) => {
    const base = await writeResults(root, {
      runId: "r1",
      jobs: jobs(["pre-dfkd", "no-replay"], MU),
    });
    const same = await writeResults(root, {
      runId: "r2",
      jobs: jobs(["pre-dfkd", "no-replay"], MU),
    });
    const worse = await writeResults(root, {
      runId: "r3",
      jobs: [
        ...jobs(["pre-dfkd"], MU),
        ...jobs(["no-replay"], MU.map((m) => m - 0.03)),
      ],
    });
    const clean = await dfkd(["compare", base, same]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /Result: no regression \(2 pair x method compared\)/);

    const bad = await dfkd(["compare", base, worse]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(
      bad.stdout,
      /1 REGRESSION\(S\):\n {2}- lenet5-lenet5half \/ no-replay: mu 90\.00% -> 87\.00%/,
    );

    const json = await dfkd(["compare", base, worse, "--json"]);
    assert.equal(json.code, 1);
    const c = JSON.parse(json.stdout);
    assert.equal(c.regression, true);
    assert.deepEqual(c.regressions.map((r: { method: string }) => r.method), ["no-replay"]);

    const md = await dfkd(["compare", base, worse, "--markdown"]);
    assert.equal(md.code, 1);
    assert.match(md.stdout, /^## Comparison: mnist-quick/);
    assert.match(md.stdout, /\| lenet5-lenet5half \| no-replay \| mu \|.*\*\*REGRESSION\*\* \|/);

    // A looser minimum effect from the command line clears it.
    const loose = await dfkd(["compare", base, worse, "--min-effect", "5"]);
    assert.equal(loose.code, 0, loose.stdout);
  });
});

Deno.test("compare CLI: unusable input exits 2 with a clear message and no stack trace", async () => {
  await withTempDir(async (root) => {
    const base = await writeResults(root, { runId: "r1", jobs: jobs(["pre-dfkd"], MU) });
    const other = await writeResults(root, {
      runId: "r2",
      benchmark: "cifar10-quick",
      jobs: jobs(["pre-dfkd"], MU),
    });
    const missing = await dfkd(["compare", base, join(root, "nope")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error: Results folder not found: .*nope/);
    noStack(missing.stderr);

    const notResults = await dfkd(["compare", base, root]);
    assert.equal(notResults.code, 2);
    assert.match(notResults.stderr, /Not a results folder: .* has no run\.json/);
    noStack(notResults.stderr);

    const mismatched = await dfkd(["compare", base, other]);
    assert.equal(mismatched.code, 2);
    assert.match(
      mismatched.stderr,
      /Mismatched benchmarks: the baseline .* is "mnist-quick" but the candidate .* is "cifar10-quick"/,
    );
    noStack(mismatched.stderr);

    const noHistory = await dfkd([
      "compare",
      "history:mnist-quick@-1",
      base,
      "--history-dir",
      join(root, "history"),
    ]);
    assert.equal(noHistory.code, 2);
    assert.match(noHistory.stderr, /no history for benchmark "mnist-quick"/);
    noStack(noHistory.stderr);

    await Deno.writeTextFile(join(base, "jobs", "lenet5-lenet5half__pre-dfkd__s1.json"), "{oops");
    const broken = await dfkd(["compare", base, base]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /lenet5-lenet5half__pre-dfkd__s1\.json: not valid JSON/);
    noStack(broken.stderr);

    const oneArg = await dfkd(["compare", base]);
    assert.equal(oneArg.code, 2);
    assert.match(oneArg.stderr, /compare takes a baseline and a candidate \(got 1 argument\)/);

    const badFlag = await dfkd(["compare", base, base, "--alpha", "2"]);
    assert.equal(badFlag.code, 2);
    assert.match(
      badFlag.stderr,
      /--alpha must be a significance level between 0 and 1 \(got "2"\)/,
    );
  });
});

Deno.test("compare CLI: different machines are refused unless --allow-different-env", async () => {
  await withTempDir(async (root) => {
    const base = await writeResults(root, { runId: "r1", jobs: jobs(["pre-dfkd"], MU) });
    const there = await writeResults(root, {
      runId: "r2",
      env: testEnvironment({ hostname: "elsewhere" }),
      jobs: jobs(["pre-dfkd"], MU),
    });
    const refused = await dfkd(["compare", base, there]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /not comparable: .*test-host\/wasm.*elsewhere\/wasm/);
    assert.match(refused.stderr, /--allow-different-env/);
    const forced = await dfkd(["compare", base, there, "--allow-different-env"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /WARNING: DIFFERENT MACHINES/);
    assert.match(forced.stderr, /warning: DIFFERENT MACHINES/);
  });
});

Deno.test("history CLI: add is idempotent, compare accepts history entries, show writes a chart", async () => {
  await withTempDir(async (root) => {
    const hist = join(root, "history");
    const r1 = await writeResults(root, {
      runId: "r1",
      startedAt: "2026-01-01T00:00:00Z",
      env: testEnvironment({ gitCommit: "a".repeat(40) }),
      jobs: jobs(["pre-dfkd", "no-replay"], MU),
    });
    const r2 = await writeResults(root, {
      runId: "r2",
      startedAt: "2026-01-02T00:00:00Z",
      env: testEnvironment({ gitCommit: "b".repeat(40) }),
      jobs: [...jobs(["pre-dfkd"], MU.map((m) => m - 0.02)), ...jobs(["no-replay"], MU)],
    });
    const added = await dfkd(["history", "add", r1, r2, "--history-dir", hist]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /run r1 \(commit aaaaaaa, test-host\/wasm\): added to/);
    const again = await dfkd(["history", "add", r1, "--history-dir", hist]);
    assert.match(again.stdout, /run r1 .*: already in/);
    const lines = (await Deno.readTextFile(join(hist, "mnist-quick.jsonl"))).trimEnd().split("\n");
    assert.equal(lines.length, 2);

    // The label from DFKD_MACHINE applies to runs of this host only.
    const labelled = await dfkd(["history", "add", r1, "--history-dir", hist], {
      DFKD_MACHINE: "ci-pool",
    });
    assert.match(labelled.stdout, /test-host\/wasm\): already in/);

    const byIndex = await dfkd([
      "compare",
      "history:mnist-quick@0",
      "history:mnist-quick@latest",
      "--history-dir",
      hist,
    ]);
    assert.equal(byIndex.code, 1, byIndex.stderr);
    assert.match(byIndex.stdout, /lenet5-lenet5half \/ pre-dfkd: mu 90\.00% -> 88\.00%/);
    const byCommit = await dfkd(["compare", "history:mnist-quick@aaaa", r1, "--history-dir", hist]);
    assert.equal(byCommit.code, 0, byCommit.stderr);

    const svg = join(root, "trend.svg");
    const html = join(root, "trend.html");
    const show = await dfkd([
      "history",
      "show",
      "mnist-quick",
      "--history-dir",
      hist,
      "--svg",
      svg,
      "--html",
      html,
    ]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /mnist-quick: mu on test-host\/wasm \(2 entries\)/);
    assert.match(
      show.stdout,
      /0 +2026-01-01 00:00 +aaaaaaa +r1 +90\.00 ±1\.24 \(3\) +90\.00 ±1\.24 \(3\)/,
    );
    assert.match(
      show.stdout,
      /1 +2026-01-02 00:00 +bbbbbbb +r2 +90\.00 ±1\.24 \(3\) +88\.00 ±1\.24 \(3\)/,
    );
    const svgText = await Deno.readTextFile(svg);
    assert.match(svgText, /^<svg/);
    assert.match(svgText, /pre-dfkd/);
    assert.match(svgText, /#1 bbbbbbb/);
    const htmlText = await Deno.readTextFile(html);
    assert.match(htmlText, /<svg/);
    assert.match(htmlText, /<td>88\.00 ±1\.24 \(3\)<\/td>/);

    const unknown = await dfkd(["history", "show", "nope", "--history-dir", hist]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No history for benchmark "nope"/);
    noStack(unknown.stderr);
  });
});

Deno.test("compare and nightly fail closed: nothing compared is exit 2 unless --allow-empty; an empty --gate is refused", async () => {
  await withTempDir(async (root) => {
    const base = await writeResults(root, { runId: "r1", jobs: jobs(["pre-dfkd"], MU) });
    // Every job record deleted: the run lists jobs but has none to compare.
    const gone = await writeResults(root, { runId: "r2", jobs: jobs(["pre-dfkd"], MU) });
    for (const e of Deno.readDirSync(join(gone, "jobs"))) {
      if (e.name.endsWith(".json")) Deno.removeSync(join(gone, "jobs", e.name));
    }
    // No pair x method in common.
    const other = await writeResults(root, { runId: "r3", jobs: jobs(["no-replay"], MU) });
    const flags = ["--history-dir", join(root, "history"), "--out", join(root, "nightly")];
    const [empty, disjoint, allowed, gate, gateSpaces, nightly] = await Promise.all([
      dfkd(["compare", base, gone]),
      dfkd(["compare", base, other, "--json"]),
      dfkd(["compare", base, other, "--allow-empty"]),
      dfkd(["compare", base, base, "--gate", ""]),
      dfkd(["compare", base, base, "--gate", " , "]),
      dfkd(["nightly", "--results", gone, ...flags]),
    ]);
    assert.equal(empty.code, 2, empty.stdout + empty.stderr);
    assert.match(empty.stdout, /Result: NOTHING COMPARED/);
    assert.match(
      empty.stderr,
      /error: Nothing was compared between .*r1 and .*r2: no pair x method is on both sides \(only in the baseline: lenet5-lenet5half \/ pre-dfkd; only in the candidate: none\)/,
    );
    assert.equal(disjoint.code, 2, disjoint.stderr);
    assert.equal(JSON.parse(disjoint.stdout).compared, 0, "the JSON is printed, then the error");
    assert.match(disjoint.stderr, /only in the candidate: lenet5-lenet5half \/ no-replay/);
    assert.equal(allowed.code, 0, allowed.stderr);
    for (const r of [gate, gateSpaces]) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--gate needs at least one metric/);
      noStack(r.stderr);
    }
    assert.equal(nightly.code, 2, nightly.stdout + nightly.stderr);
    assert.match(nightly.stdout, /holds no job record \(jobs\/\*\.json\): nothing was added/);
  });
});
