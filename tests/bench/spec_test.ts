import assert from "node:assert/strict";
import { join } from "node:path";
import {
  applySmoke,
  loadBenchmark,
  readBenchmark,
  SPEC_DEFAULTS,
  validateBenchmark,
} from "../../src/bench/spec.ts";
import { UserError } from "../../src/util/errors.ts";
import { minimalFile, TEST_CATALOGUE } from "./test_catalogue.ts";

function problems(json: unknown): string[] {
  const r = validateBenchmark(json, TEST_CATALOGUE);
  assert.ok(!r.ok, "expected the file to be rejected");
  return r.problems.map((p) => `${p.path}: ${p.message}`);
}

function withFields(fields: Record<string, unknown>): Record<string, unknown> {
  return { ...minimalFile(), ...fields };
}

Deno.test("a minimal file gets the spec's defaults", () => {
  const r = validateBenchmark(minimalFile(), TEST_CATALOGUE);
  assert.ok(r.ok);
  assert.deepStrictEqual(r.file.budget, SPEC_DEFAULTS.budget);
  assert.deepStrictEqual(r.file.seeds, [0, 1, 2]);
  assert.deepStrictEqual(Object.keys(r.file.methods), ["pre-dfkd", "no-replay", "memory-bank"]);
  assert.deepStrictEqual(r.file.regression, { minEffect: 1, minTimeEffect: 10, alpha: 0.05 });
  assert.deepStrictEqual(r.file.scaled, false);
  assert.deepStrictEqual(r.file.evaluation, { batchSize: 500 });
});

Deno.test("each kind of bad field gives its path, what is wrong and the value", () => {
  const cases: [unknown, string][] = [
    [withFields({ bogus: 1 }), "bogus: unknown field (expected one of: $schema, name,"],
    [withFields({ name: "Has Spaces" }), "name: the benchmark name must use lower-case"],
    [
      withFields({ dataset: "imagenet" }),
      'dataset: expected one of "mnist", "cifar10" (got "imagenet")',
    ],
    [withFields({ pairs: [] }), "pairs: must have at least 1 entry (got an array of 0)"],
    [
      withFields({ pairs: [{ teacher: { arch: "vgg" }, student: "lenet5" }] }),
      'pairs[0].teacher.arch: expected one of "lenet5", "lenet5-half", "resnet18", "resnet34" (got "vgg")',
    ],
    [
      withFields({ pairs: [{ teacher: {}, student: "lenet5" }] }),
      "pairs[0].teacher: needs either arch (with an optional recipe) or path",
    ],
    [
      withFields({ pairs: [{ teacher: { path: "t.json", recipe: {} }, student: "lenet5" }] }),
      "pairs[0].teacher.recipe: a teacher loaded from path has no recipe",
    ],
    [withFields({ pairs: [{ teacher: { arch: "lenet5" } }] }), "pairs[0].student: is required"],
    [
      withFields({ methods: { dafl: {} } }),
      "methods.dafl: unknown method (expected one of: pre-dfkd, no-replay, memory-bank) (got an object)",
    ],
    [withFields({ methods: {} }), "methods: must name at least one method"],
    [
      withFields({ methods: { "pre-dfkd": { lr: 0.1 } } }),
      "methods.pre-dfkd.lr: unknown hyperparameter of pre-dfkd (expected one of: generatorLr, studentOptimizer, selfReplay) (got 0.1)",
    ],
    [
      withFields({ methods: { "pre-dfkd": { generatorLr: "fast" } } }),
      'methods.pre-dfkd.generatorLr: expected a number (got "fast")',
    ],
    [
      withFields({ methods: { "pre-dfkd": { selfReplay: "yes" } } }),
      'methods.pre-dfkd.selfReplay: expected true or false (got "yes")',
    ],
    [
      withFields({ methods: { "pre-dfkd": { studentOptimizer: 1 } } }),
      "methods.pre-dfkd.studentOptimizer: expected a string (got 1)",
    ],
    [
      withFields({ methods: { "no-replay": {} }, hyperparameters: { capacity: 5 } }),
      "hyperparameters.capacity: is not a hyperparameter of any method this file runs (no-replay) (got 5)",
    ],
    [withFields({ hyperparameters: { nope: 5 } }), "hyperparameters.nope: unknown hyperparameter"],
    [withFields({ budget: { epochs: 0 } }), "budget.epochs: must be at least 1 (got 0)"],
    [withFields({ budget: { epochs: -3 } }), "budget.epochs: must be at least 1 (got -3)"],
    [
      withFields({ budget: { batchSize: 12.5 } }),
      "budget.batchSize: expected a whole number (got 12.5)",
    ],
    [
      withFields({ budget: { epochs: "ten" } }),
      'budget.epochs: expected a number (got "ten")',
    ],
    [
      withFields({ budget: { epochs: 1e12 } }),
      "budget.epochs: must be at most 100000 (got 1000000000000)",
    ],
    [
      withFields({ budget: { epoch: 3 } }),
      "budget.epoch: unknown budget field (expected one of: epochs,",
    ],
    [withFields({ seeds: [] }), "seeds: must have at least 1 entry"],
    [withFields({ seeds: [1, 1] }), "seeds: must not repeat a seed"],
    [withFields({ seeds: [-1] }), "seeds[0]: must be at least 0 (got -1)"],
    [withFields({ seeds: "0,1" }), 'seeds: expected an array (got "0,1")'],
    [
      withFields({ tags: ["nightyl"] }),
      'tags[0]: expected one of "quick", "paper", "nightly", "smoke", "claim" (got "nightyl")',
    ],
    [
      withFields({ scaled: 3 }),
      "scaled: expected true, false or a label saying what is scaled (got 3)",
    ],
    [
      withFields({ regression: { minEffect: -1 } }),
      "regression.minEffect: must be at least 0 (got -1)",
    ],
    [
      withFields({ regression: { alpha: 1 } }),
      "regression.alpha: must be less than 1 (got 1)",
    ],
    [
      withFields({ regression: { minTimeEffect: -5 } }),
      "regression.minTimeEffect: must be at least 0 (got -5)",
    ],
    [
      withFields({ checkpoint: { everyEpochs: 0 } }),
      "checkpoint.everyEpochs: must be at least 1 (got 0)",
    ],
    [withFields({ evaluation: { subset: 0 } }), "evaluation.subset: must be at least 1 (got 0)"],
    [
      withFields({ smoke: { budget: { epochs: 0 } } }),
      "smoke.budget.epochs: must be at least 1 (got 0)",
    ],
    [
      withFields({
        pairs: [
          { teacher: { arch: "lenet5" }, student: "lenet5-half" },
          { teacher: { arch: "lenet5" }, student: "lenet5-half" },
        ],
      }),
      'pairs[1].id: pair id repeats pairs[0]\'s; give each pair a distinct id (got "lenet5-lenet5-half")',
    ],
    [
      withFields({ dataset: "cifar10" }),
      'pairs[0].teacher.arch: cannot take cifar10\'s 32x32x3 images: takes 1 channel (got "lenet5")',
    ],
    [
      withFields({
        pairs: [{ teacher: { arch: "lenet5", recipe: { epochs: 0 } }, student: "lenet5" }],
      }),
      "pairs[0].teacher.recipe.epochs: must be a whole number of at least 1 (got 0)",
    ],
    [
      withFields({ smoke: { teacherRecipe: { epochs: -1 } } }),
      "smoke.teacherRecipe.epochs: must be a whole number of at least 1 (got -1)",
    ],
    [{}, "name: is required (expected a string)"],
    [[], ": expected an object (got an array of 0)"],
  ];
  for (const [json, expected] of cases) {
    const lines = problems(json);
    assert.ok(
      lines.some((l) => l.startsWith(expected)),
      `expected a problem starting with\n  ${expected}\ngot\n  ${lines.join("\n  ")}`,
    );
  }
});

