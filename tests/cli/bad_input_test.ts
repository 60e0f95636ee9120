/**
 * The bad-input sweep: many malformed benchmark files (`run`, `validate`) and
 * malformed results folders (`report`, `compare`), each through the CLI's
 * `main` with its output captured, and a representative few through the real
 * CLI as subprocesses. Every case must give a clear one-line-per-problem
 * error, exit code 2, no stack trace, and change nothing under the results
 * directory.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { epochsCsv } from "../../src/results/epochs_csv.ts";
import { main } from "../../src/cli/main.ts";
import { makeRun, writeResults } from "../bench/results_fixture.ts";
import { runCli } from "./run_cli.ts";

const SMOKE = JSON.parse(
  Deno.readTextFileSync(new URL("../../benchmarks/smoke.json", import.meta.url)),
) as Record<string, unknown>;

/** Every file and folder under `dir` with its content hash (files) and mtime. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const path = join(d, e.name);
      const info = Deno.statSync(path);
      if (e.isDirectory) {
        out.set(path, "dir");
        walk(path);
      } else {
        const hash = createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
        out.set(path, `${hash} ${info.mtime?.getTime()}`);
      }
    }
  };
  walk(dir);
  return out;
}

/** Runs `main(args)` in this process with console output captured. */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = { log: console.log, error: console.error, warn: console.warn };
  const out: string[] = [];
  const err: string[] = [];
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  console.warn = console.error;
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } catch (error) {
    // main must never throw: report it as what a user would see.
    return { code: -1, out: out.join("\n"), err: `error: Uncaught ${(error as Error).stack}` };
  } finally {
    Object.assign(console, saved);
  }
}

async function subprocess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

interface Case {
  name: string;
  args: string[];
  /** What the message must say. */
  expect: RegExp;
}

function assertClean(c: Case, r: { code: number; out: string; err: string }): void {
  const all = `${r.out}\n${r.err}`;
  assert.equal(r.code, 2, `${c.name}: exit ${r.code}\n${all}`);
  assert.doesNotMatch(all, /^ {4}at /m, `${c.name}: stack trace\n${all}`);
  assert.doesNotMatch(all, /error: Uncaught|looks like a bug/, `${c.name}: crash\n${all}`);
  assert.match(r.err, /^error: /m, `${c.name}: no error line\n${all}`);
  assert.match(r.err, c.expect, `${c.name}: unclear message\n${r.err}`);
}

async function sweepSetup() {
  const root = await Deno.makeTempDir();
  const results = join(root, "results");
  const inputs = join(root, "inputs");
  const cache = join(root, "cache");
  await Deno.mkdir(results);
  await Deno.mkdir(inputs);
  await Deno.mkdir(cache);
  return { root, results, inputs, cache };
}

