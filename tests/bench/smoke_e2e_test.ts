/**
 * End to end: `dfkd run benchmarks/smoke.json` for real (embedded MNIST, a
 * one-epoch LeNet-5 teacher trained into a temporary cache, every method in
 * its own process), then checks every file, the summary against the job
 * CSVs, and that `dfkd report` rebuilds the same files. Then runs that
 * survive: a run killed with SIGKILL partway and a run stopped with Ctrl-C
 * (SIGINT to the runner and its job, as a terminal sends it) are resumed and
 * give exactly the per-epoch records of the uninterrupted run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { main } from "../../src/cli/main.ts";

const SMOKE = new URL("../../benchmarks/smoke.json", import.meta.url).pathname;
const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
/** One teacher cache for every run of this file (the first run trains it). */
const CACHE = Deno.makeTempDirSync();
/** The uninterrupted run's folder, once the first test has made it. */
let referenceDir: string | undefined;

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readTextFile(join(dir, e.name)));
  }
  return out;
}

Deno.test("smoke.json end to end: every file, mu equals the CSV's mean, report rebuilds the same files", async () => {
  const out = await Deno.makeTempDir();
  const cache = CACHE;
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
  referenceDir = dir;
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

/** The parts of a job's epochs that must not change with interruptions (not the timings). */
async function epochNumbers(dir: string, id: string) {
  const record = JSON.parse(await Deno.readTextFile(join(dir, "jobs", `${id}.json`)));
  return {
    status: record.status as string,
    epochs: (record.epochs as Record<string, unknown>[]).map((e) => ({
      epoch: e.epoch,
      accuracy: e.accuracy,
      losses: e.losses,
      counters: e.counters,
      replayBytes: e.replayBytes,
    })),
  };
}

/** Pids of live processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      const state = /^State:\s+(\w)/m.exec(Deno.readTextFileSync(`/proc/${e.name}/status`))?.[1];
      if (cmd.includes(text) && state !== "Z") pids.push(Number(e.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function waitFor<T>(what: string, probe: () => T | undefined, seconds = 120): Promise<T> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function spawnRun(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "run", SMOKE, "--backend", "wasm", "--cache-dir", CACHE, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

function firstRunDir(out: string): string | undefined {
  try {
    const name = [...Deno.readDirSync(join(out, "smoke"))][0]?.name;
    return name === undefined ? undefined : join(out, "smoke", name);
  } catch {
    return undefined;
  }
}

const PRE = "lenet5-lenet5-half__pre-dfkd__s0";
const NO_REPLAY = "lenet5-lenet5-half__no-replay__s0";
const BANK = "lenet5-lenet5-half__memory-bank__s0";

Deno.test("smoke.json: a run killed with SIGKILL after its first checkpoint resumes to identical epochs", async () => {
  assert.ok(referenceDir, "needs the end-to-end run above");
  const out = await Deno.makeTempDir();
  const child = spawnRun(["--out", out, "--methods", "pre-dfkd", "--jobs", "1"]);
  const stderr = new Response(child.stderr).text();
  const dir = await waitFor("the first checkpoint", () => {
    const d = firstRunDir(out);
    if (d === undefined) return undefined;
    try {
      Deno.statSync(join(d, "checkpoints", PRE, "ckpt-000001.bin"));
      return d;
    } catch {
      return undefined;
    }
  });
  child.kill("SIGKILL");
  await child.status;
  await stderr;
  // The orphaned job process sees its runner gone (stdin closed) and exits too.
  await waitFor(
    "the job process to exit",
    () => processesMentioning(dir).length === 0 ? true : undefined,
    30,
  );
  const killed = await epochNumbers(dir, PRE);
  assert.equal(killed.status, "running", "nobody could record the end");
  assert.ok(killed.epochs.length < 3, "killed partway");

  const code = await main([
    "run",
    SMOKE,
    "--backend",
    "wasm",
    "--cache-dir",
    CACHE,
    "--out",
    out,
    "--resume",
    "latest",
  ]);
  assert.equal(code, 0);
  const resumed = await epochNumbers(dir, PRE);
  assert.equal(resumed.status, "completed");
  assert.deepStrictEqual(resumed, await epochNumbers(referenceDir, PRE));
  const record = JSON.parse(await Deno.readTextFile(join(dir, "jobs", `${PRE}.json`)));
  assert.ok(record.resumes[0].fromEpoch >= 1, "continued from a checkpoint, not from scratch");
});

Deno.test("smoke.json: Ctrl-C (SIGINT to runner and job) checkpoints and prints the resume command; resuming gives identical epochs", async () => {
  assert.ok(referenceDir, "needs the end-to-end run above");
  const out = await Deno.makeTempDir();
  const child = spawnRun(["--out", out, "--methods", "no-replay,memory-bank", "--jobs", "2"]);
  const stderrText = new Response(child.stderr).text();
  const dir = await waitFor("a job's first epoch", () => {
    const d = firstRunDir(out);
    if (d === undefined) return undefined;
    try {
      const done = [NO_REPLAY, BANK].map((id) =>
        JSON.parse(Deno.readTextFileSync(join(d, "jobs", `${id}.json`))).epochs.length
      );
      return done.some((n) => n >= 1) ? d : undefined;
    } catch {
      return undefined;
    }
  });
  // A terminal's Ctrl-C reaches the whole process group: the runner and its jobs.
  const jobs = processesMentioning(`--run-dir ${dir}`);
  assert.equal(jobs.length, 2, `two job processes: ${jobs}`);
  child.kill("SIGINT");
  for (const pid of jobs) Deno.kill(pid, "SIGINT");
  const status = await child.status;
  const stderr = await stderrText;
  assert.equal(status.code, 130, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m);
  assert.match(stderr, /Interrupt: finishing the current step/);
  const command = /To resume:\n {2}(deno task dfkd run .*)\n/.exec(stderr)?.[1];
  assert.ok(command, stderr);
  assert.ok(command.endsWith(`--resume ${dir.split("/").pop()}`), command);
  let checkpoints = 0;
  for (const id of [NO_REPLAY, BANK]) {
    const stopped = JSON.parse(await Deno.readTextFile(join(dir, "jobs", `${id}.json`)));
    assert.equal(stopped.status, "interrupted", id);
    assert.ok(stopped.epochs.length < 3, `${id} stopped partway`);
    // A job that had trained at all saved a checkpoint (one still loading has nothing to save).
    if (stopped.epochs.length > 0) assert.ok(stopped.checkpoint, `${id} saved a checkpoint`);
    if (stopped.checkpoint) checkpoints++;
  }
  assert.ok(checkpoints >= 1);
  // The report of the interrupted run says what is unfinished and how to resume.
  assert.equal(await main(["report", dir]), 0);
  const md = await Deno.readTextFile(join(dir, "report.md"));
  assert.match(
    md,
    /Unfinished run \(interrupted .*unfinished jobs: .*no-replay__s0 \(interrupted, /,
  );

  const args = command.split(" ").slice(3);
  assert.equal(await main(args), 0);
  for (const id of [NO_REPLAY, BANK]) {
    const resumed = await epochNumbers(dir, id);
    assert.equal(resumed.status, "completed", id);
    assert.deepStrictEqual(resumed, await epochNumbers(referenceDir, id), id);
  }
});
