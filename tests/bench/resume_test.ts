/**
 * Interrupts and resumes with the toy toolkit (real job processes, toy
 * methods): the first interrupt stops running jobs at an iteration boundary
 * with a checkpoint and starts no other; the printed command resumes the run
 * to the very epochs of an uninterrupted one; locks and mismatches are
 * refused with clear messages.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { JobRecord, RunRecord } from "../../src/results/records.ts";
import { runBenchmark, type RunOptions } from "../../src/bench/runner.ts";
import { resolveBenchmark, validateBenchmark } from "../../src/bench/spec.ts";
import { makeRunCommand } from "../../src/cli/run.ts";
import { rebuildReports } from "../../src/report/report.ts";
import { UserError } from "../../src/util/errors.ts";
import { Interrupter } from "../../src/util/interrupt.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { Rng } from "../../src/util/rng.ts";
import { saveCheckpoint } from "../../src/bench/checkpoint.ts";
import { writeJobFiles } from "../../src/results/run_folder.ts";
import { toolkit, TOY_CATALOGUE } from "./fake_toolkit.ts";

const TOOLKIT_MODULE = new URL("./fake_toolkit.ts", import.meta.url).href;

function walkFile(extra: Record<string, unknown> = {}) {
  return {
    name: "walk",
    dataset: "toy",
    pairs: [{ teacher: { arch: "toy-teacher" }, student: "toy-student" }],
    methods: { walk: {} },
    seeds: [0, 1],
    budget: { epochs: 3, iterationsPerEpoch: 4, batchSize: 4, studentStepsPerIteration: 1 },
    ...extra,
  };
}

async function setup() {
  const out = await Deno.makeTempDir();
  const dataRoot = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dataRoot, "toy.txt"), "toy");
  const file = join(dataRoot, "walk.json");
  await Deno.writeTextFile(file, JSON.stringify(walkFile()));
  return { out, dataRoot, file };
}

/** The parts of an epoch record that must be identical (not the timings). */
function numbers(r: JobRecord) {
  return r.epochs.map((e) => ({ epoch: e.epoch, accuracy: e.accuracy, losses: e.losses }));
}

async function readRecord(dir: string, id: string): Promise<JobRecord> {
  return JSON.parse(await Deno.readTextFile(join(dir, "jobs", `${id}.json`)));
}

async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  const original = console.error;
  const lines: string[] = [];
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { value: await fn(), stderr: lines.join("\n") };
  } finally {
    console.error = original;
  }
}

const S0 = "toy-teacher-toy-student__walk__s0";
const S1 = "toy-teacher-toy-student__walk__s1";

