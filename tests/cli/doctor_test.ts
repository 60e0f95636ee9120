import assert from "node:assert/strict";
import { runCli } from "./run_cli.ts";

const dfkd = (...args: string[]) => runCli(args);

Deno.test("doctor --json reports versions, every backend and a throughput probe", async () => {
  const { code, stdout } = await dfkd("doctor", "--backend", "wasm", "--json");
  assert.equal(code, 0);
  const report = JSON.parse(stdout);
  assert.equal(report.environment.deno, Deno.version.deno);
  assert.equal(report.environment.tfjs, "4.22.0");
  assert.deepEqual(report.backends.map((b: { name: string }) => b.name), [
    "tfjs-node-gpu",
    "webgpu",
    "tfjs-node",
    "wasm",
    "cpu",
  ]);
  assert.ok(Number.isInteger(report.threads) && report.threads >= 1);
  assert.equal(typeof report.native.available, "boolean");
  assert.ok(report.native.detail.length > 0);
  for (const b of report.backends) assert.ok(typeof b.detail === "string" && b.detail.length > 0);
  assert.equal(report.chosen, "wasm");
  assert.ok(report.probe.forwardGmacs > 0);
  assert.ok(report.probe.backpropFilterGmacs > 0);
});

Deno.test("doctor's human output names the chosen backend", async () => {
  const { code, stdout } = await dfkd("doctor", "--backend", "cpu");
  assert.equal(code, 0);
  assert.match(stdout, /Chosen backend +cpu/);
  assert.match(stdout, /✓ wasm/);
  assert.match(stdout, /Conv probe .* GMAC\/s/);
});

Deno.test("bad CLI input is one clear line with exit code 2 and no stack trace", async () => {
  const unknownFlag = await dfkd("doctor", "--bogus");
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, /error: Unknown option '--bogus'/);
  assert.match(unknownFlag.stderr, /Usage: deno task dfkd doctor/);
  assert.doesNotMatch(unknownFlag.stderr, /\n\s+at /);

  const badBackend = await dfkd("doctor", "--backend", "gpu");
  assert.equal(badBackend.code, 2);
  assert.match(badBackend.stderr, /Unknown backend "gpu"/);
  assert.doesNotMatch(badBackend.stderr, /\n\s+at /);

  const unknownCommand = await dfkd("frobnicate");
  assert.equal(unknownCommand.code, 2);
  assert.match(unknownCommand.stderr, /unknown command "frobnicate"/);
});

Deno.test("--help and -h after any command print its usage and exit 0", async () => {
  for (
    const args of [["nightly", "--help"], ["run", "x.json", "-h"], ["history", "add", "--help"]]
  ) {
    const { code, stdout, stderr } = await dfkd(...args);
    assert.equal(code, 0, `${args.join(" ")}: ${stderr}`);
    assert.match(stdout, new RegExp(`^Usage: deno task dfkd ${args[0]}`));
  }
});
