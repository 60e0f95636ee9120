import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { Encoder } from "../../src/methods/blocks/encoder.ts";
import { Generator } from "../../src/methods/blocks/generator.ts";
import type { ParamSet } from "../../src/methods/blocks/params.ts";
import { Rng } from "../../src/util/rng.ts";

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

/** PyTorch conv weight [out, in, kh, kw] (flat) -> NHWC filter [kh, kw, in, out] (flat). */
function convToHwio(data: number[], out: number, inC: number): number[] {
  const res = new Array<number>(data.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inC; i++) {
      for (let k = 0; k < 9; k++) res[(k * inC + i) * out + o] = data[(o * inC + i) * 9 + k]!;
    }
  }
  return res;
}

/** PyTorch spectral-norm v (index i*9 + k over [in, kh, kw]) -> ours (index k*in + i). */
function snV(data: number[], inC: number): number[] {
  const res = new Array<number>(data.length);
  for (let i = 0; i < inC; i++) for (let k = 0; k < 9; k++) res[k * inC + i] = data[i * 9 + k]!;
  return res;
}

/** NCHW flat index of (c, h, w) -> NHWC flat index, for an s x s x ch feature map. */
function chwToHwc(index: number, s: number, ch: number): number {
  const c = Math.floor(index / (s * s));
  const hw = index % (s * s);
  return hw * ch + c;
}

/**
 * PyTorch Linear weight [out, in] -> ours [in, out]; `outPerm`/`inPerm` map PyTorch's output /
 * input index to ours (the NCHW view after the generator's first layer, the NCHW flatten before
 * the encoder's heads).
 */
function linearToOurs(
  data: number[],
  out: number,
  inSize: number,
  outPerm: (o: number) => number,
  inPerm: (i: number) => number,
): number[] {
  const res = new Array<number>(data.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inSize; i++) res[inPerm(i) * out + outPerm(o)] = data[o * inSize + i]!;
  }
  return res;
}

function permuteVector(data: number[], perm: (i: number) => number): number[] {
  const res = new Array<number>(data.length);
  data.forEach((v, i) => (res[perm(i)] = v));
  return res;
}

function nchwToNhwc(data: number[], n: number, ch: number, s: number): number[] {
  const res = new Array<number>(data.length);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < ch; c++) {
      for (let p = 0; p < s * s; p++) {
        res[(b * s * s + p) * ch + c] = data[(b * ch + c) * s * s + p]!;
      }
    }
  }
  return res;
}

/**
 * The gradient of a conv bias followed by a training-mode BatchNorm is zero (the batch mean
 * subtraction cancels the bias); both frameworks hold rounding noise there, so check smallness.
 */
function assertZeroGradient(got: ArrayLike<number>, want: number[], what: string): void {
  const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
  assert.ok(maxAbs(got) < 1e-4 && maxAbs(want) < 1e-4, `${what}: expected ~0`);
}

function assign(params: ParamSet, name: string, values: number[]): void {
  const v = params.get(name);
  assert.equal(values.length, v.size, `${name}: size`);
  v.assign(tf.tensor(values, v.shape));
}

function assertClose(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  const scale = Math.max(1e-6, ...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  assert.ok(worst <= tol * scale, `${what}: max abs error ${worst} (scale ${scale})`);
}

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

/** (our name, PyTorch name, converter) for DFAD's GeneratorA (no spectral norm, its module names). */
function generatorAMap(): [string, string, (d: number[]) => number[]][] {
  const s = C.img / 4;
  const id = (d: number[]) => d;
  const fcPerm = (o: number) => chwToHwc(o, s, C.c1);
  return [
    ["l1/weight", "l1.0.weight", (d) => linearToOurs(d, C.c1 * s * s, C.latent, fcPerm, (i) => i)],
    ["l1/bias", "l1.0.bias", (d) => permuteVector(d, fcPerm)],
    ["bn0/weight", "conv_blocks0.0.weight", id],
    ["bn0/bias", "conv_blocks0.0.bias", id],
    ["conv1/weight", "conv_blocks1.0.weight", (d) => convToHwio(d, C.c1, C.c1)],
    ["conv1/bias", "conv_blocks1.0.bias", id],
    ["bn1/weight", "conv_blocks1.1.weight", id],
    ["bn1/bias", "conv_blocks1.1.bias", id],
    ["conv2/weight", "conv_blocks2.0.weight", (d) => convToHwio(d, C.c2, C.c1)],
    ["conv2/bias", "conv_blocks2.0.bias", id],
    ["bn2/weight", "conv_blocks2.1.weight", id],
    ["bn2/bias", "conv_blocks2.1.bias", id],
    ["conv3/weight", "conv_blocks2.3.weight", (d) => convToHwio(d, C.ch, C.c2)],
    ["conv3/bias", "conv_blocks2.3.bias", id],
  ];
}

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
  const s2 = C.img / 8;
  const id = (d: number[]) => d;
  const flatPerm = (i: number) => chwToHwc(i, s2, C.e2);
  const map: [string, string, (d: number[]) => number[]][] = [
    ["conv0/weight", "conv_blocks0.0.weight", (d) => convToHwio(d, C.e1, C.ch)],
    ["conv0/bias", "conv_blocks0.0.bias", id],
    ["bn0/weight", "conv_blocks0.1.weight", id],
    ["bn0/bias", "conv_blocks0.1.bias", id],
    ["conv1/weight", "conv_blocks1.0.weight", (d) => convToHwio(d, C.e2, C.e1)],
    ["conv1/bias", "conv_blocks1.0.bias", id],
    ["bn1/weight", "conv_blocks1.1.weight", id],
    ["bn1/bias", "conv_blocks1.1.bias", id],
    ["conv2/weight", "conv_blocks2.0.weight", (d) => convToHwio(d, C.e2, C.e2)],
    ["conv2/bias", "conv_blocks2.0.bias", id],
    ["bn2/weight", "conv_blocks2.1.weight", id],
    ["bn2/bias", "conv_blocks2.1.bias", id],
    ...["fc_mu", "fc_var"].flatMap((h): [string, string, (d: number[]) => number[]][] => [
      [
        `${h}/weight`,
        `${h}.weight`,
        (d) => linearToOurs(d, C.latent, C.e2 * s2 * s2, (o) => o, flatPerm),
      ],
      [`${h}/bias`, `${h}.bias`, id],
    ]),
  ];
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
