/**
 * Slurm, for real: starts a single-node cluster on this machine
 * (`slurm_up.sh`: munged, slurmctld, slurmd; 2 CPUs), plans
 * `benchmarks/smoke.json`, submits it with `dfkd slurm --submit` (a job array
 * and a dependent report job), cancels one array task (`scancel`) once it has
 * a checkpoint, requeues it, and checks that it continued from that
 * checkpoint and that the records and the report equal a local run's
 * (`dfkd run`, same backend). Stops the daemons it started (`slurm_down.sh`).
 *
 * Needs root and Debian's `slurm-wlm` and `munge` (`.ci/run` installs them);
 * ignored where they are absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { JobRecord, RunRecord } from "../../src/results/records.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const UP = join(ROOT, "tests/cluster/slurm_up.sh");
const DOWN = join(ROOT, "tests/cluster/slurm_down.sh");

function onPath(tool: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(join(dir, tool)).isFile;
    } catch {
      return false;
    }
  });
}

const available = Deno.build.os === "linux" && Deno.uid() === 0 &&
  ["munged", "slurmctld", "slurmd", "sbatch", "scancel", "scontrol"].every(onPath);

async function sh(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env: { DENO_NO_UPDATE_CHECK: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

const dfkd = (args: string[], env: Record<string, string> = {}) =>
  sh(Deno.execPath(), ["run", "-A", join(ROOT, "src/cli/main.ts"), ...args], env);

async function must(p: Promise<{ code: number; out: string; err: string }>, what: string) {
  const r = await p;
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.out}\n${r.err}`);
  return r.out;
}

async function poll<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) {
      throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return undefined;
  }
}

function numbers(r: JobRecord) {
  return {
    id: r.id,
    status: r.status,
    configHash: r.configHash,
    epochs: r.epochs.map((e) => ({ epoch: e.epoch, accuracy: e.accuracy, losses: e.losses })),
    replayBytes: r.replayBytes,
  };
}

/** summary.csv without the columns that name the run or time it. */
async function summaryNumbers(runDir: string): Promise<string[][]> {
  const [header, ...rows] = (await Deno.readTextFile(join(runDir, "summary.csv"))).trim()
    .split("\n").map((l) => l.split(","));
  const drop = new Set(["run_id", "wall_seconds_mean", "images_per_second_mean"]);
  const keep = (header ?? []).map((h, i) => drop.has(h) ? -1 : i).filter((i) => i >= 0);
  return [header ?? [], ...rows].map((r) => keep.map((i) => r[i] ?? ""));
}

async function jobState(id: string, env: Record<string, string>): Promise<string> {
  const r = await sh("scontrol", ["show", "job", id], env);
  return /JobState=(\S+)/.exec(r.out)?.[1] ?? "UNKNOWN";
}

