import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import type { JobRecord, RunRecord } from "../../src/results/records.ts";
import { runBenchmark, type RunOptions } from "../../src/bench/runner.ts";
import { acquireRunLock, claimRunFolder } from "../../src/results/run_folder.ts";
import { resolveBenchmark, validateBenchmark } from "../../src/bench/spec.ts";
import { UserError } from "../../src/util/errors.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { toolkit, TOY_CATALOGUE } from "./fake_toolkit.ts";

const TOOLKIT_MODULE = new URL("./fake_toolkit.ts", import.meta.url).href;

function toyBenchmark(methods: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const json = {
    name: "toy",
    dataset: "toy",
    pairs: [{ teacher: { arch: "toy-teacher" }, student: "toy-student" }],
    methods,
    seeds: [0, 1],
    budget: { epochs: 3, iterationsPerEpoch: 1, batchSize: 4, studentStepsPerIteration: 1 },
    ...extra,
  };
  const r = validateBenchmark(json, TOY_CATALOGUE);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.problems));
  return resolveBenchmark(r.file, "toy.json", TOY_CATALOGUE, json);
}

async function setup(): Promise<{ out: string; dataRoot: string; options: RunOptions }> {
  const out = await Deno.makeTempDir();
  const dataRoot = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dataRoot, "toy.txt"), "toy");
  return {
    out,
    dataRoot,
    options: {
      backend: "cpu",
      dataRoot,
      out,
      jobs: 2,
      log: silentLogger,
      toolkit,
      toolkitModule: TOOLKIT_MODULE,
      now: () => new Date("2026-01-01T12:00:00Z"),
    },
  };
}

Deno.test("jobs run in their own processes; a crashing job is recorded and the others go on", async () => {
  const { options } = await setup();
  const benchmark = toyBenchmark({ steady: {}, crash: {}, nan: {}, die: {} }, { seeds: [0] });
  const outcome = await runBenchmark(benchmark, options);
  assert.equal(outcome.exitCode, 1);
  const byMethod = new Map(outcome.records.map((r) => [r.method, r]));
  const steady = byMethod.get("steady")!;
  assert.equal(steady.status, "completed");
  assert.equal(steady.epochs.length, 3);
  const crash = byMethod.get("crash")!;
  assert.equal(crash.status, "failed");
  assert.equal(crash.error, "Toy crash in epoch 2");
  assert.equal(crash.epochs.length, 1, "the epoch before the crash is kept");
  const nan = byMethod.get("nan")!;
  assert.equal(nan.status, "diverged");
  assert.equal(nan.divergedAtEpoch, 1);
  assert.match(nan.error!, /Loss "student" became NaN in epoch 2/);
  const die = byMethod.get("die")!;
  assert.equal(die.status, "failed");
  assert.match(die.error!, /exited with code 7 before finishing \(fatal: toy process dies\)/);
  assert.equal(die.epochs.length, 1, "the epoch written before the process died is kept");
  const log = await Deno.readTextFile(join(outcome.runDir, "jobs", `${die.id}.log`));
  assert.match(log, /fatal: toy process dies/);
  // The lock is released and the run is marked finished.
  await assert.rejects(Deno.stat(join(outcome.runDir, "run.lock")));
  const run = JSON.parse(await Deno.readTextFile(join(outcome.runDir, "run.json"))) as RunRecord;
  assert.ok(run.finishedAt);
  assert.deepStrictEqual(run.jobs, outcome.records.map((r) => r.id));
});

