/**
 * A benchmark file whose teacher is a PyTorch checkpoint runs end to end
 * (`--smoke`): the checkpoint is converted once into the teacher cache,
 * evaluated, and its file name and SHA-256 are in the run record, every job
 * record and the report.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { resolveBenchmark, validateBenchmark } from "../../src/bench/spec.ts";
import { main } from "../../src/cli/main.ts";
import { withTempDir } from "../temp_dir.ts";
import { minimalFile, TEST_CATALOGUE } from "./test_catalogue.ts";

const CHECKPOINT =
  new URL("../models/pytorch/fixtures/lenet5_half_module_legacy.pth", import.meta.url)
    .pathname;

Deno.test("a benchmark file with a pytorch teacher runs with --smoke and its report names the file's hash", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(CHECKPOINT, join(dir, "teacher.pth"));
    const sha = createHash("sha256").update(await Deno.readFile(CHECKPOINT)).digest("hex");
    await Deno.writeTextFile(
      join(dir, "bench.json"),
      JSON.stringify({
        name: "pytorch-teacher",
        dataset: "mnist",
        pairs: [{
          teacher: { pytorch: "teacher.pth", arch: "lenet5-half" },
          student: "lenet5-half",
        }],
        methods: { "no-replay": {} },
        hyperparameters: { latentDim: 16, generatorWidth: 0.125 },
        seeds: [0],
        budget: { epochs: 1, iterationsPerEpoch: 1, batchSize: 8 },
        smoke: {
          budget: { epochs: 1, iterationsPerEpoch: 1, batchSize: 8 },
          evaluation: { subset: 100 },
        },
      }),
    );
    const cache = join(dir, "cache");
    const out = join(dir, "out");
    const args = ["run", join(dir, "bench.json"), "--smoke", "--out", out, "--cache-dir", cache];
    assert.equal(await main([...args, "--backend", "wasm", "--jobs", "1"]), 0);
    const [runId] = [...Deno.readDirSync(join(out, "pytorch-teacher"))].map((e) => e.name);
    const runDir = join(out, "pytorch-teacher", runId!);
    const run = JSON.parse(await Deno.readTextFile(join(runDir, "run.json")));
    assert.equal(run.teachers.length, 1);
    const teacher = run.teachers[0];
    assert.equal(teacher.source, "pytorch");
    assert.equal(teacher.file, "teacher.pth");
    assert.equal(teacher.hash, sha);
    assert.ok(teacher.path.startsWith(join(cache, "pytorch")));
    for (const id of run.jobs as string[]) {
      const job = JSON.parse(await Deno.readTextFile(join(runDir, "jobs", `${id}.json`)));
      assert.equal(job.status, "completed", job.error);
      assert.deepEqual(job.teacherFile, { name: "teacher.pth", sha256: sha });
      assert.equal(job.config.teacher.hash, sha);
      assert.equal(job.teacherAccuracy, teacher.testAccuracy);
    }
    const report = await Deno.readTextFile(join(runDir, "report.md"));
    assert.match(
      report,
      new RegExp(`teacher\\.pth sha256 ${sha}, lenet5-half, \\d+\\.\\d+% test accuracy`),
    );
    // Converted once: the cache holds one imported teacher.
    assert.equal([...Deno.readDirSync(join(cache, "pytorch"))].length, 1);
  });
});

Deno.test("a pytorch teacher needs arch, has no path or recipe, and resolves against the file's folder", () => {
  const teacherFile = (teacher: unknown) => ({
    ...minimalFile(),
    pairs: [{ teacher, student: "lenet5-half" }],
  });
  const problems = (teacher: unknown) => {
    const r = validateBenchmark(teacherFile(teacher), TEST_CATALOGUE);
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };
  assert.match(
    problems({ pytorch: "t.pth" }).join("\n"),
    /pairs\[0\]\.teacher: a pytorch teacher needs arch/,
  );
  assert.match(
    problems({ pytorch: "t.pth", arch: "lenet5", recipe: {} }).join("\n"),
    /pairs\[0\]\.teacher\.recipe: a pytorch teacher has no recipe/,
  );
  assert.match(
    problems({ pytorch: "t.pth", arch: "vgg" }).join("\n"),
    /pairs\[0\]\.teacher\.arch: expected one of/,
  );
  const r = validateBenchmark(teacherFile({ pytorch: "t.pth", arch: "lenet5" }), TEST_CATALOGUE);
  assert.ok(r.ok);
  const resolved = resolveBenchmark(r.file, "/data/bench/b.json", TEST_CATALOGUE, {});
  assert.deepEqual(resolved.pairs[0]!.teacher, {
    kind: "pytorch",
    file: "/data/bench/t.pth",
    arch: "lenet5",
  });
  assert.equal(resolved.pairs[0]!.id, "lenet5-lenet5-half");
});

Deno.test("validate names a pytorch teacher file that is not there", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "bench.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "missing-teacher",
        dataset: "mnist",
        pairs: [{ teacher: { pytorch: "gone.pth", arch: "lenet5-half" }, student: "lenet5-half" }],
        methods: { "no-replay": {} },
        // The paper's batch of 1024 does not fit a wasm job (validate's memory estimate).
        budget: { batchSize: 64 },
      }),
    );
    const errors: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(" "));
    try {
      assert.equal(await main(["validate", file]), 2);
    } finally {
      console.error = original;
    }
    assert.match(
      errors.join("\n"),
      /pairs\[0\]\.teacher\.pytorch: "gone\.pth" is not a readable file/,
    );
    await Deno.copyFile(CHECKPOINT, join(dir, "gone.pth"));
    assert.equal(await main(["validate", file]), 0);
  });
});