Deno.test("first interrupt: the running job checkpoints mid-epoch, no new job starts, exit 130; the printed command resumes to identical epochs", async () => {
  const { out, dataRoot, file } = await setup();
  const command = (interrupts: Interrupter) =>
    makeRunCommand({
      loadToolkit: () => Promise.resolve(toolkit),
      toolkitModule: TOOLKIT_MODULE,
      logger: () => ({ ...silentLogger, close() {} }),
      interrupts,
      exit: (code) => {
        throw new Error(`unexpected exit ${code}`);
      },
    });
  const common = ["--data-root", dataRoot, "--backend", "cpu"];

  // The uninterrupted reference (both jobs at once).
  const reference = await captureStderr(() =>
    command(new Interrupter()).run([file, ...common, "--out", join(out, "ref"), "--jobs", "2"])
  );
  assert.equal(reference.value, 0);
  const refDir = join(out, "ref", "walk", [...Deno.readDirSync(join(out, "ref", "walk"))][0]!.name);
  const ref0 = await readRecord(refDir, S0);
  const ref1 = await readRecord(refDir, S1);
  assert.equal(ref0.epochs.length, 3);
  assert.notDeepEqual(numbers(ref0), numbers(ref1), "the seeds differ");

  // One job at a time; interrupt as soon as the first job has finished epoch 1.
  const interrupts = new Interrupter();
  const running = captureStderr(() =>
    command(interrupts).run([file, ...common, "--out", join(out, "run"), "--jobs", "1"])
  );
  let runDir: string | undefined;
  for (let i = 0; i < 400 && runDir === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      const name = [...Deno.readDirSync(join(out, "run", "walk"))][0]?.name;
      if (name === undefined) continue;
      const r = await readRecord(join(out, "run", "walk", name), S0);
      if (r.epochs.length >= 1) runDir = join(out, "run", "walk", name);
    } catch {
      // Not written yet.
    }
  }
  assert.ok(runDir, "the first job reached epoch 2");
  interrupts.interrupt();
  const { value: code, stderr } = await running;
  assert.equal(code, 130);
  assert.match(stderr, /Interrupted: every running job saved a checkpoint/);
  const resumeLine = /^ {2}(deno task dfkd run .*)$/m.exec(stderr)?.[1];
  assert.ok(resumeLine, stderr);
  const runId = runDir.split("/").pop()!;
  assert.equal(
    resumeLine,
    `deno task dfkd run ${file} --jobs 1 --backend cpu --data-root ${dataRoot} --out ${
      join(out, "run")
    } --resume ${runId}`,
  );

  const first = await readRecord(runDir, S0);
  assert.equal(first.status, "interrupted");
  // Stopped inside epoch 2 (after one of its 4 iterations of 100 ms), or at its end.
  assert.ok(first.checkpoint, "a checkpoint was saved");
  assert.ok(first.checkpoint.epochsDone >= 1);
  assert.ok(first.epochs.length === first.checkpoint.epochsDone);
  assert.match(
    first.error!,
    /^Interrupted (in epoch 2 after iteration \d|after epoch \d); checkpoint /,
  );
  const checkpoints = [...Deno.readDirSync(join(runDir, "checkpoints", S0))].map((e) => e.name);
  assert.ok(checkpoints.some((n) => /^ckpt-\d+\.bin$/.test(n)), `${checkpoints}`);
  assert.equal((await readRecord(runDir, S1)).status, "pending", "no new job started");
  const run = JSON.parse(await Deno.readTextFile(join(runDir, "run.json"))) as RunRecord;
  assert.ok(run.interruptedAt && !run.finishedAt);
  await assert.rejects(Deno.stat(join(runDir, "run.lock")), "the lock is released");
  // The report of the interrupted run works and names what is unfinished.
  await rebuildReports(runDir);
  const md = await Deno.readTextFile(join(runDir, "report.md"));
  assert.match(
    md,
    new RegExp(
      `Unfinished run \\(interrupted .*unfinished jobs: ${S0} \\(interrupted, checkpoint after epoch \\d\\), ${S1} \\(pending\\)`,
    ),
  );
  // The report's hint resumes the same folder with the same data and backend.
  assert.ok(
    md.includes(
      `deno task dfkd run ${file} --out ${
        join(out, "run")
      } --data-root ${dataRoot} --backend cpu --resume ${runId}`,
    ),
    md,
  );

  // Resume with the printed command's arguments.
  const args = resumeLine.split(" ").slice(4);
  const resumed = await captureStderr(() => command(new Interrupter()).run(args));
  assert.equal(resumed.value, 0, resumed.stderr);
  const r0 = await readRecord(runDir, S0);
  const r1 = await readRecord(runDir, S1);
  assert.equal(r0.status, "completed");
  assert.equal(r1.status, "completed");
  assert.deepStrictEqual(numbers(r0), numbers(ref0));
  assert.deepStrictEqual(numbers(r1), numbers(ref1));
  assert.equal(r0.resumes?.length, 1);
  assert.equal(r0.resumes![0]!.fromEpoch, first.checkpoint.epochsDone);
  assert.equal(r1.resumes, undefined, "a job that never ran starts from scratch");
  await assert.rejects(Deno.stat(join(runDir, "checkpoints")), "completed jobs drop theirs");
  assert.equal(r0.checkpoint, undefined);
  const after = JSON.parse(await Deno.readTextFile(join(runDir, "run.json"))) as RunRecord;
  assert.ok(after.finishedAt && !after.interruptedAt && after.resumedAt?.length === 1);
});

