import assert from "node:assert/strict";
import { join } from "node:path";
import { withTempDir } from "../temp_dir.ts";
import { runCli } from "./run_cli.ts";

const FIXTURES = new URL("../models/pytorch/fixtures/", import.meta.url).pathname;

Deno.test("teacher import converts into the cache once, evaluates on MNIST's test split, copies to --out", async () => {
  await withTempDir(async (dir) => {
    const args = [
      "teacher",
      "import",
      join(FIXTURES, "lenet5_half_module_legacy.pth"),
      "--arch",
      "lenet5-half",
      "--dataset",
      "mnist",
      "--cache-dir",
      dir,
      "--backend",
      "wasm",
    ];
    const first = await runCli([...args, "--out", join(dir, "copy"), "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const meta = JSON.parse(first.stdout);
    assert.equal(meta.source.file, "lenet5_half_module_legacy.pth");
    assert.match(meta.source.sha256, /^[0-9a-f]{64}$/);
    assert.equal(meta.source.format, "torch-legacy");
    assert.match(meta.source.container, /networks\.lenet\.LeNet5Half/);
    assert.equal(meta.testSize, 2000);
    assert.ok(meta.testAccuracy >= 0 && meta.testAccuracy <= 1);
    assert.ok(meta.path.startsWith(join(dir, "pytorch")));
    await Deno.stat(join(dir, "copy", "model.json"));
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stdout,
      new RegExp(`^lenet5_half_module_legacy\\.pth sha256 ${meta.source.sha256}$`, "m"),
    );
    assert.match(second.stdout, /Already in the cache: /);
    const listed = await runCli(["teacher", "list", "--cache-dir", dir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /Imported PyTorch teachers:[\s\S]*lenet5-half +mnist .* lenet5_half_module_legacy\.pth/,
    );
  });
});

Deno.test("teacher import of bad input: one line naming the file, exit 2, nothing cached", async () => {
  await withTempDir(async (dir) => {
    const file = join(FIXTURES, "lenet5_state_dict.pth");
    const r = await runCli([
      "teacher",
      "import",
      file,
      "--arch",
      "lenet5-half",
      "--dataset",
      "mnist",
      "--cache-dir",
      dir,
      "--backend",
      "wasm",
    ]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`${file}: key conv1\\.weight has shape .* --arch lenet5$`));
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});
