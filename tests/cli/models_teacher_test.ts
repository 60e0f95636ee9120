import assert from "node:assert/strict";
import { runCli } from "./run_cli.ts";

const dfkd = (...args: string[]) => runCli(args);

Deno.test("models --json lists every architecture x dataset with trainable parameters", async () => {
  const { code, stdout, stderr } = await dfkd("models", "--json", "--backend", "wasm");
  assert.equal(code, 0, stderr);
  const rows = JSON.parse(stdout) as { name: string; dataset: string; trainableParams: number }[];
  const find = (name: string, dataset: string) =>
    rows.find((r) => r.name === name && r.dataset === dataset)?.trainableParams;
  assert.equal(find("lenet5", "mnist"), 61_706);
  assert.equal(find("lenet5-half", "mnist"), 15_738);
  assert.equal(find("resnet18", "cifar10"), 11_173_962);
  assert.equal(find("resnet34", "tiny-imagenet"), 21_379_592);
  assert.equal(find("wrn-16-1", "cifar10"), 175_066);
  assert.equal(find("wrn-40-2", "cifar10"), 2_243_546);
  assert.equal(find("lenet5", "cifar10"), undefined);
  for (const r of rows) assert.deepEqual(Object.keys(r), ["name", "dataset", "trainableParams"]);
});

Deno.test("teacher recipe shows the resolved recipe with overrides and its hash", async () => {
  const { code, stdout, stderr } = await dfkd(
    "teacher",
    "recipe",
    "resnet34",
    "cifar10",
    "--epochs",
    "30",
    "--schedule",
    "cosine",
    "--lr",
    "0.05",
    "--crop",
    "none",
    "--json",
  );
  assert.equal(code, 0, stderr);
  const r = JSON.parse(stdout);
  assert.equal(r.arch, "resnet34");
  assert.equal(r.recipe.epochs, 30);
  assert.deepEqual(r.recipe.schedule, { type: "cosine", tMax: 30 });
  assert.deepEqual(r.recipe.optimizer, { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  assert.deepEqual(r.recipe.augment, { flip: true });
  assert.match(r.hash, /^[0-9a-f]{64}$/);
  assert.match(r.defaultsFrom, /DAFL/);
});

Deno.test("teacher train trains on embedded MNIST into the cache, then reuses it; eval and list see it", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const args = [
      "teacher",
      "train",
      "lenet5-half",
      "mnist",
      "--epochs",
      "1",
      "--batch-size",
      "256",
      "--cache-dir",
      cache,
      "--backend",
      "wasm",
      "--json",
    ];
    const first = await dfkd(...args);
    assert.equal(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout);
    assert.equal(a.trained, true);
    assert.ok(a.testAccuracy > 0.5, `one epoch of lenet5-half: ${a.testAccuracy}`);
    assert.match(first.stderr, /teacher lenet5-half on mnist/);
    const second = await dfkd(...args);
    assert.equal(second.code, 0, second.stderr);
    const b = JSON.parse(second.stdout);
    assert.equal(b.trained, false);
    assert.equal(b.hash, a.hash);
    assert.equal(b.testAccuracy, a.testAccuracy);
    const meta = JSON.parse(await Deno.readTextFile(`${a.path}/meta.json`));
    assert.equal(meta.hash, a.hash);
    assert.equal(meta.trainSize, 8000);
    assert.equal(meta.testSize, 2000);
    assert.equal(meta.environment.backend, "wasm");

    const evaluated = await dfkd("teacher", "eval", a.path, "mnist", "--backend", "wasm", "--json");
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.equal(JSON.parse(evaluated.stdout).testAccuracy, a.testAccuracy);
    const wrong = await dfkd("teacher", "eval", a.path, "cifar10", "--backend", "wasm");
    assert.equal(wrong.code, 2);
    assert.match(
      wrong.stderr,
      /model\.json: the teacher does not fit: it takes input \[32, 32, 1\]/,
    );
    assert.doesNotMatch(wrong.stderr, /\n\s+at /);

    const listed = await dfkd("teacher", "list", "--cache-dir", cache, "--json");
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((t: { hash: string }) => t.hash), [a.hash]);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("bad teacher input is one clear line with exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["teacher", "train", "lenet5", "mnist", "--epochs", "0"], /--epochs must be a whole number/],
    [["teacher", "recipe", "lenet5", "mnist", "--optimizer", "rmsprop"], /recipe\.optimizer\.name/],
    [["teacher", "recipe", "lenet9", "mnist"], /Unknown architecture "lenet9"/],
    [["teacher", "recipe", "lenet5", "cifar10"], /lenet5 cannot take cifar10 images/],
    [["teacher", "recipe", "lenet5", "mnist", "--flip", "maybe"], /--flip must be on or off/],
    [["teacher", "frob"], /teacher needs a verb/],
    [
      ["teacher", "eval", "/nonexistent/model.json", "mnist"],
      /\/nonexistent\/model\.json: no such file/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await dfkd(...args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, pattern);
    assert.doesNotMatch(stderr, /\n\s+at /);
  }
});