Deno.test("second interrupt: running jobs are killed at once, recorded as interrupted, the lock released, exit 130", async () => {
  const { out, dataRoot, file } = await setup();
  const interrupts = new Interrupter();
  const command = makeRunCommand({
    loadToolkit: () => Promise.resolve(toolkit),
    toolkitModule: TOOLKIT_MODULE,
    logger: () => ({ ...silentLogger, close() {} }),
    interrupts,
    exit: (code) => {
      throw new Error(`unexpected exit ${code}: the run should end by itself`);
    },
  });
  const running = captureStderr(() =>
    command.run([file, "--data-root", dataRoot, "--backend", "cpu", "--out", out, "--jobs", "2"])
  );
  let runDir: string | undefined;
  for (let i = 0; i < 400 && runDir === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      const name = [...Deno.readDirSync(join(out, "walk"))][0]?.name;
      if (name === undefined) continue;
      const r = await readRecord(join(out, "walk", name), S0);
      if (r.epochs.length >= 1) runDir = join(out, "walk", name);
    } catch {
      // Not written yet.
    }
  }
  assert.ok(runDir, "the first job reached epoch 2");
  interrupts.interrupt();
  interrupts.interrupt();
  const { value: code, stderr } = await running;
  assert.equal(code, 130);
  assert.match(stderr, /Stopped at once: the running jobs were killed/);
  assert.match(stderr, /--resume /);
  for (const id of [S0, S1]) {
    const r = await readRecord(runDir, id);
    assert.equal(r.status, "interrupted", id);
    assert.match(
      r.error!,
      /^Stopped at once by a second interrupt; it resumes from its last checkpoint/,
    );
  }
  const run = JSON.parse(await Deno.readTextFile(join(runDir, "run.json"))) as RunRecord;
  assert.ok(run.interruptedAt && !run.finishedAt);
  await assert.rejects(Deno.stat(join(runDir, "run.lock")), "the lock is released");
});

Deno.test("resume: a live run's folder is refused, a stale lock is taken over, a changed file or mode is refused", async () => {
  const { out, dataRoot } = await setup();
  const json = walkFile({
    seeds: [0],
    budget: { epochs: 1, iterationsPerEpoch: 1, batchSize: 4, studentStepsPerIteration: 1 },
  });
  const resolve = (file: Record<string, unknown>, smoke = false) => {
    const r = validateBenchmark(file, TOY_CATALOGUE);
    assert.ok(r.ok);
    return { ...resolveBenchmark(r.file, "walk.json", TOY_CATALOGUE, file), smoke };
  };
  const options: RunOptions = {
    backend: "cpu",
    dataRoot,
    out,
    jobs: 1,
    log: silentLogger,
    toolkit,
    toolkitModule: TOOLKIT_MODULE,
  };
  const first = await runBenchmark(resolve(json), options);
  assert.equal(first.exitCode, 0);
  const lock = join(first.runDir, "run.lock");
  const refuse = async (o: Partial<RunOptions>, file = json, smoke = false) => {
    const e = await runBenchmark(resolve(file, smoke), { ...options, ...o }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.exitCode, 2);
    return e.message;
  };

  await Deno.writeTextFile(
    lock,
    JSON.stringify({ pid: 1, hostname: Deno.hostname(), since: "then" }),
  );
  assert.match(
    await refuse({ resume: "latest" }),
    /is locked by a live run \(process 1 on .*\); wait for it to finish or stop it/,
  );
  await Deno.writeTextFile(
    lock,
    JSON.stringify({ pid: 999_999_999, hostname: Deno.hostname(), since: "then" }),
  );
  // Temporary files the killed run's writers left: a dead writer's go, a live one's stay.
  const deadTmp = join(first.runDir, "jobs", "x.json.999999999-0123abcd.tmp");
  const liveTmp = join(first.runDir, "jobs", "x.json.1-0123abcd.tmp");
  await Deno.writeTextFile(deadTmp, "{");
  await Deno.writeTextFile(liveTmp, "{");
  const again = await runBenchmark(resolve(json), { ...options, resume: first.runId });
  assert.equal(again.exitCode, 0, "a stale lock is taken over; nothing is left to run");
  await assert.rejects(Deno.stat(deadTmp), "a dead writer's temporary file is removed");
  await Deno.stat(liveTmp);
  await Deno.remove(liveTmp);
  assert.deepStrictEqual(
    again.records.map((r) => r.wallSeconds),
    first.records.map((r) => r.wallSeconds),
  );
  await assert.rejects(Deno.stat(lock));

  assert.match(
    await refuse({ resume: "latest" }, { ...json, budget: { ...json.budget, epochs: 2 } }),
    /no longer matches run .*: job toy-teacher-toy-student__walk__s0 has another configuration/,
  );
  assert.match(
    await refuse({ resume: "latest" }, { ...json, seeds: [0, 1] }),
    /no longer gives the jobs of run/,
  );
  assert.match(
    await refuse({ resume: "latest" }, json, true),
    /was a full run: resume it without --smoke/,
  );
  assert.match(
    await refuse({ resume: "20990101T000000Z-abcdef0" }),
    /no run "20990101T000000Z-abcdef0" of walk .*runs there: /,
  );
  assert.match(
    await refuse({ resume: "latest", seeds: [0] }),
    /--methods and --seeds cannot change them/,
  );
  assert.match(
    await refuse({ resume: "latest", out: join(out, "empty") }),
    /holds no run of walk to resume/,
  );
});