Deno.test("every problem of a file is reported at once", () => {
  const lines = problems(withFields({
    dataset: "x",
    budget: { epochs: 0, batchSize: -1 },
    seeds: [0.5],
    bogus: true,
  }));
  assert.deepStrictEqual(lines.length, 5, lines.join("\n"));
});

Deno.test("methods and hyperparameters resolve: plug-in defaults, shared, then per-method overrides", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "b.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify(withFields({
      methods: { "memory-bank": { capacity: 3 }, "pre-dfkd": { generatorLr: 0.5 } },
      hyperparameters: { generatorLr: 0.01, studentOptimizer: "adam" },
      pairs: [{ id: "own", teacher: { path: "teachers/t.json" }, student: "lenet5" }],
      scaled: "budget / 10",
      budget: { epochs: 5 },
      smoke: { budget: { epochs: 1 }, hyperparameters: { capacity: 1 } },
    })),
  );
  const { benchmark: b, file } = await loadBenchmark(path, TEST_CATALOGUE);
  assert.deepStrictEqual(b.methods.map((m) => m.method), ["memory-bank", "pre-dfkd"]);
  assert.deepStrictEqual(b.methods[0]!.hyper, { generatorLr: 0.01, capacity: 3 });
  assert.deepStrictEqual(b.methods[0]!.overrides, { generatorLr: 0.01, capacity: 3 });
  assert.deepStrictEqual(b.methods[1]!.hyper, {
    generatorLr: 0.5,
    studentOptimizer: "adam",
    selfReplay: true,
  });
  assert.deepStrictEqual(b.pairs[0]!.teacher, { kind: "path", path: join(dir, "teachers/t.json") });
  assert.deepStrictEqual(b.budget, { ...SPEC_DEFAULTS.budget, epochs: 5 });
  assert.ok(b.scaled);
  assert.deepStrictEqual(b.scaledLabel, "budget / 10");
  const smoke = applySmoke(b, file, TEST_CATALOGUE);
  assert.deepStrictEqual(smoke.budget, {
    epochs: 1,
    iterationsPerEpoch: 2,
    batchSize: 16,
    studentStepsPerIteration: 2,
  });
  assert.deepStrictEqual(smoke.seeds, [0]);
  assert.deepStrictEqual(smoke.methods[0]!.hyper.capacity, 1);
  assert.ok(smoke.smoke && smoke.scaled);
  assert.deepStrictEqual(smoke.evaluation.subset, 500);
});

Deno.test("unreadable and invalid JSON files are clear errors with exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  const missing = join(dir, "missing.json");
  const r1 = await readBenchmark(missing, TEST_CATALOGUE);
  assert.ok(!r1.ok);
  assert.deepStrictEqual(r1.lines, [`${missing}: cannot read the benchmark file: no such file`]);
  const bad = join(dir, "bad.json");
  await Deno.writeTextFile(bad, '{ "name": "x",, }');
  const r2 = await readBenchmark(bad, TEST_CATALOGUE);
  assert.ok(!r2.ok);
  assert.match(r2.lines[0]!, /bad\.json: not valid JSON: /);
  const invalid = join(dir, "invalid.json");
  await Deno.writeTextFile(invalid, JSON.stringify(withFields({ budget: { epochs: 0 } })));
  const error = await loadBenchmark(invalid, TEST_CATALOGUE).then(() => undefined, (e) => e);
  assert.ok(error instanceof UserError);
  assert.deepStrictEqual(error.exitCode, 2);
  assert.deepStrictEqual(error.message, `${invalid}: budget.epochs: must be at least 1 (got 0)`);
});
