import assert from "node:assert/strict";
import { join } from "node:path";
import { writeJsonAtomic, writeTextFileAtomic } from "../../src/util/atomic_write.ts";

Deno.test("atomic writes replace the file whole and leave no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "record.json");
  await writeJsonAtomic(path, { epoch: 1 });
  await writeJsonAtomic(path, { epoch: 2, more: "x".repeat(100_000) });
  assert.deepStrictEqual(JSON.parse(await Deno.readTextFile(path)).epoch, 2);
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepStrictEqual(names, ["record.json"]);
});

Deno.test("a reader never sees a torn file while writes are in flight", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "big.txt");
  const versions = ["a", "b", "c", "d"].map((c) => c.repeat(2_000_000));
  await writeTextFileAtomic(path, versions[0]!);
  let reads = 0;
  let writing = true;
  const reader = (async () => {
    while (writing) {
      const text = await Deno.readTextFile(path);
      // Every read is one whole version: the right length, one repeated character.
      assert.deepStrictEqual(text.length, 2_000_000);
      assert.deepStrictEqual(text, text[0]!.repeat(2_000_000));
      reads++;
    }
  })();
  for (const v of versions) await writeTextFileAtomic(path, v);
  writing = false;
  await reader;
  assert.deepStrictEqual(await Deno.readTextFile(path), versions[3]);
  assert.deepStrictEqual(reads > 0, true);
});

Deno.test("a failed write leaves the old file and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "sub");
  await Deno.mkdir(path);
  // Renaming a file over a folder fails: the folder stays, the temporary file goes.
  let failed = false;
  try {
    await writeTextFileAtomic(path, "x");
  } catch {
    failed = true;
  }
  assert.deepStrictEqual(failed, true);
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.deepStrictEqual(names, ["sub"]);
});

Deno.test("a crash between the temporary write and the rename leaves the old file", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "record.json");
  await writeJsonAtomic(path, { epoch: 1 });
  let temp = "";
  await assert.rejects(
    writeJsonAtomic(path, { epoch: 2 }, {
      beforeRename: async (t) => {
        temp = t;
        // The whole new content is on disk beside the target before the rename.
        assert.deepStrictEqual(JSON.parse(await Deno.readTextFile(t)), { epoch: 2 });
        throw new Error("simulated crash");
      },
    }),
    /simulated crash/,
  );
  assert.ok(temp.startsWith(path) && temp.endsWith(".tmp"));
  assert.deepStrictEqual(JSON.parse(await Deno.readTextFile(path)), { epoch: 1 });
  assert.deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["record.json"]);
});