Deno.test("resume: a checkpoint that passes its checks but does not fit the job is set aside with a warning; the job starts afresh", async () => {
  const { out, dataRoot } = await setup();
  const json = walkFile({
    seeds: [0],
    budget: { epochs: 2, iterationsPerEpoch: 2, batchSize: 4, studentStepsPerIteration: 1 },
  });
  const r = validateBenchmark(json, TOY_CATALOGUE);
  assert.ok(r.ok);
  const benchmark = { ...resolveBenchmark(r.file, "walk.json", TOY_CATALOGUE, json), smoke: false };
  const warnings: string[] = [];
  const options: RunOptions = {
    backend: "cpu",
    dataRoot,
    out,
    jobs: 1,
    log: { ...silentLogger, warn: (m) => warnings.push(m) },
    toolkit,
    toolkitModule: TOOLKIT_MODULE,
  };
  const first = await runBenchmark(benchmark, options);
  assert.equal(first.exitCode, 0);
  // Make the job unfinished, with a checkpoint from "another code version": valid hash and
  // configuration, but a method state the method cannot take.
  const record = await readRecord(first.runDir, S0);
  const reference = numbers(record);
  await writeJobFiles(first.runDir, {
    ...record,
    status: "interrupted",
    epochs: record.epochs.slice(0, 1),
  });
  const dir = join(first.runDir, "checkpoints", S0);
  await saveCheckpoint(dir, {
    jobId: S0,
    configHash: record.configHash,
    seed: record.seed,
    epochsDone: 1,
    epochs: record.epochs.slice(0, 1),
    runner: { images: 0, trainSeconds: 0, wallSeconds: 0, rng: new Rng(0).state() },
    method: { json: { layout: "of another version" }, tensors: {} },
    savedAt: new Date().toISOString(),
  });
  const again = await runBenchmark(benchmark, { ...options, resume: first.runId });
  assert.equal(again.exitCode, 0, "the job completes instead of failing on every resume");
  const after = await readRecord(first.runDir, S0);
  assert.equal(after.status, "completed");
  assert.deepStrictEqual(numbers(after), reference, "a fresh start gives the same epochs");
  assert.ok(
    warnings.some((w) =>
      /checkpoint .*ckpt-000001\.bin does not fit this job \(.+\); set aside as .*\.damaged/.test(w)
    ),
    warnings.join("\n"),
  );
});
