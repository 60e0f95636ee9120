/**
 * Planned runs with the toy toolkit: `plan` writes pending jobs and runs
 * none; `run-job` by index gives, job for job, the epochs of a local run; a
 * second copy of a running job is refused (exit 2), a dead holder's lock is
 * taken over; a stopped job continues from its checkpoint; `status` shows
 * each state; the report of the planned run matches the local run's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireJobLock, jobLockPath, readJobLock } from "../../src/results/job_lock.ts";
import type { JobRecord } from "../../src/results/records.ts";
import { runBenchmark, type RunOptions } from "../../src/bench/runner.ts";
import { resolveBenchmark, validateBenchmark } from "../../src/bench/spec.ts";
import { runPlannedJob } from "../../src/cluster/run_job.ts";
import { markRunFinished, readRunStatus } from "../../src/cluster/status.ts";
import { rebuildReports } from "../../src/report/report.ts";
import { UserError } from "../../src/util/errors.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { toolkit, TOY_CATALOGUE } from "../bench/fake_toolkit.ts";
import { withTempDir } from "../temp_dir.ts";

const TOOLKIT_MODULE = new URL("../bench/fake_toolkit.ts", import.meta.url).href;

const FILE = {
  name: "walk",
  dataset: "toy",
  pairs: [{ teacher: { arch: "toy-teacher" }, student: "toy-student" }],
  methods: { walk: {}, steady: {} },
  seeds: [0, 1],
  budget: { epochs: 3, iterationsPerEpoch: 4, batchSize: 4, studentStepsPerIteration: 1 },
  checkpoint: { everyEpochs: 1 },
};

function benchmark() {
  const r = validateBenchmark(FILE, TOY_CATALOGUE);
  assert.ok(r.ok);
  return resolveBenchmark(r.file, "walk.json", TOY_CATALOGUE, FILE);
}

async function setup(dir: string): Promise<RunOptions> {
  const dataRoot = join(dir, "data");
  await Deno.mkdir(dataRoot);
  await Deno.writeTextFile(join(dataRoot, "toy.txt"), "toy");
  return {
    backend: "cpu",
    dataRoot,
    out: join(dir, "out"),
    jobs: 2,
    log: silentLogger,
    toolkit,
    toolkitModule: TOOLKIT_MODULE,
  };
}

/** What must be identical between runs (not timings, hosts or run ids). */
function numbers(r: JobRecord) {
  return {
    id: r.id,
    status: r.status,
    configHash: r.configHash,
    epochs: r.epochs.map((e) => ({ epoch: e.epoch, accuracy: e.accuracy, losses: e.losses })),
    replayBytes: r.replayBytes,
  };
}

async function records(runDir: string, ids: string[]): Promise<JobRecord[]> {
  return await Promise.all(
    ids.map(async (id) => JSON.parse(await Deno.readTextFile(join(runDir, "jobs", `${id}.json`)))),
  );
}

/** summary.csv without the columns that name the run or time it. */
async function summaryNumbers(runDir: string): Promise<string[][]> {
  const [header, ...rows] = (await Deno.readTextFile(join(runDir, "summary.csv"))).trim()
    .split("\n").map((l) => l.split(","));
  const drop = new Set(["run_id", "wall_seconds_mean", "images_per_second_mean"]);
  const keep = (header ?? []).map((h, i) => drop.has(h) ? -1 : i).filter((i) => i >= 0);
  return [header ?? [], ...rows].map((r) => keep.map((i) => r[i] ?? ""));
}

const job = (runDir: string, index: number) =>
  runPlannedJob({ runDir, index, toolkit, log: () => {}, shouldStop: () => false });

