import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FileReadError,
  insideFolder,
  READ_LIMITS,
  readBoundedBytes,
  readBoundedText,
} from "../../src/util/bounded_read.ts";
import { withTempDir } from "../temp_dir.ts";

const refusal = (promise: Promise<unknown>) =>
  promise.then(() => undefined, (e) => e instanceof FileReadError ? e.refusal : e);

Deno.test("bounded reads refuse folders, pipes, devices and files over the limit, before reading", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a.json");
    await Deno.writeTextFile(file, "0123456789");
    assert.equal(await readBoundedText(file, READ_LIMITS.document), "0123456789");
    const tiny = { bytes: 9, kind: "a test file" };
    const error = await readBoundedBytes(file, tiny, { exitCode: 2 }).catch((e) => e);
    assert.ok(error instanceof FileReadError);
    assert.equal(error.exitCode, 2);
    assert.match(
      error.message,
      /a\.json: is 10 bytes, larger than the 9 bytes allowed for a test file/,
    );
    assert.equal(await refusal(readBoundedBytes(dir, tiny)), "folder");
    assert.equal(await refusal(readBoundedBytes(join(dir, "nope"), tiny)), "not-found");
    assert.equal(await refusal(readBoundedBytes("/dev/zero", READ_LIMITS.data)), "not-regular");
    const fifo = join(dir, "pipe");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    // Refused without opening it (opening a pipe blocks until a writer comes).
    assert.equal(await refusal(readBoundedBytes(fifo, READ_LIMITS.document)), "not-regular");
    // A symbolic link to a regular file is read.
    await Deno.symlink(file, join(dir, "link.json"));
    assert.equal(await readBoundedText(join(dir, "link.json"), READ_LIMITS.document), "0123456789");
  });
});

Deno.test("insideFolder keeps a model's weight paths inside its folder", () => {
  assert.equal(insideFolder("/m", "weights.bin", "/m/model.json"), "/m/weights.bin");
  assert.equal(insideFolder("/m/", "./sub/w.bin", "/m/model.json"), "/m/sub/w.bin");
  for (const bad of ["../w.bin", "sub/../../w.bin", "/etc/passwd", "..\\w.bin", "C:/w.bin"]) {
    assert.throws(() => insideFolder("/m", bad, "/m/model.json"), /leads outside its folder/, bad);
  }
  assert.throws(() => insideFolder("/m", "./", "/m/model.json"), /names no file/);
});
