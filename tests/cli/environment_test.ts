/**
 * Environment failures through the real CLI: a read-only folder, a full
 * disk, a file given as the data root, a history line of the wrong shape.
 * Each is one line naming the path and the cause (never "this looks like a
 * bug"), and a full disk leaves no empty lock file behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { jobs, writeResults } from "../bench/results_fixture.ts";
import { CAN_MOUNT, withTmpfs } from "../tmpfs.ts";
import { withTempDir } from "../temp_dir.ts";
import { runCli } from "./run_cli.ts";

const TOY_RUNNER = new URL("../bench/toy_run_main.ts", import.meta.url).pathname;

function assertEnvironmentError(
  what: string,
  r: { code: number; stdout: string; stderr: string },
  expect: RegExp,
): void {
  const all = r.stdout + r.stderr;
  assert.notEqual(r.code, 0, `${what}: exit 0\n${all}`);
  assert.doesNotMatch(all, /looks like a bug|^\s+at /m, `${what}: reported as a bug\n${all}`);
  assert.match(r.stderr, expect, `${what}: unclear message\n${all}`);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

Deno.test({
  name: "a read-only folder: report and history add name the path and the cause",
  ignore: !CAN_MOUNT,
  fn: () =>
    withTmpfs(1024, async (fs) => {
      const run = await writeResults(fs.dir, { runId: "r1", jobs: jobs(["pre-dfkd"], [0.9]) });
      await Deno.mkdir(join(fs.dir, "history"));
      fs.readOnly();
      const [report, history] = await Promise.all([
        runCli(["report", run]),
        runCli(["history", "add", run, "--history-dir", join(fs.dir, "history")]),
      ]);
      assertEnvironmentError(
        "report",
        report,
        /error: Cannot .*r1.*: the file system is read-only/,
      );
      assertEnvironmentError(
        "history add",
        history,
        /error: Cannot create the lock file .*history.*: the file system is read-only/,
      );
    }),
});

Deno.test({
  name: "a full disk: a run start and history add say so, and leave no empty lock file",
  ignore: !CAN_MOUNT,
  fn: () =>
    withTmpfs(512, async (fs) => {
      await withTempDir(async (root) => {
        await Deno.writeTextFile(join(root, "toy.txt"), "toy");
        const file = join(root, "walk.json");
        await Deno.writeTextFile(
          file,
          JSON.stringify({
            name: "walk",
            dataset: "toy",
            pairs: [{ teacher: { arch: "toy-teacher" }, student: "toy-student" }],
            methods: { walk: {} },
            seeds: [0],
            budget: { epochs: 1, iterationsPerEpoch: 1, batchSize: 4, studentStepsPerIteration: 1 },
          }),
        );
        const results = await writeResults(root, { runId: "r1", jobs: jobs(["pre-dfkd"], [0.9]) });
        await Deno.mkdir(join(fs.dir, "history"));
        await fs.fill();
        const run = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", TOY_RUNNER, file, "--out", join(fs.dir, "out"), "--data-root", root],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder();
        const runResult = {
          code: run.code,
          stdout: text.decode(run.stdout),
          stderr: text.decode(run.stderr),
        };
        const history = await runCli([
          "history",
          "add",
          results,
          "--history-dir",
          join(fs.dir, "history"),
        ]);
        assertEnvironmentError("run start", runResult, /out.*: no space left on the device/);
        assertEnvironmentError("history add", history, /history.*: no space left on the device/);
        const locks = filesUnder(fs.dir).filter((p) => /\.lock/.test(p));
        assert.deepEqual(locks, [], "no lock file left behind");
      });
    }),
});

Deno.test("a file as the data root and a history line of the wrong shape: one line naming the path", async () => {
  await withTempDir(async (root) => {
    const notAFolder = join(root, "data.txt");
    await Deno.writeTextFile(notAFolder, "not a folder");
    const historyDir = join(root, "history");
    await Deno.mkdir(historyDir);
    await Deno.writeTextFile(
      join(historyDir, "mnist-quick.jsonl"),
      JSON.stringify({
        schema: "dfkd-bench/history@1",
        benchmark: "mnist-quick",
        runId: "r0",
        date: "2026-01-01T00:00:00Z",
        machine: "m",
        backend: "wasm",
        entries: "all of them",
      }) + "\n",
    );
    const results = await writeResults(root, { runId: "r1", jobs: jobs(["pre-dfkd"], [0.9]) });
    const [fetch, check, show, add] = await Promise.all([
      runCli(["datasets", "fetch", "cifar10", "--data-root", notAFolder, "--from", notAFolder]),
      runCli(["datasets", "check", "cifar10", "--data-root", notAFolder]),
      runCli(["history", "show", "mnist-quick", "--history-dir", historyDir, "--no-chart"]),
      runCli(["history", "add", results, "--history-dir", historyDir]),
    ]);
    for (const [what, r] of [["datasets fetch", fetch], ["datasets check", check]] as const) {
      assertEnvironmentError(what, r, /data\.txt is a file, not a folder/);
    }
    for (const [what, r] of [["history show", show], ["history add", add]] as const) {
      assertEnvironmentError(
        what,
        r,
        /mnist-quick\.jsonl:1: not a history entry of this version \(entries: expected an array/,
      );
    }
  });
});
