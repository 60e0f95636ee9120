import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { BatchNorm } from "../../src/methods/blocks/batch_norm.ts";
import {
  addBias,
  channelSum,
  downsample2,
  leakyRelu,
  linear,
  upsampleConv3x3,
} from "../../src/methods/blocks/ops.ts";
import { ParamSet } from "../../src/methods/blocks/params.ts";
import { SpectralNorm } from "../../src/methods/blocks/spectral_norm.ts";
import { Rng } from "../../src/util/rng.ts";

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** Largest eigenvalue of a symmetric matrix by cyclic Jacobi rotations, in float64. */
function largestEigenvalue(m: number[][]): number {
  const a = m.map((r) => [...r]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Math.max(...a.map((r, i) => r[i]!));
}

Deno.test("spectral norm's power iteration converges to the largest singular value (within 1%)", async () => {
  await initBackend("wasm");
  const params = new ParamSet();
  const rng = new Rng(7);
  // A random 3x3 conv weight, 5 -> 6 channels: the matrix W is [6, 45].
  const w = params.add("w", tf.randomNormal([3, 3, 5, 6], 0, 1, "float32", rng.seed()), true);
  const sn = new SpectralNorm(params, "w", w, rng);
  // True sigma_max: sqrt of the largest eigenvalue of W W^T, in float64 (Jacobi).
  const flat = Array.from(w.dataSync()); // index (k*5 + i)*6 + o
  const wm = Array.from(
    { length: 6 },
    (_, o) => Array.from({ length: 45 }, (_, r) => flat[r * 6 + o]!),
  );
  const gram = wm.map((ri) => wm.map((rj) => ri.reduce((s, v, k) => s + v * rj[k]!, 0)));
  const trueSigma = Math.sqrt(largestEigenvalue(gram));
  for (let i = 0; i < 30; i++) sn.powerIteration();
  const sigma = sn.sigma();
  const estimate = sigma.dataSync()[0]!;
  assert.ok(
    Math.abs(estimate - trueSigma) / trueSigma < 0.01,
    `estimate ${estimate}, true ${trueSigma}`,
  );
  // The normalised weight has largest singular value 1 (measured with the same estimate).
  const normalised = sn.weight();
  const nflat = Array.from(normalised.dataSync());
  const nm = Array.from(
    { length: 6 },
    (_, o) => Array.from({ length: 45 }, (_, r) => nflat[r * 6 + o]!),
  );
  const ngram = nm.map((ri) => nm.map((rj) => ri.reduce((s, v, k) => s + v * rj[k]!, 0)));
  assert.ok(Math.abs(Math.sqrt(largestEigenvalue(ngram)) - 1) < 0.01);
  tf.dispose([sigma, normalised]);
  params.dispose();
});

Deno.test("one power-iteration step follows PyTorch's formula (v = n(W^T u), u = n(W v))", async () => {
  await initBackend("wasm");
  const params = new ParamSet();
  const rng = new Rng(3);
  const w = params.add("w", tf.randomNormal([3, 3, 2, 3], 0, 1, "float32", rng.seed()), true);
  const sn = new SpectralNorm(params, "w", w, rng);
  const flat = Array.from(w.dataSync());
  const rows = 18;
  const W = (o: number, r: number) => flat[r * 3 + o]!; // PyTorch's W[o][r]
  const u0 = Array.from(sn.u.dataSync());
  const norm = (x: number[]) => {
    const n = Math.max(Math.hypot(...x), 1e-12);
    return x.map((v) => v / n);
  };
  const v = norm(
    Array.from({ length: rows }, (_, r) => u0.reduce((s, uo, o) => s + W(o, r) * uo, 0)),
  );
  const u = norm(Array.from({ length: 3 }, (_, o) => v.reduce((s, vr, r) => s + W(o, r) * vr, 0)));
  const sigma = u.reduce((s, uo, o) => s + uo * v.reduce((t, vr, r) => t + W(o, r) * vr, 0), 0);
  sn.powerIteration();
  Array.from(sn.v.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - v[i]!) < 1e-5));
  Array.from(sn.u.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - u[i]!) < 1e-5));
  const got = sn.sigma();
  assert.ok(Math.abs(got.dataSync()[0]! - sigma) < 1e-4 * Math.abs(sigma));
  got.dispose();
  params.dispose();
});

