import assert from "node:assert/strict";
import { join } from "node:path";
import { loadBenchmark } from "../../src/bench/spec.ts";
import { HyperReader, type HyperTable, resolveHyperparameters } from "../../src/methods/hyper.ts";
import { PRE_DFKD_HYPERPARAMETERS, preDfkd } from "../../src/methods/pre_dfkd.ts";
import { minimalFile, TEST_CATALOGUE } from "../bench/test_catalogue.ts";
import { withTempDir } from "../temp_dir.ts";

// The release derives the VAE's learning rate (lr_G / 40), the latent step's (lr_G) and the
// latent step's loss weights (ie, oh) from the generator's: overriding those moves them along.
const LINKED = ["vaeLr", "latentLr", "latentEntropyWeight", "latentOneHotWeight"];

Deno.test("linked pre-dfkd hyperparameters follow generatorLr, entropyWeight and oneHotWeight unless set", () => {
  const table: HyperTable = PRE_DFKD_HYPERPARAMETERS;
  const defaults = resolveHyperparameters(table, {});
  assert.deepStrictEqual(LINKED.map((n) => defaults[n]), [0.0005, 0.02, 5, 1]);
  const moved = resolveHyperparameters(table, {
    generatorLr: 0.04,
    entropyWeight: 3,
    oneHotWeight: 2,
  });
  assert.deepStrictEqual(LINKED.map((n) => moved[n]), [0.001, 0.04, 3, 2]);
  const pinned = resolveHyperparameters(table, { generatorLr: 0.04, vaeLr: 0.01, latentLr: 0.5 });
  assert.deepStrictEqual(LINKED.map((n) => pinned[n]), [0.01, 0.5, 5, 1]);
  // The reader (partial values, as the methods' tests pass them) resolves the same way.
  const h = new HyperReader("pre-dfkd", table, { generatorLr: 0.04, entropyWeight: 3 });
  assert.deepStrictEqual(LINKED.map((n) => h.number(n)), [0.001, 0.04, 3, 1]);
  for (const name of LINKED) {
    assert.ok(table[name]!.follows !== undefined, name);
    assert.match(table[name]!.description, /follows \w+/, name);
  }
});

Deno.test("a benchmark file's shared generatorLr moves pre-dfkd's VAE learning rate", async () => {
  const catalogue = {
    ...TEST_CATALOGUE,
    methods: {
      "pre-dfkd": { description: preDfkd.description, hyperparameters: PRE_DFKD_HYPERPARAMETERS },
    },
  };
  await withTempDir(async (dir) => {
    const path = join(dir, "b.json");
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        ...minimalFile(),
        methods: { "pre-dfkd": { entropyWeight: 4 } },
        hyperparameters: { generatorLr: 0.08 },
      }),
    );
    const { benchmark } = await loadBenchmark(path, catalogue);
    const m = benchmark.methods[0]!;
    assert.deepStrictEqual(LINKED.map((n) => m.hyper[n]), [0.002, 0.08, 4, 1]);
    assert.deepStrictEqual(m.overrides, { generatorLr: 0.08, entropyWeight: 4 });
  });
});
