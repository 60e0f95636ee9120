/**
 * The cluster commands on a planned toy run, in process: `k8s` writes a
 * schema-valid `run.yaml` with the run folder's path on the claim, `slurm`
 * (without `--submit`) writes both scripts and the commands to submit them,
 * `status --json` lists every job; bad input is a `UserError` (exit 2).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { parseAllDocuments } from "yaml";
import { runBenchmark } from "../../src/bench/runner.ts";
import { resolveBenchmark, validateBenchmark } from "../../src/bench/spec.ts";
import { k8sCommand } from "../../src/cli/k8s.ts";
import { slurmCommand } from "../../src/cli/slurm.ts";
import { statusCommand } from "../../src/cli/status.ts";
import { UserError } from "../../src/util/errors.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { toolkit, TOY_CATALOGUE } from "../bench/fake_toolkit.ts";
import { withTempDir } from "../temp_dir.ts";

const FILE = {
  name: "walk",
  dataset: "toy",
  pairs: [{ teacher: { arch: "toy-teacher" }, student: "toy-student" }],
  methods: { steady: {} },
  seeds: [0, 1, 2],
  budget: { epochs: 2, iterationsPerEpoch: 1, batchSize: 4, studentStepsPerIteration: 1 },
};

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const original = console.log;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    return { code: await fn(), out: lines.join("\n") };
  } finally {
    console.log = original;
  }
}

async function planToy(dir: string): Promise<string> {
  const r = validateBenchmark(FILE, TOY_CATALOGUE);
  assert.ok(r.ok);
  const planned = await runBenchmark(resolveBenchmark(r.file, "walk.json", TOY_CATALOGUE, FILE), {
    backend: "cpu",
    dataRoot: dir,
    out: join(dir, "claim"),
    jobs: 1,
    log: silentLogger,
    toolkit,
    planOnly: true,
  });
  return planned.runDir;
}

Deno.test("cli k8s / slurm / status on a planned run", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "toy.txt"), "toy");
    const runDir = await planToy(dir);
    const runPath = runDir.slice(join(dir, "claim").length + 1);

    const k8s = await capture(() =>
      k8sCommand.run([runDir, "--image", "dfkd:1", "--volume-claim", "pvc", "--parallelism", "2"])
    );
    assert.equal(k8s.code, 0);
    assert.match(k8s.out, /kubectl apply -f .*k8s\/run\.yaml/);
    const docs = parseAllDocuments(await Deno.readTextFile(join(runDir, "k8s/run.yaml")));
    const jobs = new Job(docs[0]!.toJSON());
    jobs.validate();
    assert.equal(jobs.spec?.completions, 3);
    assert.equal(jobs.spec?.parallelism, 2);
    const args = jobs.spec?.template.spec?.containers[0]?.args ?? [];
    assert.deepEqual(args.slice(0, 3), [
      `/results/${runPath}`,
      "--index",
      "$(JOB_COMPLETION_INDEX)",
    ]);
    assert.deepEqual(args.slice(3), ["--data-root", "/results/data"]);

    const slurm = await capture(() => slurmCommand.run([runDir, "--max-concurrent", "2"]));
    assert.equal(slurm.code, 0);
    assert.match(slurm.out, /sbatch --dependency=afterany:\$id .*report\.sbatch/);
    assert.match(await Deno.readTextFile(join(runDir, "slurm/array.sbatch")), /--array=0-2%2/);

    const status = await capture(() => statusCommand.run([runDir, "--json"]));
    const lines = JSON.parse(status.out) as { state: string }[];
    assert.deepEqual(lines.map((l) => l.state), ["pending", "pending", "pending"]);

    const bad = (p: Promise<number>, pattern: RegExp) =>
      assert.rejects(
        () => p,
        (e: unknown) => e instanceof UserError && e.exitCode === 2 && pattern.test(e.message),
      );
    await bad(k8sCommand.run([runDir, "--image", "i"]), /--volume-claim are required/);
    await bad(
      k8sCommand.run([runDir, "--image", "i", "--volume-claim", "c", "--claim-root", "/elsewhere"]),
      /does not contain the run folder/,
    );
    await bad(slurmCommand.run([runDir, "--time", "soon"]), /--time must be a Slurm time/);
    await bad(statusCommand.run([join(dir, "nothing")]), /is not a run folder/);
  });
});