Deno.test({
  name:
    "slurm: smoke.json as a job array on a real single-node cluster equals a local run (records, summary, history entry); a cancelled, requeued task resumes from its checkpoint",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dfkd-slurm-" });
    const state = join(dir, "slurm");
    // Away from the default ports, and apart from another copy of this test.
    const port = String(20000 + (Deno.pid % 4000) * 2);
    try {
      const up = await sh("bash", [UP, state], { SLURM_TEST_PORT: port });
      assert.equal(up.code, 0, `slurm_up.sh failed:\n${up.out}\n${up.err}`);
      // oneDNN off for every dfkd process here (plan, the array tasks through sbatch's exported
      // environment, the local run), so both sides use the same kernels. Known, not yet explained: a
      // task cancelled by scancel (SIGTERM) while oneDNN was loaded once aborted with glibc's
      // "corrupted size vs. prev_size" instead of checkpointing (1 of 2 CI runs); the wasm path has
      // not shown it. Tracked in the closing note of stop 19.
      const kernels = { DFKD_ONEDNN: "off" };
      const env = { SLURM_CONF: join(state, "slurm.conf"), ...kernels };
      const cache = join(dir, "teachers");

      const planned = await must(
        dfkd([
          "plan",
          "benchmarks/smoke.json",
          "--out",
          join(dir, "cluster"),
          "--cache-dir",
          cache,
        ], kernels),
        "dfkd plan",
      );
      const runDir = /Planned run \S+: 3 jobs \(indexes 0-2\) in (\S+)/.exec(planned)?.[1];
      assert.ok(runDir, planned);
      const run = (await readJson<RunRecord>(join(runDir, "run.json")))!;
      const backend = run.environment.backend;

      // One task at a time (%1): when task 0 is cancelled the others are still to run, so the
      // report job (afterany) cannot start before task 0 is requeued. The other CPU runs the
      // local run meanwhile.
      const submitted = await must(
        dfkd([
          "slurm",
          runDir,
          "--max-concurrent",
          "1",
          "--history-dir",
          join(dir, "history-cluster"),
          "--submit",
        ], env),
        "dfkd slurm --submit",
      );
      const arrayId = /Submitted array job (\d+)/.exec(submitted)?.[1];
      const reportId = /Submitted report job (\d+)/.exec(submitted)?.[1];
      assert.ok(arrayId && reportId, submitted);

      // The local run, meanwhile (same teacher cache, same backend).
      const local = dfkd([
        "run",
        "benchmarks/smoke.json",
        "--out",
        join(dir, "local"),
        "--cache-dir",
        cache,
        "--backend",
        backend,
        "--jobs",
        "1",
      ], kernels);

      // Cancel task 0 once it has a checkpoint, then requeue it.
      const job0 = run.jobs[0]!;
      const recordPath = (id: string) => join(runDir, "jobs", `${id}.json`);
      const atCheckpoint = await poll("task 0's first checkpoint", 120_000, async () => {
        const r = await readJson<JobRecord>(recordPath(job0));
        if (r?.status === "completed") throw new Error("task 0 completed before it was cancelled");
        return r?.checkpoint !== undefined && r.status === "running" ? r : undefined;
      });
      const task0 = `${arrayId}_0`;
      await must(sh("scancel", [task0], env), "scancel");
      await poll("task 0 to be cancelled", 60_000, async () => {
        const s = await jobState(task0, env);
        return s === "CANCELLED" ? s : undefined;
      });
      await must(sh("scontrol", ["requeue", task0], env), "scontrol requeue");
      // A requeued job waits ~2 minutes before it is eligible again; not here.
      await must(
        sh("scontrol", ["update", `jobid=${task0}`, "StartTime=now"], env),
        "scontrol update",
      );

      await poll("the report job", 240_000, async () => {
        const s = await jobState(reportId, env);
        if (["FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"].includes(s)) {
          const log = await Deno.readTextFile(join(runDir, "slurm/logs", `report_${reportId}.out`))
            .catch(() => "");
          throw new Error(`The report job ended ${s}:\n${log}`);
        }
        return s === "COMPLETED" ? s : undefined;
      });
      const localOut = await must(local, "the local dfkd run");
      const localDir = /Results: (\S+)/.exec(localOut)?.[1] ??
        join(
          dir,
          "local",
          "smoke",
          (await Array.fromAsync(Deno.readDir(join(dir, "local/smoke"))))[0]!.name,
        );

      // Task 0 really stopped and continued from its checkpoint.
      const resumed = (await readJson<JobRecord>(recordPath(job0)))!;
      assert.equal(resumed.status, "completed");
      assert.ok((resumed.resumes?.length ?? 0) >= 1, "task 0 was not resumed");
      assert.ok(resumed.resumes![0]!.fromEpoch >= atCheckpoint.checkpoint!.epochsDone);
      const task0Log = await Deno.readTextFile(join(runDir, "slurm/logs", `${arrayId}_0.out`));
      // scancel's SIGTERM: the job checkpointed and recorded itself interrupted, then continued.
      assert.match(task0Log, /__s0: interrupted/);
      assert.match(task0Log, /continuing at epoch [23]\/3/);
      assert.match(
        await sh("scontrol", ["show", "job", task0], env).then((r) => r.out),
        /Restarts=[1-9]/,
      );

      // Job for job, the local run's numbers; the same summary.
      for (const id of run.jobs) {
        const cluster = (await readJson<JobRecord>(recordPath(id)))!;
        const mine = (await readJson<JobRecord>(join(localDir, "jobs", `${id}.json`)))!;
        assert.deepEqual(numbers(cluster), numbers(mine), id);
      }
      assert.deepEqual(await summaryNumbers(runDir), await summaryNumbers(localDir));
      const finished = (await readJson<RunRecord>(join(runDir, "run.json")))!;
      assert.ok(finished.finishedAt, "the report job did not mark the run finished");
      assert.ok((await Deno.stat(join(runDir, "report.md"))).isFile);
      // The report job's history entry: the local run's, but for the run's name and times.
      await must(
        dfkd(["history", "add", localDir, "--history-dir", join(dir, "history-local")]),
        "dfkd history add",
      );
      const entry = async (d: string) => {
        const lines = (await Deno.readTextFile(join(dir, d, "smoke.jsonl"))).trim().split("\n");
        assert.equal(lines.length, 1);
        const e = JSON.parse(lines[0]!);
        return {
          benchmark: e.benchmark,
          backend: e.backend,
          smoke: e.smoke,
          finished: e.finished,
          missingJobs: e.missingJobs,
          entries: e.entries.map((p: { seeds: Record<string, unknown>[] }) => ({
            ...p,
            seeds: p.seeds.map(({ wallSeconds: _w, wallPerEpoch: _p, ...rest }) => rest),
          })),
        };
      };
      assert.deepEqual(await entry("history-cluster"), await entry("history-local"));
      const status = await must(dfkd(["status", runDir]), "dfkd status");
      assert.match(status, /3 jobs \(3 completed\)/);
    } finally {
      const down = await sh("bash", [DOWN, state]);
      assert.equal(down.code, 0, down.err);
      for (const pid of ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"]) {
        await assert.rejects(() => Deno.stat(join(state, pid)), `${pid} left behind`);
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
