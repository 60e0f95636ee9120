import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { forward } from "../../src/models/classifier.ts";
import { denoFileHandler, loadClassifier, saveClassifier } from "../../src/models/io.ts";
import { buildClassifier } from "../../src/models/registry.ts";
import { UserError } from "../../src/util/errors.ts";

await initBackend("wasm");

function outputs(c: { model: tf.LayersModel }, x: tf.Tensor4D): number[][] {
  return tf.tidy(() => {
    const out = c.model.predict(x) as tf.Tensor[];
    return out.map((t) => Array.from(t.dataSync()));
  });
}

Deno.test("save then load gives identical outputs, facts and weight values", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const arch of ["lenet5", "wrn-16-1", "mobilenetv2"]) {
      const shape: [number, number, number] = arch === "lenet5" ? [32, 32, 1] : [32, 32, 3];
      const c = buildClassifier(arch, { inputShape: shape, classes: 10, seed: 21 });
      // Move the BatchNorm running statistics away from their initial values first.
      tf.tidy(() => {
        forward(c, tf.randomNormal([4, ...shape], 0, 1, "float32", 1) as tf.Tensor4D, true);
      });
      const target = `${dir}/${arch}`;
      await saveClassifier(c, target);
      const names = [...Deno.readDirSync(target)].map((e) => e.name).sort();
      assert.deepEqual(names, ["model.json", "weights.bin"], "no temporary files are left");
      const loaded = await loadClassifier(target);
      assert.equal(loaded.arch, arch);
      assert.deepEqual(loaded.inputShape, shape);
      assert.equal(loaded.classes, 10);
      assert.equal(loaded.featureSize, c.featureSize);
      const x = tf.randomNormal([3, ...shape], 0, 1, "float32", 2) as tf.Tensor4D;
      assert.deepEqual(outputs(loaded, x), outputs(c, x));
      assert.deepEqual(
        loaded.model.getWeights().map((w) => Array.from(w.dataSync())),
        c.model.getWeights().map((w) => Array.from(w.dataSync())),
      );
      x.dispose();
      c.model.dispose();
      loaded.model.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saved files load with TensorFlow.js's own HTTP loader (the standard layers format)", async () => {
  const dir = await Deno.makeTempDir();
  const c = buildClassifier("lenet5-half", { inputShape: [32, 32, 1], classes: 10, seed: 3 });
  await saveClassifier(c, dir);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const name = new URL(req.url).pathname.slice(1);
    try {
      return new Response(await Deno.readFile(`${dir}/${name}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/model.json`;
    const model = await tf.loadLayersModel(url);
    assert.equal(model.outputs.length, 2);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, "float32", 4) as tf.Tensor4D;
    assert.deepEqual(outputs({ model }, x), outputs(c, x));
    const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["./weights.bin"]);
    assert.equal(json.userDefinedMetadata.dfkdBench.arch, "lenet5-half");
    x.dispose();
    model.dispose();
  } finally {
    await server.shutdown();
    c.model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a one-output model ending in a dense layer loads with that layer's input as features", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = tf.input({ shape: [8, 8, 3] });
    const flat = tf.layers.flatten().apply(
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      })
        .apply(input),
    ) as tf.SymbolicTensor;
    const logits = tf.layers.dense({
      units: 5,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    })
      .apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: logits });
    await model.save(denoFileHandler(dir));
    const loaded = await loadClassifier(`${dir}/model.json`);
    assert.equal(loaded.arch, "custom");
    assert.deepEqual(loaded.inputShape, [8, 8, 3]);
    assert.equal(loaded.classes, 5);
    assert.equal(loaded.featureSize, 6 * 6 * 4);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 3) as tf.Tensor4D;
      const { logits: l, features } = forward(loaded, x, false);
      assert.deepEqual(
        Array.from(l.dataSync()),
        Array.from((model.predict(x) as tf.Tensor).dataSync()),
      );
      assert.deepEqual(features.shape, [2, 144]);
    });
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("missing, malformed and incomplete model files are UserErrors naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadClassifier(`${dir}/nothing`),
      (e: unknown) => e instanceof UserError && e.message.includes(`${dir}/nothing`),
    );
    await Deno.writeTextFile(`${dir}/model.json`, "{ not json");
    await assert.rejects(
      loadClassifier(dir),
      (e: unknown) => e instanceof UserError && /model\.json: not valid JSON/.test(e.message),
    );
    await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ hello: 1 }));
    await assert.rejects(
      loadClassifier(dir),
      (e: unknown) => e instanceof UserError && /layers model/.test(e.message),
    );
    const c = buildClassifier("lenet5-half", { inputShape: [32, 32, 1], classes: 10, seed: 3 });
    await saveClassifier(c, dir);
    c.model.dispose();
    await Deno.remove(`${dir}/weights.bin`);
    await assert.rejects(
      loadClassifier(dir),
      (e: unknown) => e instanceof UserError && e.message.includes("weights.bin"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weight files must hold exactly what the manifest describes: junk after them or a cut is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = buildClassifier("lenet5-half", { inputShape: [32, 32, 1], classes: 10, seed: 3 });
    await saveClassifier(c, dir);
    c.model.dispose();
    const weights = await Deno.readFile(`${dir}/weights.bin`);
    const extra = new Uint8Array(weights.length + 8);
    extra.set(weights);
    await Deno.writeFile(`${dir}/weights.bin`, extra);
    await assert.rejects(
      loadClassifier(dir),
      (e: unknown) =>
        e instanceof UserError &&
        new RegExp(`hold ${weights.length + 8} bytes, .* describes ${weights.length} \\(extra`)
          .test(e.message),
    );
    await Deno.writeFile(`${dir}/weights.bin`, weights.subarray(0, weights.length - 4));
    await assert.rejects(
      loadClassifier(dir),
      (e: unknown) => e instanceof UserError && /truncated/.test(e.message),
    );
    await Deno.writeFile(`${dir}/weights.bin`, weights);
    (await loadClassifier(dir)).model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
