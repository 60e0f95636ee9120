import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.ts";

Deno.test("the same seed gives the same stream, another seed a different one", () => {
  const a = new Rng(5);
  const b = new Rng(5);
  const c = new Rng(6);
  const sa = Array.from({ length: 20 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 20 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 20 }, () => c.next()));
});

Deno.test("a restored state continues the exact stream", () => {
  const rng = new Rng("resume");
  for (let i = 0; i < 100; i++) rng.normal();
  const saved = JSON.parse(JSON.stringify(rng.state()));
  const expected = [rng.next(), rng.int(1000), rng.normal(), rng.seed()];
  const restored = Rng.fromState(saved);
  assert.deepEqual(
    [restored.next(), restored.int(1000), restored.normal(), restored.seed()],
    expected,
  );
  // In place: a generator held elsewhere (a dropout layer's) moves back to the saved position.
  rng.restore(saved);
  assert.deepEqual([rng.next(), rng.int(1000), rng.normal(), rng.seed()], expected);
});

Deno.test("permutation is a permutation and depends on the seed", () => {
  const p = new Rng(1).permutation(50);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual([...p], [...new Rng(2).permutation(50)]);
  assert.notDeepEqual([...p], Array.from({ length: 50 }, (_, i) => i));
});

Deno.test("normal draws have mean about 0 and variance about 1", () => {
  const rng = new Rng(9);
  const xs = Array.from({ length: 20000 }, () => rng.normal());
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
});

Deno.test("int rejects a non-positive bound", () => {
  assert.throws(() => new Rng(1).int(0), /positive integer \(got 0\)/);
});
