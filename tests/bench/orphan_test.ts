/**
 * Orphans: when the runner is killed (SIGKILL, nothing to clean up), its job
 * processes stop within about a second, even in the middle of a long
 * synchronous computation, so nothing writes into the run folder a
 * `--resume` then owns.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { withTempDir } from "../temp_dir.ts";

const RUNNER = new URL("./toy_run_main.ts", import.meta.url).pathname;

/** Live (not zombie) processes whose command line contains `text`. */
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

async function waitFor<T>(what: string, probe: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}

Deno.test("a job busy in a long synchronous step stops within a second of its runner's SIGKILL", async () => {
  await withTempDir(async (root) => {
    const out = join(root, "out");
    await Deno.writeTextFile(join(root, "toy.txt"), "toy");
    const file = join(root, "busy.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "busy",
        dataset: "toy",
        pairs: [{ teacher: { arch: "toy-teacher" }, student: "toy-student" }],
        methods: { busy: {} },
        seeds: [0],
        budget: { epochs: 3, iterationsPerEpoch: 4, batchSize: 4, studentStepsPerIteration: 1 },
      }),
    );
    const runner = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", RUNNER, file, "--out", out, "--data-root", root, "--backend", "cpu"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      // The job finished its first epoch: it is now in its 60 s synchronous step.
      const record = await waitFor("the job's first epoch", () => {
        try {
          const run = [...Deno.readDirSync(join(out, "busy"))][0]?.name;
          const path = join(
            out,
            "busy",
            run ?? "?",
            "jobs",
            "toy-teacher-toy-student__busy__s0.json",
          );
          return JSON.parse(Deno.readTextFileSync(path)).epochs.length >= 1 ? path : undefined;
        } catch {
          return undefined;
        }
      }, 60_000);
      const runDir = join(record, "..", "..");
      const jobs = processesMentioning(`--run-dir ${runDir}`);
      assert.equal(jobs.length, 1, `one job process: ${jobs}`);
      await new Promise((r) => setTimeout(r, 300));
      runner.kill("SIGKILL");
      await runner.status;
      const killedAt = Date.now();
      await waitFor(
        "the orphan job to exit",
        () => processesMentioning(`--run-dir ${runDir}`).length === 0 ? true : undefined,
        5000,
      );
      const ms = Date.now() - killedAt;
      // Within a second of its own (200 ms polls), plus slack for a loaded machine.
      assert.ok(ms < 2500, `the orphan ran on for ${ms} ms`);
    } finally {
      try {
        runner.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      for (const pid of processesMentioning(`--run-dir ${out}`)) Deno.kill(pid, "SIGKILL");
    }
  });
});