// Both forward paths: a stride-2 transposed convolution (small inputs) and four phase
// convolutions (from 8192 input pixels).
for (const [n, h, w] of [[2, 5, 6], [2, 64, 64]] as const) {
  Deno.test(`upsampleConv3x3 equals nearest upsampling then a 3x3 conv (${n}x${h}x${w})`, async () => {
    await initBackend("wasm");
    const x = tf.randomNormal([n, h, w, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
    const dy = tf.randomNormal([n, 2 * h, 2 * w, 4], 0, 1, "float32", 3);
    const reference = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(
        tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [2 * h, 2 * w]),
        b as tf.Tensor4D,
        1,
        "same",
      );
    const ours = (a: tf.Tensor, b: tf.Tensor) =>
      upsampleConv3x3(a as tf.Tensor4D, b as tf.Tensor4D);
    const [y1, y2] = [ours(x, f), reference(x, f)];
    assert.ok(maxDiff(y1, y2) < 1e-4, `forward differs by ${maxDiff(y1, y2)}`);
    const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ours(a, b), dy)))([x, f]);
    const g2 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(reference(a, b), dy)))([
      x,
      f,
    ]);
    const scale = tf.tidy(() => tf.max(tf.abs(g2[1]!)).dataSync()[0]!);
    assert.ok(maxDiff(g1[0]!, g2[0]!) < 1e-3, "input gradient");
    assert.ok(maxDiff(g1[1]!, g2[1]!) < 1e-5 * scale + 1e-3, "filter gradient");
    // With the filter held constant, the input gradient is the same.
    const gx = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(upsampleConv3x3(a as tf.Tensor4D, f, false), dy))
    )(x);
    assert.ok(maxDiff(gx, g2[0]!) < 1e-3, "input gradient alone");
    tf.dispose([x, f, dy, y1, y2, gx, ...g1, ...g2]);
  });
}

Deno.test("downsample2 equals PyTorch-style nearest x0.5 (values and gradient)", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([2, 6, 4, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const dy = tf.randomNormal([2, 3, 2, 3], 0, 1, "float32", 5);
  // By hand: output (i, j) is input (2i, 2j).
  const want = tf.tidy(() => tf.gather(tf.gather(x, [0, 2, 4], 1), [0, 2], 2));
  const got = downsample2(x);
  assert.equal(maxDiff(got, want), 0);
  const g1 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(downsample2(a as tf.Tensor4D), dy)))(x);
  const g2 = tf.grad((a: tf.Tensor) =>
    tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [3, 2]), dy))
  )(x);
  assert.equal(maxDiff(g1, g2), 0);
  tf.dispose([x, dy, want, got, g1, g2]);
});