Deno.test("plan + run-job by index: the local run's epochs job for job, the same report; a finished job is left alone", async () => {
  await withTempDir(async (dir) => {
    const options = await setup(dir);
    const local = await runBenchmark(benchmark(), options);
    assert.equal(local.exitCode, 0);

    const planned = await runBenchmark(benchmark(), { ...options, planOnly: true });
    assert.equal(planned.records.length, 4);
    assert.ok(planned.records.every((r) => r.status === "pending"));
    const run = JSON.parse(await Deno.readTextFile(join(planned.runDir, "run.json")));
    assert.equal(run.finishedAt, undefined);
    assert.deepEqual(run.jobs, local.records.map((r) => r.id));
    const before = await readRunStatus(planned.runDir);
    assert.deepEqual(before.counts, { pending: 4 });
    assert.equal(before.final, false);

    // Out of order, as array tasks may run.
    for (const i of [2, 0, 3, 1]) {
      const outcome = await job(planned.runDir, i);
      assert.equal(outcome.status, "completed");
      assert.equal(outcome.exitCode, 0);
      assert.equal(outcome.alreadyDone, false);
    }
    const again = await job(planned.runDir, 0);
    assert.equal(again.alreadyDone, true);
    assert.deepEqual(
      (await records(planned.runDir, run.jobs)).map(numbers),
      local.records.map(numbers),
    );
    const after = await readRunStatus(planned.runDir);
    assert.deepEqual(after.counts, { completed: 4 });
    assert.ok(after.jobs.every((j) => j.host === Deno.hostname() && j.epochsDone === 3));
    assert.equal(await markRunFinished(planned.runDir), true);
    await rebuildReports(planned.runDir);
    assert.deepEqual(await summaryNumbers(planned.runDir), await summaryNumbers(local.runDir));
    // Nothing of the lock is left behind.
    assert.equal(await readJobLock(planned.runDir, run.jobs[0]), undefined);
    // Bad indexes are clear errors.
    await assert.rejects(
      () => job(planned.runDir, 4),
      (e: unknown) =>
        e instanceof UserError && e.exitCode === 2 && /--index 4 is out of range/.test(e.message),
    );
  });
});

Deno.test("run-job: a second copy of a running job is refused (exit 2); a dead holder's or silent lock is taken over", async () => {
  await withTempDir(async (dir) => {
    const options = await setup(dir);
    const planned = await runBenchmark(benchmark(), { ...options, planOnly: true });
    const id = planned.records[0]!.id;
    const held = await acquireJobLock(planned.runDir, id);
    try {
      await assert.rejects(
        () => job(planned.runDir, 0),
        (e: unknown) =>
          e instanceof UserError && e.exitCode === 2 && /already running/.test(e.message),
      );
      const state = await readJobLock(planned.runDir, id);
      assert.equal(state?.live, true);
      assert.equal(state?.holder.pid, Deno.pid);
      assert.equal((await readRunStatus(planned.runDir)).jobs[0]?.state, "running");
    } finally {
      await held.release();
    }
    // A holder on this host whose process is gone.
    const path = jobLockPath(planned.runDir, id);
    await Deno.writeTextFile(
      path,
      JSON.stringify({ pid: 2 ** 22 + 17, hostname: Deno.hostname(), since: "then" }),
    );
    assert.equal((await readJobLock(planned.runDir, id))?.live, false);
    const lines: string[] = [];
    const outcome = await runPlannedJob({
      runDir: planned.runDir,
      index: 0,
      toolkit,
      log: (l) => lines.push(l),
      shouldStop: () => false,
    });
    assert.equal(outcome.status, "completed");
    assert.ok(lines.some((l) => /taking over a stale lock/.test(l)), lines.join("\n"));
    // A holder on another host that stopped touching its lock two minutes ago.
    const id1 = planned.records[1]!.id;
    const other = jobLockPath(planned.runDir, id1);
    await Deno.writeTextFile(other, JSON.stringify({ pid: 1, hostname: "node-b", since: "then" }));
    const old = new Date(Date.now() - 121_000);
    await Deno.utime(other, old, old);
    assert.equal((await job(planned.runDir, 1)).status, "completed");
  });
});

