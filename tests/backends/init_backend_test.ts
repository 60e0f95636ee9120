import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendUnavailableError, initBackend } from "../../src/backends/init_backend.ts";

Deno.test("initBackend('wasm') selects wasm and installs the training kernels", async () => {
  const info = await initBackend("wasm");
  assert.equal(info.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.tfjsVersion, "4.22.0");
  for (const kernel of ["Conv2DBackpropFilter", "Conv2DBackpropInput"]) {
    assert.ok(info.customKernels.includes(kernel), kernel);
    assert.notEqual(tf.getKernel(kernel, "wasm"), undefined, kernel);
  }
});

Deno.test("initBackend('auto') picks the first available backend in order", async () => {
  const info = await initBackend("auto");
  // auto skips what is unavailable, and webgpu on a CPU adapter (available, not automatic).
  const firstAvailable = info.probes.find((p) => p.available && p.automatic !== false);
  assert.equal(info.name, firstAvailable?.name);
  // Every backend before the chosen one was tried and has a reason.
  for (const p of info.probes.slice(0, info.probes.indexOf(firstAvailable!))) {
    assert.ok(!p.available || p.automatic === false, p.name);
    assert.ok(p.detail.length > 0);
  }
});

Deno.test("forcing an unavailable backend is a clear error listing the others", async () => {
  const probe = await initBackend("cpu", { probeAll: true });
  const missing = probe.probes.find((p) => !p.available);
  if (missing === undefined) return; // every backend works on this machine: nothing to force
  await assert.rejects(() => initBackend(missing.name, { probeAll: true }), (error: unknown) => {
    assert.ok(error instanceof BackendUnavailableError);
    assert.match(error.message, new RegExp(`Backend "${missing.name}" is not available`));
    assert.match(error.message, /wasm: available/);
    assert.match(error.message, /--backend auto/);
    return true;
  });
});

Deno.test("an unknown backend name is rejected with the valid names", async () => {
  await assert.rejects(
    () => initBackend("metal" as "wasm"),
    /Unknown backend "metal"; choose auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu/,
  );
});
