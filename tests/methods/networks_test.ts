import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { Encoder } from "../../src/methods/blocks/encoder.ts";
import { Generator } from "../../src/methods/blocks/generator.ts";
import { Rng } from "../../src/util/rng.ts";
import {
  assertClose,
  assertZeroGradient,
  assign,
  chwToHwc,
  convToHwio,
  encoderMap,
  generatorMap as plainGeneratorMap,
  linearToOurs,
  nchwToNhwc,
  permuteVector,
  snV,
} from "./torch_layout.ts";

// The release's generator and encoder in PyTorch 1.13 (float64, a higher-precision reference) on a
// small configuration with fixed weights: `/usr/bin/python3
// tests/methods/reference/networks_reference.py` writes the fixture. Outputs agree to 1e-4 of
// their scale, gradients to 1e-3 (float32 sums with cancellation, e.g. the last conv's bias).
interface Param {
  shape: number[];
  data: number[];
}
interface Fixture {
  config: Record<"latent" | "img" | "ch" | "c1" | "c2" | "e1" | "e2" | "n", number>;
  generator: {
    params: Record<string, Param>;
    z: number[];
    r: number[];
    outTrain: number[];
    outEval: number[];
    buffersAfter: Record<string, number[]>;
    grads: Record<string, number[]>;
  };
  generatorA: {
    params: Record<string, Param>;
    outTrain: number[];
    outEval: number[];
    grads: Record<string, number[]>;
  };
  encoder: {
    params: Record<string, Param>;
    x: number[];
    mu: number[];
    logVar: number[];
    grads: Record<string, number[]>;
  };
}

const FIXTURE: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("./reference/networks_reference.json", import.meta.url)),
);
const C = FIXTURE.config;

/** (our name, PyTorch name, converter) for the generator's variables. */
function generatorMap(): [string, string, (d: number[]) => number[]][] {
  const s = C.img / 4;
  const id = (d: number[]) => d;
  const fcPerm = (o: number) => chwToHwc(o, s, C.c1);
  const convs: [string, string, number, number][] = [
    ["conv1", "conv_blocks1", C.c1, C.c1],
    ["conv2", "conv_blocks2", C.c2, C.c1],
    ["conv3", "conv_blocks3", C.ch, C.c2],
  ];
  return [
    ["l1/weight", "l1.0.weight", (d) => linearToOurs(d, C.c1 * s * s, C.latent, fcPerm, (i) => i)],
    ["l1/bias", "l1.0.bias", (d) => permuteVector(d, fcPerm)],
    ["bn0/weight", "conv_blocks0.0.weight", id],
    ["bn0/bias", "conv_blocks0.0.bias", id],
    ...convs.flatMap(([ours, pt, out, inC]): [string, string, (d: number[]) => number[]][] => [
      [`${ours}/weight`, `${pt}.0.weight_orig`, (d) => convToHwio(d, out, inC)],
      [`${ours}/bias`, `${pt}.0.bias`, id],
      [`${ours}/u`, `${pt}.0.weight_u`, id],
      [`${ours}/v`, `${pt}.0.weight_v`, (d) => snV(d, inC)],
    ]),
    ["bn1/weight", "conv_blocks1.1.weight", id],
    ["bn1/bias", "conv_blocks1.1.bias", id],
    ["bn2/weight", "conv_blocks2.1.weight", id],
    ["bn2/bias", "conv_blocks2.1.bias", id],
  ];
}

/** The fixture's generator (spectral norm) holding the release's PyTorch parameters. */
function fixtureGenerator(): Generator {
  const g = new Generator({
    latentDim: C.latent,
    imageShape: [C.img, C.img, C.ch],
    width: C.c1 / 128,
    spectralNorm: true,
    rng: new Rng(1),
  });
  for (const [ours, pt, convert] of generatorMap()) {
    assign(g.params, ours, convert(FIXTURE.generator.params[pt]!.data));
  }
  return g;
}

