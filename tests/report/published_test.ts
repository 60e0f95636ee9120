import assert from "node:assert/strict";
import {
  PUBLISHED_SOURCE,
  publishedFor,
  publishedRowsBeside,
  UNPUBLISHED,
} from "../../src/report/published.ts";

Deno.test("published rows sit only beside the method that is that method; no-replay gets none", () => {
  for (const dataset of ["cifar10", "cifar100"]) {
    const table = publishedFor(dataset, "resnet34", "resnet18")!;
    assert.equal(table.source, PUBLISHED_SOURCE);
    assert.deepStrictEqual(table.rows.map((r) => r.ours), [
      "dafl",
      "dfad",
      "deepinversion",
      "cmi",
      "memory-bank",
      "pre-dfkd",
    ]);
    const rows = publishedRowsBeside(table.rows, ["pre-dfkd", "no-replay", "memory-bank"]);
    const here = (method: string) => rows.filter((r) => r[1] === method);
    assert.deepStrictEqual(here("no-replay"), [[
      "–",
      "no-replay",
      UNPUBLISHED["no-replay"]!,
      "",
      "",
    ]]);
    assert.equal(here("pre-dfkd")[0]![0], "PRE-DFKD");
    assert.equal(here("memory-bank")[0]![0], "MB-DFKD");
    // DFAD's row names dfad (not run here), never no-replay.
    assert.deepStrictEqual(rows.find((r) => r[0] === "DFAD")!.slice(0, 2), [
      "DFAD",
      "not in this run (dfad)",
    ]);
  }
  assert.deepStrictEqual(publishedFor("cifar10", "resnet34", "resnet18")!.rows[1], {
    method: "DFAD",
    ours: "dfad",
    mu: 86.1,
    sigma2: 12.3,
    best: 93.3,
  });
  assert.match(PUBLISHED_SOURCE, /as quoted in a later paper's README/);
  assert.doesNotMatch(PUBLISHED_SOURCE, /400 epochs/);
  assert.equal(publishedFor("mnist", "lenet5", "lenet5-half"), undefined);
});
