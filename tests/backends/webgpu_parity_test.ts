/**
 * Gradient parity of the webgpu backend against the cpu backend: forward
 * outputs and the gradients of one training step of each network a method
 * trains (classifiers as teacher/student, the generator, the VAE's encoder)
 * at tiny widths. Each network is built twice from the same seed, once on
 * each backend (initialisers draw in JavaScript, so the weights are
 * identical). Runs where a WebGPU adapter exists (CI: Mesa llvmpipe from
 * `mesa-vulkan-drivers`, about 100x slower than wasm, hence tiny sizes);
 * elsewhere the tests are ignored and say so.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { findWebGpuAdapter } from "../../src/backends/webgpu.ts";
import { Encoder } from "../../src/methods/blocks/encoder.ts";
import { Generator } from "../../src/methods/blocks/generator.ts";
import { forward } from "../../src/models/classifier.ts";
import { buildClassifier } from "../../src/models/registry.ts";
import { Rng } from "../../src/util/rng.ts";
import { relativeError } from "./conv_reference.ts";

const lookup = await findWebGpuAdapter();
const ignore = !lookup.found;
if (ignore) console.log(`webgpu parity tests ignored: ${lookup.reason}`);

/** A network's loss and gradients (by variable, in order) as plain arrays. */
interface Step {
  outputs: Float32Array[];
  grads: Float32Array[];
}

/** Builds a network on `backend` and runs `step` (loss, outputs) with its gradients. */
async function runOn(
  backend: "cpu" | "webgpu",
  build: () => { vars: tf.Variable[]; loss: () => { loss: tf.Scalar; outputs: tf.Tensor[] } },
): Promise<Step> {
  await initBackend(backend);
  const { vars, loss } = build();
  let outputs: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const r = loss();
    outputs = r.outputs.map((o) => tf.keep(o));
    return r.loss;
  }, vars);
  const read = async (t: tf.Tensor) => Float32Array.from(await t.data() as Float32Array);
  const step = {
    outputs: [await read(value), ...await Promise.all(outputs.map(read))],
    grads: await Promise.all(vars.map((v) => read(grads[v.name]!))),
  };
  tf.dispose([value, ...outputs, ...Object.values(grads), ...vars]);
  return step;
}

async function assertParity(
  name: string,
  build: () => { vars: tf.Variable[]; loss: () => { loss: tf.Scalar; outputs: tf.Tensor[] } },
): Promise<void> {
  const cpu = await runOn("cpu", build);
  const gpu = await runOn("webgpu", build);
  cpu.outputs.forEach((want, i) => {
    const err = relativeError(gpu.outputs[i]!, want);
    assert.ok(err < 1e-4, `${name} output ${i}: relative error ${err}`);
  });
  assert.equal(gpu.grads.length, cpu.grads.length);
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const scale = Math.max(...cpu.grads.map(maxAbs));
  cpu.grads.forEach((want, i) => {
    const got = gpu.grads[i]!;
    if (maxAbs(want) < 1e-4 * scale) {
      // A bias followed by batch norm: zero in exact arithmetic, rounding noise in both.
      assert.ok(maxAbs(got) < 1e-4 * scale, `${name} gradient ${i}: should be about zero`);
      return;
    }
    const err = relativeError(got, want);
    assert.ok(err < 1e-3, `${name} gradient ${i}: relative error ${err}`);
  });
}

function images(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomNormal(shape, 0, 1, "float32", seed) as tf.Tensor4D;
}

function classifierStep(arch: string, inputShape: [number, number, number], batch: number) {
  return () => {
    const c = buildClassifier(arch, { inputShape, classes: 10, seed: 7 });
    const vars = c.model.trainableWeights.map((w) => w.read() as tf.Variable);
    return {
      vars,
      loss: () => {
        const { logits, features } = forward(c, images([batch, ...inputShape], 3), true);
        const labels = tf.oneHot(tf.tensor1d([1, 4, 7, 9].slice(0, batch), "int32"), 10);
        return {
          loss: tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar,
          outputs: [logits, features],
        };
      },
    };
  };
}

Deno.test({
  name: "webgpu matches cpu: LeNet-5 and LeNet-5-half forward and gradients (training mode)",
  ignore,
  async fn() {
    await assertParity("lenet5", classifierStep("lenet5", [32, 32, 1], 2));
    await assertParity("lenet5-half", classifierStep("lenet5-half", [32, 32, 1], 2));
  },
});

Deno.test({
  name: "webgpu matches cpu: WRN-16-1 (batch norm, residual blocks) forward and gradients",
  ignore,
  async fn() {
    await assertParity("wrn-16-1", classifierStep("wrn-16-1", [16, 16, 3], 2));
  },
});

Deno.test({
  name:
    "webgpu matches cpu: the generator (spectral norm, batch norm), one training step's gradients",
  ignore,
  async fn() {
    await assertParity("generator", () => {
      const g = new Generator({
        latentDim: 16,
        imageShape: [8, 8, 1],
        width: 0.125,
        spectralNorm: true,
        rng: new Rng(5),
      });
      return {
        vars: g.trainable,
        loss: () => {
          const out = g.forward(tf.randomNormal([4, 16], 0, 1, "float32", 11) as tf.Tensor2D, true);
          // A fixed random weighting: the final batch norm removes each channel's mean from
          // the output's gradient, which would leave a constant weighting almost nothing.
          const r = tf.randomNormal(out.shape, 0, 1, "float32", 13);
          return { loss: tf.sum(tf.mul(out, r)) as tf.Scalar, outputs: [out] };
        },
      };
    });
  },
});

// The VAE encoder. Its nearest downsampling's gradient once used a rank-6 pad, which
// tfjs-backend-webgpu 4.22 computes as zeros (ranks 5 and above), and the failed kernel also
// zeroed others submitted with it (the mu head's bias gradient); `downsample2` now pads at rank 4.
Deno.test({
  name: "webgpu matches cpu: the VAE encoder's gradients (both heads in the loss)",
  ignore,
  async fn() {
    await assertParity("encoder", () => {
      const e = new Encoder({
        latentDim: 16,
        imageShape: [8, 8, 1],
        width: 0.125,
        rng: new Rng(6),
      });
      return {
        vars: e.params.trainable,
        loss: () => {
          const { mu, logVar } = e.forward(images([4, 8, 8, 1], 12), true);
          const kl = tf.mean(tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), tf.add(logVar, 1)));
          return { loss: kl as tf.Scalar, outputs: [mu, logVar] };
        },
      };
    });
  },
});

Deno.test({
  name: "the webgpu backend reports its adapter; auto skips a CPU adapter",
  ignore,
  async fn() {
    const info = await initBackend("webgpu", { probeAll: true });
    assert.equal(info.name, "webgpu");
    const probe = info.probes.find((p) => p.name === "webgpu")!;
    assert.ok(probe.adapter !== undefined && probe.adapter.description.length > 0);
    assert.ok(probe.adapter.limits.maxBufferSize > 0);
    const auto = await initBackend("auto");
    if (probe.adapter.cpu) assert.notEqual(auto.name, "webgpu");
  },
});