Deno.test("novel generator matches the release's PyTorch generator (train, eval, gradients)", async () => {
  await initBackend("wasm");
  const g = fixtureGenerator();
  const ref = FIXTURE.generator;
  const map = generatorMap();
  const z = tf.tensor2d(ref.z, [C.n, C.latent]);
  const r = tf.tensor(nchwToNhwc(ref.r, C.n, C.ch, C.img), [C.n, C.img, C.img, C.ch]);

  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(g.forward(z, true), r)) as tf.Scalar,
    g.trainable,
  );
  // Training mode: output, spectral-norm vectors after one power iteration, running statistics.
  const out = tf.tidy(() => g.forward(z, false)); // eval output after the training-mode pass
  const wantTrainLoss = ref.outTrain.reduce((s, v, i) => s + v * ref.r[i]!, 0);
  assert.ok(Math.abs(value.dataSync()[0]! - wantTrainLoss) < 1e-4 * Math.abs(wantTrainLoss) + 1e-4);
  assertClose(out.dataSync(), nchwToNhwc(ref.outEval, C.n, C.ch, C.img), 1e-4, "eval output");
  for (const [ours, pt, convert] of map) {
    if (ours.endsWith("/u") || ours.endsWith("/v")) {
      assertClose(g.params.get(ours).dataSync(), convert(ref.buffersAfter[pt]!), 1e-5, ours);
    } else {
      const grad = grads[g.params.get(ours).name]!;
      const check = /^conv[12]\/bias$/.test(ours) ? assertZeroGradient : (
        a: ArrayLike<number>,
        b: number[],
        w: string,
      ) => assertClose(a, b, ours === "conv3/bias" ? 2e-3 : 1e-3, w);
      // conv3's bias gradient sums values that nearly cancel (batch norm follows): its float32
      // error depends on the matrix products' summation order (1.2e-3 with oneDNN's sgemm).
      check(grad.dataSync(), convert(ref.grads[pt]!), `gradient of ${ours}`);
    }
  }
  for (
    const [ours, pt] of [["bn0", "conv_blocks0.0"], ["bn2", "conv_blocks2.1"], [
      "bn3",
      "conv_blocks3.2",
    ]]
  ) {
    for (const stat of ["running_mean", "running_var"]) {
      assertClose(
        g.params.get(`${ours}/${stat}`).dataSync(),
        ref.buffersAfter[`${pt}.${stat}`]!,
        1e-5,
        `${ours}/${stat}`,
      );
    }
  }
  tf.dispose([value, out, z, r, ...Object.values(grads)]);
  g.dispose();
});

/** DFAD's GeneratorA: no spectral norm, its last convolution at `conv_blocks2.3`. */
const generatorAMap = () => plainGeneratorMap(C, "conv_blocks2.3");

Deno.test("DFAD's generator (no spectral norm, BatchNorm eps 1e-5) matches the release's GeneratorA", async () => {
  await initBackend("wasm");
  const g = new Generator({
    latentDim: C.latent,
    imageShape: [C.img, C.img, C.ch],
    width: C.c1 / 128,
    spectralNorm: false,
    init: "pytorch",
    convBnEps: 1e-5,
    rng: new Rng(1),
  });
  const ref = FIXTURE.generatorA;
  for (const [ours, pt, convert] of generatorAMap()) {
    assign(g.params, ours, convert(ref.params[pt]!.data));
  }
  const z = tf.tensor2d(FIXTURE.generator.z, [C.n, C.latent]);
  const r = tf.tensor(nchwToNhwc(FIXTURE.generator.r, C.n, C.ch, C.img), [
    C.n,
    C.img,
    C.img,
    C.ch,
  ]);
  // One training-mode pass (output and gradients), then the eval output with the running
  // statistics that pass left, as the reference does.
  const held: { out?: tf.Tensor } = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = g.forward(z, true);
    held.out = tf.keep(out);
    return tf.sum(tf.mul(out, r)) as tf.Scalar;
  }, g.trainable);
  const train = held.out!;
  const evalOut = tf.tidy(() => g.forward(z, false));
  assertClose(train.dataSync(), nchwToNhwc(ref.outTrain, C.n, C.ch, C.img), 1e-4, "train output");
  assertClose(evalOut.dataSync(), nchwToNhwc(ref.outEval, C.n, C.ch, C.img), 1e-4, "eval output");
  for (const [ours, pt, convert] of generatorAMap()) {
    const grad = grads[g.params.get(ours).name]!;
    const want = convert(ref.grads[pt]!);
    if (/^conv[12]\/bias$/.test(ours)) assertZeroGradient(grad.dataSync(), want, ours);
    else assertClose(grad.dataSync(), want, 1e-3, `gradient of ${ours}`);
  }
  tf.dispose([z, r, train, value, evalOut, ...Object.values(grads)]);
  g.dispose();
});