Deno.test("a completed run writes every file, with records matching their CSVs", async () => {
  const { options, out } = await setup();
  const outcome = await runBenchmark(toyBenchmark({ steady: { step: 0.05 } }), options);
  assert.equal(outcome.exitCode, 0);
  assert.equal(outcome.runDir, join(out, "toy", "20260101T120000Z-" + outcome.runId.split("-")[1]));
  const names: string[] = [];
  for await (const e of Deno.readDir(outcome.runDir)) names.push(e.name);
  for (
    const f of [
      "run.json",
      "jobs",
      "summary.csv",
      "report.md",
      "report.html",
      "curves-toy-teacher-toy-student.svg",
    ]
  ) {
    assert.ok(names.includes(f), `${f} missing from ${names}`);
  }
  for (const record of outcome.records) {
    const json = JSON.parse(
      await Deno.readTextFile(join(outcome.runDir, "jobs", `${record.id}.json`)),
    ) as JobRecord;
    assert.equal(json.status, "completed");
    assert.equal(
      json.config && (json.config as { hyperparameters: { step: number } }).hyperparameters.step,
      0.05,
    );
    assert.equal(json.configHash.length, 64);
    assert.ok(json.wallSeconds > 0);
    assert.ok(json.imagesPerSecond > 0);
    assert.equal(json.environment.backend, "cpu");
    const rows = parse(await Deno.readTextFile(join(outcome.runDir, "jobs", `${record.id}.csv`)), {
      columns: true,
    }) as Record<string, string>[];
    assert.deepStrictEqual(rows.map((r) => Number(r.accuracy)), json.epochs.map((e) => e.accuracy));
  }
  // Both seeds of one configuration share a hash.
  assert.equal(outcome.records[0]!.configHash, outcome.records[1]!.configHash);
  assert.match(outcome.summary, /\| steady /);
});

Deno.test("missing data and unknown --methods are user errors and write nothing", async () => {
  const { options, out } = await setup();
  const noData = { ...options, dataRoot: join(out, "nowhere") };
  const e1 = await runBenchmark(toyBenchmark({ steady: {} }), noData).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(e1 instanceof UserError);
  assert.match(e1.message, /Toy data not found/);
  const e2 = await runBenchmark(toyBenchmark({ steady: {} }), { ...options, methods: ["crash"] })
    .then(() => undefined, (e) => e);
  assert.ok(e2 instanceof UserError);
  assert.equal(e2.message, '--methods: "crash" is not in toy.json (it runs steady)');
  const left: string[] = [];
  for await (const e of Deno.readDir(out)) left.push(e.name);
  assert.deepStrictEqual(left, []);
});

Deno.test("a hyperparameter a plug-in rejects stops the run before anything is written", async () => {
  const { options, out } = await setup();
  const error = await runBenchmark(toyBenchmark({ steady: { step: -1 }, crash: {} }), options)
    .then(() => undefined, (e) => e);
  assert.ok(error instanceof UserError);
  assert.equal(error.exitCode, 2);
  assert.equal(
    error.message,
    'toy.json: methods.steady: Method "steady": hyperparameter "step": must be >= 0 (got -1)',
  );
  assert.deepStrictEqual([...Deno.readDirSync(out)], []);
});

Deno.test("two runs in the same second get distinct folders; a live lock is refused", async () => {
  const out = await Deno.makeTempDir();
  const a = await claimRunFolder(out, "b", "20260101T000000Z-abc1234");
  const b = await claimRunFolder(out, "b", "20260101T000000Z-abc1234");
  assert.notEqual(a.dir, b.dir);
  assert.equal(b.runId, "20260101T000000Z-abc1234-2");
  // Many claims at once (as from parallel processes) never share a folder.
  const many = await Promise.all(
    Array.from({ length: 12 }, () => claimRunFolder(out, "b", "20260101T000000Z-abc1234")),
  );
  assert.equal(new Set(many.map((c) => c.dir)).size, 12);
  assert.ok(!many.some((c) => c.dir === a.dir || c.dir === b.dir));
  const lockA = await acquireRunLock(a.dir);
  // A lock held by a live process (here: pid 1) is refused with exit code 2.
  await Deno.writeTextFile(
    join(b.dir, "run.lock"),
    JSON.stringify({ pid: 1, hostname: Deno.hostname(), since: "then" }),
  );
  const error = await acquireRunLock(b.dir).then(() => undefined, (e) => e);
  assert.ok(error instanceof UserError);
  assert.equal(error.exitCode, 2);
  assert.match(error.message, /is locked by a live run \(process 1 on /);
  // A stale lock (its process is gone) is taken over.
  await Deno.writeTextFile(
    join(b.dir, "run.lock"),
    JSON.stringify({ pid: 999_999_999, hostname: Deno.hostname(), since: "then" }),
  );
  let tookOver = false;
  const lockB = await acquireRunLock(b.dir, { onTakeOver: () => tookOver = true });
  assert.ok(tookOver);
  assert.equal(JSON.parse(await Deno.readTextFile(join(b.dir, "run.lock"))).pid, Deno.pid);
  await lockA.release();
  await lockB.release();
  await assert.rejects(Deno.stat(join(b.dir, "run.lock")));
});
