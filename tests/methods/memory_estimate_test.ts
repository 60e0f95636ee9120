import assert from "node:assert/strict";
import { initBackend } from "../../src/backends/init_backend.ts";
import { Encoder } from "../../src/methods/blocks/encoder.ts";
import { Generator } from "../../src/methods/blocks/generator.ts";
import {
  classifierPart,
  generatorPart,
  memoryLimitFor,
  memoryProblem,
  partBytes,
  vaePart,
  WASM_HEAP_BYTES,
} from "../../src/methods/memory_estimate.ts";
import { METHODS } from "../../src/methods/registry.ts";
import { buildClassifier } from "../../src/models/registry.ts";
import { Rng } from "../../src/util/rng.ts";

const IMAGE: [number, number, number] = [32, 32, 3];
const WASM = memoryLimitFor("wasm");

Deno.test("the generator's and the VAE's estimated parameter counts match the built networks (but batch norms)", async () => {
  await initBackend("cpu");
  for (const width of [0.125, 0.25, 0.5]) {
    const g = new Generator({
      latentDim: 40,
      imageShape: IMAGE,
      width,
      spectralNorm: false,
      rng: new Rng(1),
    });
    const e = new Encoder({ latentDim: 40, imageShape: IMAGE, width, rng: new Rng(2) });
    try {
      const gen = generatorPart(40, IMAGE, width, 1, []).parameters;
      // Biases and batch-norm scales are a few hundred scalars: within 2%.
      const built = g.params.parameterCount();
      assert.ok(
        Math.abs(gen - built) / built < 0.02,
        `generator width ${width}: ${gen} vs ${built}`,
      );
      const vae = vaePart(40, IMAGE, width, 1, []).parameters;
      const vaeBuilt = built + e.params.parameterCount();
      assert.ok(
        Math.abs(vae - vaeBuilt) / vaeBuilt < 0.02,
        `VAE width ${width}: ${vae} vs ${vaeBuilt}`,
      );
    } finally {
      g.dispose();
      e.dispose();
    }
  }
});

Deno.test("an estimate over the limit names the largest parts and their fields; one within it passes", () => {
  const wide = generatorPart(1000, [32, 32, 1], 64, 64, ["generatorWidth", "latentDim"]);
  const message = memoryProblem([wide], WASM);
  assert.match(
    message ?? "",
    /needs at least [\d.]+ GiB of memory, more than the 4\.0 GiB a wasm job/,
  );
  assert.match(message ?? "", /generator [\d.]+ GiB \(set by generatorWidth, latentDim\)/);
  const small = generatorPart(256, [32, 32, 1], 0.25, 64, ["generatorWidth"]);
  assert.equal(memoryProblem([small], WASM), undefined);
  // Activations grow with the batch: 65536 images at a quarter width do not fit.
  const big = generatorPart(256, [32, 32, 1], 0.25, 65536, ["budget.batchSize"]);
  assert.ok(partBytes(big) > WASM_HEAP_BYTES);
  assert.match(memoryProblem([big], WASM) ?? "", /budget\.batchSize/);
});

Deno.test("the limit follows the backend: wasm's heap, the machine on cpu, none on a GPU", () => {
  assert.equal(memoryLimitFor("wasm")?.bytes, WASM_HEAP_BYTES);
  assert.equal(memoryLimitFor("cpu", 8 * 1024 ** 3)?.bytes, 8 * 1024 ** 3);
  assert.match(memoryLimitFor("cpu", 8 * 1024 ** 3)?.describe ?? "", /this machine's 8\.0 GiB/);
  assert.equal(memoryLimitFor("webgpu"), undefined);
  assert.equal(memoryLimitFor("tfjs-node-gpu"), undefined);
  const huge = generatorPart(1000, [32, 32, 1], 64, 64, ["generatorWidth"]);
  assert.equal(memoryProblem([huge], memoryLimitFor("webgpu")), undefined);
});

Deno.test("a classifier's part counts its parameters and every layer's output for one image", async () => {
  await initBackend("cpu");
  const c = buildClassifier("lenet5", { inputShape: [32, 32, 1], classes: 10, seed: 1 });
  try {
    const part = classifierPart("teacher", c, false, 64);
    assert.equal(part.parameters, c.model.countParams());
    // At least the first convolution's output (28 x 28 x 6) and the logits.
    assert.ok(part.activationsPerImage >= 28 * 28 * 6 + 10, String(part.activationsPerImage));
    assert.equal(partBytes(part), part.parameters * 4 + part.activationsPerImage * 64 * 8);
    // A stand-in model without layers counts as nothing rather than failing.
    assert.equal(partBytes(classifierPart("stub", { model: {} }, true, 64)), 0);
  } finally {
    c.model.dispose();
  }
});

Deno.test("every method declares its memory; a 64x generator is over the wasm limit wherever there is one", () => {
  const budget = { epochs: 2, iterationsPerEpoch: 2, batchSize: 64, studentStepsPerIteration: 1 };
  const base = { imageShape: [32, 32, 1] as const, classes: 10, budget };
  for (const [name, plugin] of Object.entries(METHODS)) {
    assert.ok(plugin.memory, `${name} declares no memory`);
    const parts = plugin.memory({ ...base, hyper: {} });
    assert.ok(parts.length > 0, name);
    assert.equal(memoryProblem(parts, WASM), undefined, `${name} at its defaults`);
    if (!("generatorWidth" in plugin.hyperparameters)) continue;
    const wide = plugin.memory({ ...base, hyper: { generatorWidth: 64 } });
    assert.match(memoryProblem(wide, WASM) ?? "", /generatorWidth/, name);
  }
});
