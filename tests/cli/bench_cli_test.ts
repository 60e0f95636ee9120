import assert from "node:assert/strict";
import { join } from "node:path";
import { METHODS } from "../../src/methods/registry.ts";
import { runCli } from "./run_cli.ts";

const BENCHMARKS = new URL("../../benchmarks/", import.meta.url).pathname;

const dfkd = runCli;

Deno.test("validate: every problem as file: field: message (got X), exit 2, no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  const bad = join(dir, "bad.json");
  await Deno.writeTextFile(
    bad,
    JSON.stringify({
      name: "bad",
      dataset: "mnist",
      pairs: [{ teacher: { arch: "lenet5", recipe: { epochs: 0 } }, student: "resnet-99" }],
      methods: { "pre-dfkd": { generatorLr: "fast" }, adi: {} },
      budget: { epochs: 0 },
    }),
  );
  const r = await dfkd([
    "validate",
    join(BENCHMARKS, "schema.json"),
    join(BENCHMARKS, "smoke.json"),
    bad,
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /smoke\.json: ok \(smoke: 3 jobs/);
  // `validate benchmarks/*.json` passes over the generated schema beside the files.
  assert.match(r.stdout, /schema\.json: skipped \(the generated JSON Schema/);
  assert.doesNotMatch(r.stderr, /schema\.json/);
  for (
    const line of [
      `${bad}: pairs[0].student: expected one of`,
      `${bad}: methods.pre-dfkd.generatorLr: expected a number (got "fast")`,
      `${bad}: methods.adi: unknown method (expected one of: ${Object.keys(METHODS).join(", ")})`,
      `${bad}: budget.epochs: must be at least 1 (got 0)`,
    ]
  ) {
    assert.ok(r.stderr.includes(line), `missing "${line}" in:\n${r.stderr}`);
  }
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

Deno.test("run: a missing dataset gives the dataset's error and writes nothing", async () => {
  const out = await Deno.makeTempDir();
  const empty = await Deno.makeTempDir();
  const r = await dfkd([
    "run",
    join(BENCHMARKS, "cifar10-resnet34-resnet18.json"),
    "--smoke",
    "--data-root",
    empty,
    "--out",
    out,
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error: .*cifar/i);
  assert.ok(r.stderr.includes(empty), r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.deepStrictEqual([...Deno.readDirSync(out)], []);
});

Deno.test("run: bad flags are clear errors with exit 2", async () => {
  const smoke = join(BENCHMARKS, "smoke.json");
  const cases: [string[], RegExp][] = [
    [["run", smoke, "--seeds", "a"], /--seeds must be whole numbers/],
    [["run", smoke, "--jobs", "0"], /--jobs must be a whole number of at least 1/],
    [["run", smoke, "--methods", "dafl"], /--methods: "dafl" is not in .*smoke\.json/],
    [["run", smoke, "--backend", "gpu"], /--backend must be auto or one of/],
    [["run"], /Name at least one benchmark file/],
  ];
  for (const [args, pattern] of cases) {
    const r = await dfkd(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});