Deno.test("linear, addBias, leakyRelu and channelSum match TensorFlow.js autodiff", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([3, 7], 0, 1, "float32", 6) as tf.Tensor2D;
  const w = tf.randomNormal([7, 5], 0, 1, "float32", 7);
  const b = tf.randomNormal([5], 0, 1, "float32", 8);
  const dy = tf.randomNormal([3, 5], 0, 1, "float32", 9);
  const loss =
    (f: (a: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
    (a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, ww, bb), dy));
  const want = tf.grads(loss((a, ww, bb) => tf.add(tf.matMul(a, ww), bb)))([x, w, b]);
  const got = tf.grads(loss((a, ww, bb) => linear(a, ww, bb)))([x, w, b]);
  got.forEach((g, i) => assert.ok(maxDiff(g, want[i]!) < 1e-5, `linear gradient ${i}`));
  // Without the input gradient, x is a constant: weight and bias gradients are unchanged.
  const gotW = tf.grads((ww: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(linear(x, ww, bb, { input: false }), dy))
  )([w, b]);
  gotW.forEach((g, i) => assert.ok(maxDiff(g, want[i + 1]!) < 1e-5, `linear weight gradient ${i}`));
  // Without weight gradients, the weights are constants: the input gradient is unchanged.
  const gotX = tf.grad((a: tf.Tensor) =>
    tf.sum(tf.mul(linear(a as tf.Tensor2D, w, b, { weights: false }), dy))
  )(x);
  assert.ok(maxDiff(gotX, want[0]!) < 1e-5, "linear input gradient alone");

  const img = tf.randomNormal([2, 3, 3, 4], 0, 1, "float32", 10);
  const bias = tf.randomNormal([4], 0, 1, "float32", 11);
  const dimg = tf.randomNormal([2, 3, 3, 4], 0, 1, "float32", 12);
  const a1 = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(addBias(p, q), dimg)))([
    img,
    bias,
  ]);
  const a2 = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.add(p, q), dimg)))([
    img,
    bias,
  ]);
  a1.forEach((g, i) => assert.ok(maxDiff(g, a2[i]!) < 1e-5, `addBias gradient ${i}`));
  const l1 = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(leakyRelu(p, 0.2), dimg)))(img);
  const l2 = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(p, 0.2), dimg)))(img);
  assert.ok(maxDiff(l1, l2) < 1e-6);
  assert.ok(maxDiff(leakyRelu(img, 0.2), tf.leakyRelu(img, 0.2)) < 1e-6);
  assert.ok(maxDiff(channelSum(img), tf.sum(img, [0, 1, 2])) < 1e-5);
  tf.dispose([x, w, b, dy, img, bias, dimg, ...want, ...got, ...gotW, gotX, ...a1, ...a2, l1, l2]);
});

Deno.test("BatchNorm: PyTorch training statistics, running estimates, eval mode, gradients", async () => {
  await initBackend("wasm");
  const params = new ParamSet();
  const bn = new BatchNorm(params, "bn", 3, { eps: 0.8 });
  params.get("bn/weight").assign(tf.tensor1d([1.5, -0.5, 2]));
  params.get("bn/bias").assign(tf.tensor1d([0.1, 0.2, -0.3]));
  const x = tf.randomNormal([4, 2, 2, 3], 1, 2, "float32", 13);
  const dy = tf.randomNormal([4, 2, 2, 3], 0, 1, "float32", 14);
  // Plain formula (biased batch variance), differentiated by TensorFlow.js autodiff.
  const plain = (input: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(input, [0, 1, 2]);
    return tf.add(tf.mul(tf.div(tf.sub(input, mean), tf.sqrt(tf.add(variance, 0.8))), g), b);
  };
  const gamma = params.get("bn/weight");
  const beta = params.get("bn/bias");
  const want = plain(x, gamma, beta);
  const got = bn.apply(x, true);
  assert.ok(maxDiff(got, want) < 1e-5);
  // Running statistics after one batch: 0.9 * (0, 1) + 0.1 * (mean, unbiased variance).
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const rm = tf.mul(mean, 0.1);
  const rv = tf.add(0.9, tf.mul(variance, 0.1 * 16 / 15));
  assert.ok(maxDiff(params.get("bn/running_mean"), rm) < 1e-6);
  assert.ok(maxDiff(params.get("bn/running_var"), rv) < 1e-5);
  // Eval mode uses them.
  const evalWant = tf.add(tf.mul(tf.div(tf.sub(x, rm), tf.sqrt(tf.add(rv, 0.8))), gamma), beta);
  assert.ok(maxDiff(bn.apply(x, false), evalWant) < 1e-5);
  const g1 = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(bn.apply(a, true), dy)))(x);
  const g2 = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(plain(a, g, b), dy))
  )(
    [x, gamma, beta],
  );
  assert.ok(maxDiff(g1, g2[0]!) < 1e-5, "input gradient");
  const vg = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(x, true), dy)) as tf.Scalar, [
    gamma,
    beta,
  ]);
  assert.ok(maxDiff(vg.grads[gamma.name]!, g2[1]!) < 1e-4, "scale gradient");
  assert.ok(maxDiff(vg.grads[beta.name]!, g2[2]!) < 1e-4, "shift gradient");
  params.dispose();
});