Deno.test("training-mode generator output matches PyTorch elementwise", async () => {
  await initBackend("wasm");
  const g = fixtureGenerator();
  const out = tf.tidy(() => g.forward(tf.tensor2d(FIXTURE.generator.z, [C.n, C.latent]), true));
  assertClose(
    out.dataSync(),
    nchwToNhwc(FIXTURE.generator.outTrain, C.n, C.ch, C.img),
    1e-4,
    "train output",
  );
  out.dispose();
  g.dispose();
});

Deno.test("encoder matches the release's PyTorch encoder (mu, log-variance, gradients)", async () => {
  await initBackend("wasm");
  const e = new Encoder({
    latentDim: C.latent,
    imageShape: [C.img, C.img, C.ch],
    width: C.e1 / 64,
    rng: new Rng(1),
  });
  const ref = FIXTURE.encoder;
  const map = encoderMap(C);
  for (const [ours, pt, convert] of map) assign(e.params, ours, convert(ref.params[pt]!.data));
  const x = tf.tensor4d(nchwToNhwc(ref.x, C.n, C.ch, C.img), [C.n, C.img, C.img, C.ch]);
  const held: { mu?: tf.Tensor; logVar?: tf.Tensor } = {};
  const { value, grads } = tf.variableGrads(() => {
    const { mu, logVar } = e.forward(x, true);
    held.mu = tf.keep(mu);
    held.logVar = tf.keep(logVar);
    return tf.add(tf.sum(mu), tf.sum(tf.square(logVar))) as tf.Scalar;
  }, e.trainable);
  assertClose(held.mu!.dataSync(), ref.mu, 1e-4, "mu");
  assertClose(held.logVar!.dataSync(), ref.logVar, 1e-4, "logVar");
  for (const [ours, pt, convert] of map) {
    const grad = grads[e.params.get(ours).name]!;
    if (/^conv\d\/bias$/.test(ours)) {
      assertZeroGradient(grad.dataSync(), ref.grads[pt]!, `gradient of ${ours}`);
    } else {
      assertClose(grad.dataSync(), convert(ref.grads[pt]!), 1e-3, `gradient of ${ours}`);
    }
  }
  tf.dispose([value, x, held.mu!, held.logVar!, ...Object.values(grads)]);
  e.dispose();
});

Deno.test("full-size parameter counts equal the release's (1x32x32, latent 1000)", async () => {
  await initBackend("wasm");
  const rng = new Rng(1);
  const shape: [number, number, number] = [32, 32, 1];
  const g = new Generator({
    latentDim: 1000,
    imageShape: shape,
    width: 1,
    spectralNorm: true,
    rng,
  });
  const m = new Generator({
    latentDim: 1000,
    imageShape: shape,
    width: 1,
    spectralNorm: false,
    rng,
  });
  const e = new Encoder({ latentDim: 1000, imageShape: shape, width: 1, rng });
  // Release figures (PyTorch, trainable parameters): G 8,422,785 (spectral norm adds buffers,
  // not parameters), the memory generator the same, E 4,320,720.
  assert.equal(g.params.parameterCount(), 8_422_785);
  assert.equal(m.params.parameterCount(), 8_422_785);
  assert.equal(e.params.parameterCount(), 4_320_720);
  g.dispose();
  m.dispose();
  e.dispose();
});

Deno.test("init 'pytorch' draws weights and biases uniform in ±1/sqrt(fanIn), as nn.Linear and nn.Conv2d", async () => {
  await initBackend("wasm");
  const g = new Generator({
    latentDim: 64,
    imageShape: [8, 8, 1],
    width: 0.25,
    spectralNorm: false,
    init: "pytorch",
    rng: new Rng(3),
  });
  // fanIn: the linear layer's 64 inputs; conv1 32 x 3 x 3, conv2 32 x 3 x 3, conv3 16 x 3 x 3.
  for (
    const [name, fanIn] of [["l1", 64], ["conv1", 288], ["conv2", 288], ["conv3", 144]] as const
  ) {
    const bound = 1 / Math.sqrt(fanIn);
    for (const part of ["weight", "bias"]) {
      const values = Array.from(g.params.get(`${name}/${part}`).dataSync());
      const max = Math.max(...values.map(Math.abs));
      assert.ok(max <= bound, `${name}/${part}: ${max} > ${bound}`);
      if (values.length >= 16) assert.ok(max > 0.7 * bound, `${name}/${part}: spread ${max}`);
    }
  }
  g.dispose();
});
