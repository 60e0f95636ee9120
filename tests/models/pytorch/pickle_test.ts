import assert from "node:assert/strict";
import { PyGlobal, PyObject, unpickle } from "../../../src/models/pytorch/pickle.ts";
import { UserError } from "../../../src/util/errors.ts";

const decodeBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const pickles: Record<string, string> = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/pickles.json", import.meta.url)),
);

Deno.test("the pickle reader reads every protocol (0 to 5) Python writes", () => {
  assert.deepEqual(Object.keys(pickles), ["0", "1", "2", "3", "4", "5"]);
  for (const [protocol, b64] of Object.entries(pickles)) {
    const { value } = unpickle(decodeBase64(b64), { file: `protocol-${protocol}.pkl` });
    const v = value as Map<string, unknown>;
    assert.ok(v instanceof Map, `protocol ${protocol}`);
    assert.deepEqual(v.get("ints"), [0, 1, -1, 255, 65535, -70000, 2 ** 40, -(2n ** 62n)]);
    assert.deepEqual(v.get("floats"), [0.5, -1e-30, 3.0]);
    assert.deepEqual(v.get("text"), ["", "é", "a".repeat(300)]);
    assert.deepEqual(v.get("flags"), [true, false, null]);
    assert.deepEqual(Array.from(v.get("bytes") as Uint8Array), [0, 255], `protocol ${protocol}`);
    assert.deepEqual([...(v.get("set") as Set<number>)], [3]);
    assert.equal(v.get("big"), 2n ** 70n);
    assert.deepEqual((v.get("nested") as Map<string, unknown>).get("k"), [[1, 2], [3]]);
  }
});

Deno.test("a class global is instantiated as a plain object without running it", () => {
  // pickle.dumps(Foo()) where Foo lives in module m and has __dict__ {"x": 1}, protocol 2.
  const enc = new TextEncoder();
  const bytes = new Uint8Array([
    0x80,
    2,
    0x63,
    ...enc.encode("m\nFoo\n"),
    0x29,
    0x81,
    0x7d,
    0x58,
    1,
    0,
    0,
    0,
    0x78,
    0x4b,
    1,
    0x73,
    0x62,
    0x2e,
  ]);
  const { value } = unpickle(bytes, { file: "obj.pkl" });
  assert.ok(value instanceof PyObject);
  assert.equal(value.cls.path, "m.Foo");
  assert.equal((value.state as Map<string, number>).get("x"), 1);
  assert.ok(value.cls instanceof PyGlobal);
});

Deno.test("calling a class that is not on the allow-list is refused", () => {
  const enc = new TextEncoder();
  // GLOBAL m.Foo, EMPTY_TUPLE, REDUCE, STOP
  const bytes = new Uint8Array([0x80, 2, 0x63, ...enc.encode("m\nFoo\n"), 0x29, 0x52, 0x2e]);
  assert.throws(
    () => unpickle(bytes, { file: "call.pkl" }),
    (e: unknown) =>
      e instanceof UserError && /^call\.pkl: the pickle calls the global m\.Foo/.test(e.message),
  );
  for (const g of ["os\nsystem", "subprocess\nPopen", "builtins\nexec", "posix\nsystem"]) {
    const b = new Uint8Array([0x80, 2, 0x63, ...enc.encode(`${g}\n`), 0x2e]);
    assert.throws(() => unpickle(b, { file: "g.pkl" }), /refers to the global/);
  }
});
