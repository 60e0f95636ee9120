import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultCatalogue } from "../../src/bench/default_toolkit.ts";
import { expandJobs } from "../../src/bench/job_plan.ts";
import { benchmarkJsonSchema, loadBenchmark } from "../../src/bench/spec.ts";
import { METHODS } from "../../src/methods/registry.ts";

const BENCHMARKS = new URL("../../benchmarks/", import.meta.url).pathname;

Deno.test("benchmarks/schema.json is up to date with the validation schema and registries", async () => {
  const committed = JSON.parse(await Deno.readTextFile(join(BENCHMARKS, "schema.json")));
  assert.deepStrictEqual(
    committed,
    JSON.parse(JSON.stringify(benchmarkJsonSchema(defaultCatalogue()))),
    "benchmarks/schema.json is stale: run deno task dfkd schema",
  );
});

Deno.test("every shipped benchmark is valid; paper files run every method, the others at least the three baselines", async () => {
  const expected = [
    "cifar10-resnet34-resnet18",
    "cifar10-wrn40_2-wrn16_1",
    "cifar100-resnet34-resnet18",
    "cifar100-wrn40_2-wrn16_2",
    "mnist-forgetting",
    "mnist-lenet5",
    "mnist-lenet5-nightly",
    "mnist-lenet5-quick",
    "mnist-table1",
    "smoke",
    "tiny-imagenet-resnet34-resnet18",
  ];
  const names: string[] = [];
  for await (const e of Deno.readDir(BENCHMARKS)) {
    if (e.name.endsWith(".json") && e.name !== "schema.json") names.push(e.name.slice(0, -5));
  }
  assert.deepStrictEqual(names.sort(), expected);
  for (const name of expected) {
    const path = join(BENCHMARKS, `${name}.json`);
    const { benchmark } = await loadBenchmark(path, defaultCatalogue());
    assert.equal(benchmark.name, name, `${path}: name must match the file name`);
    const methods = benchmark.methods.map((m) => m.method).sort();
    if (benchmark.tags.includes("paper") || name === "mnist-table1") {
      // A paper file and the MNIST Table 1 file run every registered method (PRE-DFKD's Table 1
      // rows and the baselines).
      assert.deepStrictEqual(methods, Object.keys(METHODS).sort(), `${name}: every method`);
    } else {
      for (const m of ["memory-bank", "no-replay", "pre-dfkd"]) {
        assert.ok(methods.includes(m), `${name}: ${m}`);
      }
    }
    assert.equal((benchmark.source as { $schema?: string }).$schema, "./schema.json");
    assert.ok(expandJobs(benchmark).length >= 3);
    if (
      name === "smoke" || name.startsWith("mnist-lenet5-") || name === "mnist-table1" ||
      benchmark.tags.includes("claim")
    ) {
      assert.ok(benchmark.scaled && benchmark.scaledLabel, `${name} must say what is scaled`);
    } else {
      assert.ok(benchmark.tags.includes("paper"));
      assert.equal(benchmark.budget.epochs, 400);
      assert.equal(benchmark.budget.iterationsPerEpoch, 36);
    }
  }
});

Deno.test("the nightly benchmark is the demo's configuration with more seeds, and the only nightly", async () => {
  const load = async (name: string) =>
    (await loadBenchmark(join(BENCHMARKS, `${name}.json`), defaultCatalogue())).benchmark;
  const nightly = await load("mnist-lenet5-nightly");
  const quick = await load("mnist-lenet5-quick");
  assert.deepStrictEqual(nightly.tags, ["nightly"]);
  assert.ok(!quick.tags.includes("nightly"), "the demo is not run by the nightly too");
  assert.ok(nightly.seeds.length >= 8, "enough seeds for the Welch test to see seed noise");
  // The same jobs but for the seeds (equal configuration hashes), so their numbers compare.
  const config = (b: typeof nightly) => {
    const { dataset, pairs, methods, budget, evaluation, scaledLabel } = b;
    return { dataset, pairs, methods, budget, evaluation, scaledLabel };
  };
  assert.deepStrictEqual(config(nightly), config(quick));
  const { findNightlyBenchmarks } = await import("../../src/tracking/nightly.ts");
  assert.deepStrictEqual((await findNightlyBenchmarks(BENCHMARKS)).map((b) => b.name), [
    "mnist-lenet5-nightly",
  ]);
});