Deno.test("bad benchmark files: run and validate give exit 2, a clear message, no stack trace, and write nothing", async () => {
  const { results, inputs, cache } = await sweepSetup();
  const base = { ...SMOKE };
  delete base.$schema;
  const files: [string, string, RegExp][] = [
    ["invalid-json.json", '{"name": "x",', /not valid JSON/],
    ["empty.json", "", /not valid JSON/],
    ["null.json", "null", /expected an object|expected object/i],
    ["array.json", "[1, 2]", /expected an object|expected object/i],
    ["string.json", '"smoke"', /expected an object|expected object/i],
    ["binary.json", "\u0000\u0001\u00ff garbage", /not valid JSON/],
    ["empty-object.json", "{}", /name: .*required|name: /],
    ["missing-pairs.json", JSON.stringify({ ...base, pairs: undefined }), /pairs: /],
    ["missing-dataset.json", JSON.stringify({ ...base, dataset: undefined }), /dataset: /],
    ["wrong-type-name.json", JSON.stringify({ ...base, name: 5 }), /name: .*\(got 5\)/],
    [
      "wrong-type-epochs.json",
      JSON.stringify({ ...base, budget: { epochs: "3" } }),
      /budget\.epochs: .*\(got "3"\)/,
    ],
    ["wrong-type-seeds.json", JSON.stringify({ ...base, seeds: "0" }), /seeds: /],
    ["wrong-type-pairs.json", JSON.stringify({ ...base, pairs: {} }), /pairs: /],
    ["wrong-type-methods.json", JSON.stringify({ ...base, methods: ["pre-dfkd"] }), /methods: /],
    [
      "wrong-type-hyper.json",
      JSON.stringify({ ...base, methods: { "pre-dfkd": { generatorLr: "fast" } } }),
      /methods\.pre-dfkd\.generatorLr: expected a number \(got "fast"\)/,
    ],
    [
      "unknown-hyper.json",
      JSON.stringify({ ...base, methods: { "pre-dfkd": { nope: 1 } } }),
      /methods\.pre-dfkd\.nope: /,
    ],
    [
      "unknown-method.json",
      JSON.stringify({ ...base, methods: { adi: {} } }),
      /methods\.adi: unknown method/,
    ],
    [
      "unknown-student.json",
      JSON.stringify({ ...base, pairs: [{ teacher: { arch: "lenet5" }, student: "resnet-99" }] }),
      /pairs\[0\]\.student: expected one of/,
    ],
    [
      "unknown-teacher.json",
      JSON.stringify({ ...base, pairs: [{ teacher: { arch: "vgg99" }, student: "lenet5-half" }] }),
      /pairs\[0\]\.teacher/,
    ],
    ["unknown-dataset.json", JSON.stringify({ ...base, dataset: "imagenet-1k" }), /dataset: /],
    ["unknown-field.json", JSON.stringify({ ...base, epochs: 3 }), /epochs/],
    ["unknown-tag.json", JSON.stringify({ ...base, tags: ["fast"] }), /tags\[0\]/],
    [
      "zero-epochs.json",
      JSON.stringify({ ...base, budget: { epochs: 0 } }),
      /budget\.epochs: must be at least 1 \(got 0\)/,
    ],
    [
      "negative-batch.json",
      JSON.stringify({ ...base, budget: { batchSize: -16 } }),
      /budget\.batchSize: .*\(got -16\)/,
    ],
    [
      "zero-iterations.json",
      JSON.stringify({ ...base, budget: { iterationsPerEpoch: 0 } }),
      /budget\.iterationsPerEpoch: /,
    ],
    [
      "fractional-steps.json",
      JSON.stringify({ ...base, budget: { studentStepsPerIteration: 1.5 } }),
      /budget\.studentStepsPerIteration: /,
    ],
    ["negative-seed.json", JSON.stringify({ ...base, seeds: [-1] }), /seeds\[0\]: /],
    ["empty-seeds.json", JSON.stringify({ ...base, seeds: [] }), /seeds: /],
    [
      "huge-epochs.json",
      '{"name":"h","dataset":"mnist","pairs":[{"teacher":{"arch":"lenet5"},"student":"lenet5-half"}],"budget":{"epochs":1e308}}',
      /budget\.epochs: /,
    ],
    [
      "infinite-batch.json",
      '{"name":"h","dataset":"mnist","pairs":[{"teacher":{"arch":"lenet5"},"student":"lenet5-half"}],"budget":{"batchSize":1e999}}',
      /budget\.batchSize: /,
    ],
    ["huge-seed.json", JSON.stringify({ ...base, seeds: [1e30] }), /seeds\[0\]: /],
    [
      "huge-subset.json",
      JSON.stringify({ ...base, evaluation: { subset: 1e15 } }),
      /evaluation\.subset: /,
    ],
    [
      "huge-hyper.json",
      JSON.stringify({ ...base, methods: { "pre-dfkd": { latentDim: 1e12 } } }),
      /latentDim/,
    ],
    [
      "zero-checkpoint.json",
      JSON.stringify({ ...base, checkpoint: { everyEpochs: 0 } }),
      /checkpoint\.everyEpochs: /,
    ],
    ["bad-name.json", JSON.stringify({ ...base, name: "../escape" }), /name: /],
    [
      "zero-teacher-epochs.json",
      JSON.stringify({
        ...base,
        pairs: [{ teacher: { arch: "lenet5", recipe: { epochs: 0 } }, student: "lenet5-half" }],
      }),
      /pairs\[0\]\.teacher\.recipe\.epochs: /,
    ],
    [
      "reserved-name.json",
      JSON.stringify({ ...base, name: "history" }),
      /name: "history" is reserved/,
    ],
    [
      "duplicate-key.json",
      '{"name":"d","dataset":"mnist","pairs":[{"teacher":{"arch":"lenet5"},"student":"lenet5-half"}],"budget":{"epochs":3,"epochs":300}}',
      /budget: the key "epochs" appears twice \(JSON keeps only the last one silently\)/,
    ],
    [
      "long-recipe-value.json",
      JSON.stringify({
        ...base,
        pairs: [{
          teacher: { arch: "lenet5", recipe: { epochs: "e".repeat(5000) } },
          student: "lenet5-half",
        }],
      }),
      /recipe\.epochs: .*got "e{50,60}\.\.\. \(5002 characters\)\)/,
    ],
  ];
  const cases: Case[] = [];
  for (const [name, text, expect] of files) {
    const path = join(inputs, name);
    await Deno.writeTextFile(path, text);
    const common = ["--out", results, "--cache-dir", cache, "--backend", "cpu"];
    cases.push({ name: `run ${name}`, args: ["run", path, ...common], expect });
    cases.push({ name: `validate ${name}`, args: ["validate", path], expect });
  }
  // Settings that pass the schema but cannot fit in a wasm job's 4 GiB: refused by the memory
  // estimate (from shapes, before anything is allocated), naming the fields to lower.
  const tooBig: [string, string, RegExp][] = [
    [
      "huge-batch.json",
      JSON.stringify({ ...base, budget: { ...(base.budget as object), batchSize: 65536 } }),
      /methods\.pre-dfkd: needs at least [\d.]+ GiB of memory, more than the 4\.0 GiB a wasm job can address: .*budget\.batchSize/,
    ],
    [
      "wide-generator.json",
      JSON.stringify({
        ...base,
        hyperparameters: { ...(base.hyperparameters as object), generatorWidth: 64 },
      }),
      /methods\.no-replay: needs at least [\d.]+ GiB .*generator [\d.]+ GiB \(set by generatorWidth/,
    ],
  ];
  for (const [name, text, expect] of tooBig) {
    const path = join(inputs, name);
    await Deno.writeTextFile(path, text);
    const common = ["--out", results, "--cache-dir", cache, "--backend", "wasm"];
    cases.push({ name: `run ${name}`, args: ["run", path, ...common], expect });
    cases.push({ name: `validate ${name}`, args: ["validate", path], expect });
  }
  const smoke = join(inputs, "smoke.json");
  await Deno.writeTextFile(smoke, JSON.stringify(SMOKE));
  const missingTeacher = join(inputs, "missing-teacher.json");
  await Deno.writeTextFile(
    missingTeacher,
    JSON.stringify({
      ...base,
      pairs: [{ teacher: { path: "nowhere/model.json" }, student: "lenet5-half" }],
    }),
  );
  cases.push(
    {
      name: "run missing file",
      args: ["run", join(inputs, "nope.json"), "--out", results],
      expect: /nope\.json: cannot read the benchmark file: no such file/,
    },
    {
      name: "run directory",
      args: ["run", inputs, "--out", results],
      expect: /cannot read the benchmark file: is a folder, not a benchmark file/,
    },
    {
      name: "validate directory",
      args: ["validate", inputs],
      expect: /is a folder, not a benchmark file/,
    },
    {
      name: "run teacher file missing",
      args: ["run", missingTeacher, "--out", results, "--cache-dir", cache, "--backend", "cpu"],
      expect: /nowhere\/model\.json/,
    },
    {
      name: "validate teacher file missing",
      args: ["validate", missingTeacher],
      expect:
        /pairs: .*: teacher: .*nowhere\/model\.json: cannot read the teacher \(no such file\)/,
    },
    {
      name: "run --resume of nothing",
      args: ["run", smoke, "--out", results, "--backend", "cpu", "--resume", "latest"],
      expect: /holds no run of smoke to resume/,
    },
    {
      name: "run --resume bad id",
      args: ["run", smoke, "--out", results, "--resume", "../../etc"],
      expect: /--resume needs a run id/,
    },
    {
      name: "run --resume two files",
      args: ["run", smoke, smoke, "--out", results, "--resume", "latest"],
      expect: /name exactly one benchmark file/,
    },
    {
      name: "run --jobs huge",
      args: ["run", smoke, "--out", results, "--jobs", "1e400"],
      expect: /--jobs/,
    },
    { name: "run unknown flag", args: ["run", smoke, "--epochs", "3"], expect: /epochs/ },
    {
      name: "run --seeds -1",
      args: ["run", smoke, "--out", results, "--seeds", "-1"],
      expect: /--seeds must be whole numbers from 0 to 2147483647 .*\(got "-1"\)/,
    },
    {
      name: "run --seeds beyond a file's bound",
      args: ["run", smoke, "--out", results, "--seeds", "2147483648"],
      expect: /--seeds must be whole numbers from 0 to 2147483647 .*\(got "2147483648"\)/,
    },
  );

  const before = snapshot(results);
  for (const c of cases) {
    assertClean(c, await inProcess(c.args));
    assert.deepStrictEqual(snapshot(results), before, `${c.name} changed the results folder`);
  }
  assert.deepStrictEqual([...Deno.readDirSync(cache)], [], "no teacher was trained");
});

Deno.test("malformed results folders: report and compare give exit 2, a clear message, no stack trace, and change nothing", async () => {
  const { results } = await sweepSetup();
  const good = await writeResults(results, {
    runId: "20260101T000000Z-0000000",
    jobs: [{ method: "pre-dfkd", seed: 0, accuracies: [0.5, 0.6] }],
  });
  const { run, jobs } = makeRun({
    runId: "x",
    jobs: [{ method: "pre-dfkd", seed: 0, accuracies: [0.5, 0.6] }],
  });
  const job = jobs[0]!;
  const folder = async (name: string, files: Record<string, string>) => {
    const dir = join(results, "bad", name);
    await Deno.mkdir(join(dir, "jobs"), { recursive: true });
    for (const [path, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, path), text);
    }
    return dir;
  };
  const runJson = (over: Record<string, unknown>) => JSON.stringify({ ...run, ...over });
  const jobPath = `jobs/${job.id}.json`;
  const csvPath = `jobs/${job.id}.csv`;
  const jobJson = (over: Record<string, unknown>) => JSON.stringify({ ...job, ...over });
  const csv = epochsCsv(job);
  const dirs: [string, string, RegExp][] = [
    [
      "empty",
      await folder("empty", {}),
      /run\.json(: missing; this is not a run folder| \(expected)/,
    ],
    [
      "run.json invalid",
      await folder("run-invalid", { "run.json": "{ oops" }),
      /run\.json: not valid JSON/,
    ],
    ["run.json empty", await folder("run-empty", { "run.json": "" }), /run\.json: not valid JSON/],
    [
      "run.json version",
      await folder("run-version", { "run.json": runJson({ schema: "dfkd-bench/run@9" }) }),
      /run\.json: schema: /,
    ],
    [
      "run.json wrong types",
      await folder("run-types", { "run.json": runJson({ jobs: "all" }) }),
      /run\.json: jobs: /,
    ],
    [
      "run.json bad job id",
      await folder("run-job-id", { "run.json": runJson({ jobs: ["../../x"] }) }),
      /invalid job id/,
    ],
    [
      "job invalid",
      await folder("job-invalid", { "run.json": runJson({}), [jobPath]: "{" }),
      /\.json: not valid JSON/,
    ],
    [
      "job version",
      await folder("job-version", {
        "run.json": runJson({}),
        [jobPath]: jobJson({ schema: "dfkd-bench/job@0" }),
      }),
      /schema: /,
    ],
    [
      "job missing field",
      await folder("job-missing", {
        "run.json": runJson({}),
        [jobPath]: jobJson({ epochs: undefined }),
      }),
      /epochs: /,
    ],
    [
      "job accuracy out of range",
      await folder("job-range", {
        "run.json": runJson({}),
        [jobPath]: jobJson({
          epochs: [{ ...job.epochs[0], accuracy: 7 }],
        }),
      }),
      /epochs\[0\]\.accuracy: /,
    ],
    [
      "job of another id",
      await folder("job-id", { "run.json": runJson({}), [jobPath]: jobJson({ id: "other" }) }),
      /id: expected/,
    ],
    [
      "truncated CSV",
      await folder("csv-truncated", {
        "run.json": runJson({}),
        [jobPath]: JSON.stringify(job),
        [csvPath]: csv.slice(0, Math.floor(csv.length / 2)),
      }),
      /\.csv does not match its record .*\.json/,
    ],
  ];
  const file = join(results, "not-a-folder.txt");
  await Deno.writeTextFile(file, "hello");
  const cases: Case[] = [];
  for (const [name, dir, expect] of dirs) {
    cases.push({ name: `report ${name}`, args: ["report", dir], expect });
    cases.push({ name: `compare ${name} (candidate)`, args: ["compare", good, dir], expect });
    cases.push({ name: `compare ${name} (baseline)`, args: ["compare", dir, good], expect });
  }
  cases.push(
    {
      name: "report missing",
      args: ["report", join(results, "nope")],
      expect: /no such results folder/,
    },
    { name: "report file", args: ["report", file], expect: /not a folder/ },
    { name: "compare missing", args: ["compare", good, join(results, "nope")], expect: /nope/ },
    { name: "compare file", args: ["compare", file, good], expect: /not a folder/ },
    {
      name: "compare bad history ref",
      args: ["compare", "history:nothing@latest", good, "--history-dir", join(results, "h")],
      expect: /no history for benchmark "nothing"/,
    },
  );
  const before = snapshot(results);
  for (const c of cases) {
    assertClean(c, await inProcess(c.args));
    assert.deepStrictEqual(snapshot(results), before, `${c.name} changed the results folder`);
  }
});

Deno.test("bad input through the real CLI (subprocesses): exit 2, one clear message, no stack trace", async () => {
  const { results, inputs } = await sweepSetup();
  const invalid = join(inputs, "invalid.json");
  await Deno.writeTextFile(invalid, '{"name": ');
  const negative = join(inputs, "negative.json");
  await Deno.writeTextFile(negative, JSON.stringify({ ...SMOKE, budget: { epochs: -3 } }));
  const empty = join(results, "empty-run");
  await Deno.mkdir(empty);
  const cases: Case[] = [
    {
      name: "run invalid JSON",
      args: ["run", invalid, "--out", results],
      expect: /not valid JSON/,
    },
    {
      name: "run negative budget",
      args: ["run", negative, "--out", results],
      expect: /budget\.epochs: must be at least 1 \(got -3\)/,
    },
    { name: "run folder", args: ["run", inputs, "--out", results], expect: /is a folder/ },
    { name: "report empty folder", args: ["report", empty], expect: /run\.json: missing/ },
    { name: "compare empty folders", args: ["compare", empty, empty], expect: /has no run\.json/ },
  ];
  const before = snapshot(results);
  const outcomes = await Promise.all(cases.map((c) => subprocess(c.args)));
  cases.forEach((c, i) => assertClean(c, outcomes[i]!));
  assert.deepStrictEqual(snapshot(results), before);
});

Deno.test("unbounded and escaping reads (subprocesses): devices, pipes and ../ weight paths are refused at once", async () => {
  const { results, inputs, cache } = await sweepSetup();
  const fifo = join(inputs, "pipe.json");
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  // A teacher folder whose model.json is /dev/zero, one whose weights are, one naming ../ weights.
  const zeroModel = join(inputs, "zero-model");
  await Deno.mkdir(zeroModel);
  await Deno.symlink("/dev/zero", join(zeroModel, "model.json"));
  const manifest = (path: string) =>
    JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: [path], weights: [] }] });
  const zeroWeights = join(inputs, "zero-weights");
  await Deno.mkdir(zeroWeights);
  await Deno.writeTextFile(join(zeroWeights, "model.json"), manifest("weights.bin"));
  await Deno.symlink("/dev/zero", join(zeroWeights, "weights.bin"));
  const escaping = join(inputs, "escaping");
  await Deno.mkdir(escaping);
  await Deno.writeTextFile(join(escaping, "model.json"), manifest("../outside.bin"));
  await Deno.writeFile(join(inputs, "outside.bin"), new Uint8Array(16));
  const zeroTeacher = join(inputs, "zero-teacher.json");
  await Deno.writeTextFile(
    zeroTeacher,
    JSON.stringify({ ...SMOKE, pairs: [{ teacher: { path: zeroModel }, student: "lenet5-half" }] }),
  );
  const common = ["--out", results, "--cache-dir", cache, "--backend", "cpu"];
  const cases: Case[] = [
    { name: "validate /dev/zero", args: ["validate", "/dev/zero"], expect: /character device/ },
    { name: "run a named pipe", args: ["run", fifo, ...common], expect: /pipe\.json.*named pipe/ },
    { name: "run teacher /dev/zero", args: ["run", zeroTeacher, ...common], expect: /device/ },
    {
      name: "validate teacher /dev/zero",
      args: ["validate", zeroTeacher],
      expect: /teacher: .*model\.json: cannot read the teacher \(is a character device/,
    },
    {
      name: "teacher eval model.json /dev/zero",
      args: ["teacher", "eval", zeroModel, "mnist", "--backend", "cpu"],
      expect: /model\.json.*character device/,
    },
    {
      name: "teacher eval weights /dev/zero",
      args: ["teacher", "eval", zeroWeights, "mnist", "--backend", "cpu"],
      expect: /weights\.bin.*character device/,
    },
    {
      name: "teacher eval ../ weights",
      args: ["teacher", "eval", escaping, "mnist", "--backend", "cpu"],
      expect: /"\.\.\/outside\.bin" leads outside its folder/,
    },
  ];
  const before = snapshot(results);
  // Killed after 30 s: the old code read /dev/zero until memory ran out and waited on the pipe.
  const outcomes = await Promise.all(
    cases.map((c) =>
      runCli(c.args, { timeoutMs: 30_000 }).then((r) => ({
        code: r.code,
        out: r.stdout,
        err: r.stderr,
      }))
    ),
  );
  cases.forEach((c, i) => assertClean(c, outcomes[i]!));
  assert.deepStrictEqual(snapshot(results), before);
});
