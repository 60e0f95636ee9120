/**
 * The cluster files `dfkd slurm` and `dfkd k8s` write: the Kubernetes
 * manifests validate against the Kubernetes API schema (`kubernetes-models`)
 * after a round trip through YAML, and the schema does reject a broken one;
 * the sbatch scripts carry the array, requeue, signal and dependency wiring
 * and are valid shell.
 */
import assert from "node:assert/strict";
import { Job } from "kubernetes-models/batch/v1/Job";
import { parseAllDocuments } from "yaml";
import type { RunRecord } from "../../src/results/records.ts";
import { k8sManifests, k8sName } from "../../src/cluster/k8s.ts";
import { parseSbatchId, slurmScripts } from "../../src/cluster/slurm.ts";

const RUN = {
  benchmark: "cifar10-wrn40_2-wrn16_1",
  runId: "20261201T120000Z-abc1234",
  jobs: Array.from({ length: 35 }, (_, i) => `job${i}`),
} as unknown as RunRecord;

Deno.test("k8s: an Indexed Job (one index per job, retries per index, index from JOB_COMPLETION_INDEX, results on the claim) and a report Job, valid after a YAML round trip", () => {
  const m = k8sManifests(RUN, {
    image: "registry.example/dfkd-bench:1",
    volumeClaim: "dfkd-results",
    runPath: "cifar10-wrn40_2-wrn16_1/20261201T120000Z-abc1234",
    gpus: 1,
    parallelism: 8,
    runJobArgs: ["--data-root", "/results/data"],
    history: {},
  });
  const docs = parseAllDocuments(m.yaml).map((d) => d.toJSON());
  assert.equal(docs.length, 2);
  const [jobs, report] = docs.map((d) => new Job(d));
  // Throws on anything the Kubernetes API schema rejects.
  jobs!.validate();
  report!.validate();
  const spec = jobs!.spec!;
  assert.equal(spec.completionMode, "Indexed");
  assert.equal(spec.completions, 35);
  assert.equal(spec.parallelism, 8);
  assert.equal(spec.backoffLimitPerIndex, 3);
  const pod = spec.template.spec!;
  assert.equal(pod.restartPolicy, "Never");
  const c = pod.containers[0]!;
  assert.equal(c.image, "registry.example/dfkd-bench:1");
  assert.deepEqual(c.command, ["deno", "run", "-A", "/app/src/cli/main.ts", "run-job"]);
  assert.deepEqual(c.args, [
    "/results/cifar10-wrn40_2-wrn16_1/20261201T120000Z-abc1234",
    "--index",
    "$(JOB_COMPLETION_INDEX)",
    "--data-root",
    "/results/data",
  ]);
  const index = c.env?.find((e) => e.name === "JOB_COMPLETION_INDEX");
  assert.equal(
    index?.valueFrom?.fieldRef?.fieldPath,
    "metadata.annotations['batch.kubernetes.io/job-completion-index']",
  );
  assert.deepEqual(c.resources?.limits, { "nvidia.com/gpu": "1" });
  assert.equal(c.env?.find((e) => e.name === "DFKD_THREADS")?.value, "1");
  assert.deepEqual(c.volumeMounts, [{ name: "results", mountPath: "/results" }]);
  assert.deepEqual(pod.volumes, [{
    name: "results",
    persistentVolumeClaim: { claimName: "dfkd-results" },
  }]);
  const script = report!.spec!.template.spec!.containers[0]!.args![0]!;
  assert.match(
    script,
    /status '[^']+' --wait --mark-finished && .* report '[^']+' && .* history add/,
  );
  assert.ok((jobs!.metadata!.name ?? "").length <= 63);
  assert.ok((report!.metadata!.name ?? "").endsWith("-report"));
});

Deno.test("k8s: the schema check rejects what the API server would (so the validation above can fail)", () => {
  const m = k8sManifests(RUN, { image: "i", volumeClaim: "c", runPath: "b/r" });
  const broken = m.jobs.toJSON() as unknown as { spec: Record<string, unknown> };
  broken.spec.completions = "35";
  assert.throws(() => new Job(broken as never).validate(), /completions/);
  const noImage = m.jobs.toJSON() as unknown as {
    spec: { template: { spec: { containers: Record<string, unknown>[] } } };
  };
  delete noImage.spec.template.spec.containers[0]!.name;
  assert.throws(() => new Job(noImage as never).validate(), /name/);
});

Deno.test("k8sName: a valid object name from any run id", () => {
  assert.equal(
    k8sName("dfkd", "Tiny_ImageNet", "20261201T120000Z-abc1234"),
    "dfkd-tiny-imagenet-20261201t120000z-abc1234",
  );
  assert.ok(k8sName("x".repeat(100)).length <= 63);
});

Deno.test("slurm: the array script has one task per job (%K), requeue, the signal before the limit and its trap; the report script marks, reports and adds to the history", async () => {
  const s = slurmScripts("/shared/results/b/r 1", RUN, {
    projectDir: "/shared/dfkd-bench",
    deno: "/shared/bin/deno",
    partition: "gpu",
    gpusPerTask: 1,
    cpusPerTask: 4,
    time: "04:00:00",
    maxConcurrent: 8,
    signalSeconds: 600,
    history: { dir: "/shared/history" },
    runJobArgs: ["--backend", "wasm"],
  });
  for (
    const line of [
      "#SBATCH --array=0-34%8",
      "#SBATCH --requeue",
      "#SBATCH --partition=gpu",
      "#SBATCH --gpus-per-task=1",
      "#SBATCH --cpus-per-task=4",
      "#SBATCH --time=04:00:00",
      "#SBATCH --signal=B:USR1@600",
      "#SBATCH --open-mode=append",
      "trap on_warning USR1",
      'scontrol requeue "$SLURM_JOB_ID"',
      'export DFKD_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    ]
  ) assert.ok(s.array.includes(line), `missing ${line}\n${s.array}`);
  assert.match(
    s.array,
    /\/shared\/bin\/deno run -A \/shared\/dfkd-bench\/src\/cli\/main\.ts run-job '\/shared\/results\/b\/r 1' --index "\$SLURM_ARRAY_TASK_ID" --backend wasm &/,
  );
  assert.match(s.report, /status '\/shared\/results\/b\/r 1' --mark-finished\n.* report '/);
  assert.match(s.report, /history add '\/shared\/results\/b\/r 1' --history-dir \/shared\/history/);
  // Every K above N is no limit at all.
  const all = slurmScripts("/r", RUN, { projectDir: "/p", deno: "deno", maxConcurrent: 99 });
  assert.ok(all.array.includes("#SBATCH --array=0-34\n"));
  // Both scripts are valid bash.
  for (const script of [s.array, s.report]) {
    const check = await new Deno.Command("bash", { args: ["-n"], stdin: "piped", stderr: "piped" })
      .spawn();
    const w = check.stdin.getWriter();
    await w.write(new TextEncoder().encode(script));
    await w.close();
    const out = await check.output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  }
  assert.equal(parseSbatchId("4711;cluster\n"), "4711");
  assert.throws(() => parseSbatchId("sbatch: error: Batch job submission failed"));
});