Deno.test("run-job: a job stopped by a signal checkpoints (exit 130, status interrupted), and its re-run continues to the local run's epochs", async () => {
  await withTempDir(async (dir) => {
    const options = await setup(dir);
    const local = await runBenchmark(benchmark(), { ...options, methods: ["walk"], seeds: [0] });
    const planned = await runBenchmark(benchmark(), {
      ...options,
      methods: ["walk"],
      seeds: [0],
      planOnly: true,
    });
    let epochsSeen = 0;
    const stopped = await runPlannedJob({
      runDir: planned.runDir,
      index: 0,
      toolkit,
      log: (l) => {
        if (/epoch \d\/3/.test(l)) epochsSeen++;
      },
      shouldStop: () => epochsSeen >= 1,
    });
    assert.equal(stopped.status, "interrupted");
    assert.equal(stopped.exitCode, 130);
    const status = await readRunStatus(planned.runDir);
    assert.equal(status.jobs[0]?.state, "interrupted");
    assert.ok((status.jobs[0]?.checkpointEpochs ?? -1) >= 0);
    assert.equal(status.final, false);
    assert.equal(await markRunFinished(planned.runDir), false);

    const resumed = await job(planned.runDir, 0);
    assert.equal(resumed.status, "completed");
    const [record] = await records(planned.runDir, [planned.records[0]!.id]);
    assert.equal(record?.resumes?.length, 1);
    assert.deepEqual(numbers(record!), numbers(local.records[0]!));
  });
});

Deno.test("job lock: the holder's heartbeat keeps touching the file; release removes it", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "jobs"));
    const lock = await acquireJobLock(dir, "j", { heartbeatMs: 50 });
    const path = jobLockPath(dir, "j");
    const old = new Date(Date.now() - 100_000);
    await Deno.utime(path, old, old);
    assert.ok(((await readJobLock(dir, "j"))?.ageMs ?? 0) >= 100_000);
    await new Promise((r) => setTimeout(r, 300));
    const state = await readJobLock(dir, "j");
    assert.ok(state !== undefined && state.ageMs < 5_000, `age ${state?.ageMs}`);
    assert.equal(state.live, true);
    await lock.release();
    await assert.rejects(() => Deno.stat(path));
  });
});

Deno.test("a local run resuming a planned run leaves a job another process holds to it (its record untouched)", async () => {
  await withTempDir(async (dir) => {
    const options = await setup(dir);
    const planned = await runBenchmark(benchmark(), { ...options, seeds: [0], planOnly: true });
    const [held, free] = planned.records.map((r) => r.id) as [string, string];
    const lock = await acquireJobLock(planned.runDir, held);
    try {
      const outcome = await runBenchmark(benchmark(), { ...options, resume: planned.runId });
      assert.equal(outcome.exitCode, 1);
      const [a, b] = await records(planned.runDir, [held, free]);
      assert.equal(a?.status, "pending");
      assert.equal(a?.error, undefined);
      assert.equal(b?.status, "completed");
    } finally {
      await lock.release();
    }
  });
});

Deno.test("job lock: a holder that missed its heartbeats (a node that just died) is waited for and taken over; a fresh one is refused at once", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "jobs"));
    const path = jobLockPath(dir, "j");
    const other = JSON.stringify({ pid: 1, hostname: "node-b", since: "then" });
    const timing = { staleMs: 2_000, silentMs: 500 };
    await Deno.writeTextFile(path, other);
    const started = Date.now();
    await assert.rejects(() => acquireJobLock(dir, "j", timing), /already running/);
    assert.ok(Date.now() - started < 400, "a fresh holder is refused at once");
    const silent = new Date(Date.now() - 1_000);
    await Deno.utime(path, silent, silent);
    const waits: number[] = [];
    const lock = await acquireJobLock(dir, "j", { ...timing, onWait: (_h, ms) => waits.push(ms) });
    assert.equal(waits.length, 1);
    assert.equal(lock.tookOver?.hostname, "node-b");
    assert.equal((await readJobLock(dir, "j"))?.holder.pid, Deno.pid);
    await lock.release();
  });
});
