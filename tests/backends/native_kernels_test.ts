/**
 * The wasm kernels that run in oneDNN where it is present (`Conv2D`,
 * `BatchMatMul`, `_FusedMatMul`) against float64 references. The same tests
 * pass without oneDNN (then they test the backend's own kernels): CI runs
 * this folder once as is and once with `DFKD_ONEDNN=off`.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { ONEDNN_ENV, ONEDNN_LIBRARY } from "../../src/backends/onednn.ts";
import { conv2dRoute } from "../../src/backends/kernels/native_conv2d.ts";
import { convGeometry } from "../../src/backends/kernels/conv_geometry.ts";
import { Rng } from "../../src/util/rng.ts";
import { axis, relativeError } from "./conv_reference.ts";

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function libraryLoads(): boolean {
  try {
    Deno.dlopen(ONEDNN_LIBRARY, {}).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("oneDNN is used exactly where libdnnl.so.2 loads and DFKD_ONEDNN does not turn it off", async () => {
  const info = await initBackend("wasm");
  const off = ["off", "0", "false", "no"].includes((Deno.env.get(ONEDNN_ENV) ?? "").toLowerCase());
  const expected = libraryLoads() && !off;
  assert.equal(info.native?.available, expected, info.native?.detail ?? "no native status");
  assert.equal(info.customKernels.includes("Conv2D"), expected);
  if (expected) assert.match(info.native!.detail, /^oneDNN \d+\.\d+\.\d+ sgemm$/);
  else assert.match(info.native!.detail, off ? /turned off by DFKD_ONEDNN/ : /install libdnnl2/);
});

interface ConvCase {
  n: number;
  h: number;
  w: number;
  c: number;
  co: number;
  kh: number;
  kw: number;
  stride: number;
  pad: "same" | "valid";
}

function refConv(g: ConvCase, x: Float32Array, w: Float32Array): Float64Array {
  const ay = axis(g.h, g.kh, g.stride, 1, g.pad);
  const ax = axis(g.w, g.kw, g.stride, 1, g.pad);
  const out = new Float64Array(g.n * ay.out * ax.out * g.co);
  for (let n = 0; n < g.n; n++) {
    for (let i = 0; i < ay.out; i++) {
      for (let j = 0; j < ax.out; j++) {
        const o = ((n * ay.out + i) * ax.out + j) * g.co;
        for (let a = 0; a < g.kh; a++) {
          const y = i * g.stride + a - ay.before;
          if (y < 0 || y >= g.h) continue;
          for (let b = 0; b < g.kw; b++) {
            const xx = j * g.stride + b - ax.before;
            if (xx < 0 || xx >= g.w) continue;
            for (let c = 0; c < g.c; c++) {
              const xv = x[((n * g.h + y) * g.w + xx) * g.c + c] as number;
              const wb = ((a * g.kw + b) * g.c + c) * g.co;
              for (let q = 0; q < g.co; q++) out[o + q]! += xv * (w[wb + q] as number);
            }
          }
        }
      }
    }
  }
  return out;
}

function checkConv(rng: Rng, g: ConvCase, tolerance: number): void {
  const x = randomArray(rng, g.n * g.h * g.w * g.c);
  const w = randomArray(rng, g.kh * g.kw * g.c * g.co);
  const got = tf.tidy(() =>
    tf.conv2d(
      tf.tensor4d(x, [g.n, g.h, g.w, g.c]),
      tf.tensor4d(w, [g.kh, g.kw, g.c, g.co]),
      g.stride,
      g.pad,
    ).dataSync()
  );
  const err = relativeError(got, refConv(g, x, w));
  assert.ok(err < tolerance, `${JSON.stringify(g)}: relative error ${err}`);
}

Deno.test("Conv2D on wasm matches the float64 reference (1x1, strides, both paddings, wide kernels)", async () => {
  await initBackend("wasm");
  const rng = new Rng("native-conv");
  const routes = new Set<string>();
  checkConv(rng, { n: 2, h: 5, w: 6, c: 7, co: 3, kh: 1, kw: 1, stride: 1, pad: "same" }, 1e-5);
  checkConv(rng, { n: 1, h: 4, w: 4, c: 2, co: 2, kh: 7, kw: 7, stride: 1, pad: "same" }, 1e-5);
  for (let t = 0; t < 30; t++) {
    const k = [1, 2, 3, 4, 5][rng.int(5)] as number;
    const g: ConvCase = {
      n: 1 + rng.int(5),
      h: 4 + rng.int(12),
      w: 4 + rng.int(12),
      c: 1 + rng.int(20),
      co: 1 + rng.int(20),
      kh: k,
      kw: rng.next() < 0.3 ? 1 + rng.int(5) : k,
      stride: 1 + rng.int(2),
      pad: rng.next() < 0.5 ? "same" : "valid",
    };
    if (g.pad === "valid" && (g.kh > g.h || g.kw > g.w)) continue;
    routes.add(conv2dRoute(
      convGeometry(
        [g.n, g.h, g.w, g.c],
        [g.kh, g.kw, g.c, g.co],
        g.stride,
        1,
        g.pad,
        undefined,
        false,
        "NHWC",
      ),
    ));
    checkConv(rng, g, 1e-5);
  }
  // The oneDNN kernel's routes and the fallback to XNNPACK were all among the shapes.
  for (const route of ["backend", "im2col", "tap-products"]) assert.ok(routes.has(route), route);
});

Deno.test("Conv2D on wasm splits a large batch into chunks on both routes and still matches the reference", async () => {
  await initBackend("wasm");
  const rng = new Rng("native-conv-chunks");
  // im2col (outC >= inC / 2): 64 x 64 positions x 5 x 5 x 64 taps is 6.6M floats per image,
  // so three images take two chunks.
  checkConv(rng, { n: 3, h: 64, w: 64, c: 64, co: 32, kh: 5, kw: 5, stride: 1, pad: "same" }, 1e-5);
  // Per-tap products (outC < inC / 2): 420 x 420 pixels x 7 x 7 taps x 1 channel is 8.6M
  // floats per image, so two images take two chunks.
  checkConv(rng, { n: 2, h: 420, w: 420, c: 2, co: 1, kh: 7, kw: 7, stride: 1, pad: "same" }, 1e-5);
});

Deno.test("matrix products on wasm (transposes, broadcast batch, fused bias and activations) match the reference", async () => {
  await initBackend("wasm");
  const rng = new Rng("native-matmul");
  const activations = ["linear", "relu", "relu6", "elu", "leakyrelu", "sigmoid"] as const;
  for (let t = 0; t < 24; t++) {
    const [m, k, n] = [1 + rng.int(40), 1 + rng.int(40), 1 + rng.int(40)];
    const batchA = [1, 3][rng.int(2)] as number;
    const batchB = batchA === 1 ? [1, 3][rng.int(2)] as number : [1, 3][rng.int(2)] as number;
    const a = randomArray(rng, batchA * m * k);
    const b = randomArray(rng, batchB * k * n);
    const bias = randomArray(rng, n);
    // Batched products go through BatchMatMul; fused ones (bias, activation) are 2-D without
    // transposes, as the project's dense layers are: wasm's own _FusedMatMul gives wrong results
    // with a bias on batched or transposed operands.
    const fused = batchA === 1 && batchB === 1;
    const ta = !fused && rng.next() < 0.5;
    const tb = !fused && rng.next() < 0.5;
    const activation = fused ? activations[t % activations.length]! : "linear";
    const alpha = 0.1;
    const shapeA = ta ? [k, m] : [m, k];
    const shapeB = tb ? [n, k] : [k, n];
    const got = tf.tidy(() =>
      fused
        ? tf.fused.matMul({
          a: tf.tensor2d(a, shapeA as [number, number]),
          b: tf.tensor2d(b, shapeB as [number, number]),
          transposeA: ta,
          transposeB: tb,
          bias: tf.tensor1d(bias),
          activation,
          leakyreluAlpha: alpha,
        }).dataSync()
        : tf.matMul(
          tf.tensor([...a], [batchA, ...shapeA]),
          tf.tensor([...b], [batchB, ...shapeB]),
          ta,
          tb,
        )
          .dataSync()
    );
    const batch = Math.max(batchA, batchB);
    const want = new Float64Array(batch * m * n);
    const f = (x: number) =>
      ({
        linear: x,
        relu: Math.max(0, x),
        relu6: Math.min(6, Math.max(0, x)),
        elu: x >= 0 ? x : Math.exp(x) - 1,
        leakyrelu: x >= 0 ? x : alpha * x,
        sigmoid: 1 / (1 + Math.exp(-x)),
      })[activation];
    for (let q = 0; q < batch; q++) {
      const qa = batchA === 1 ? 0 : q;
      const qb = batchB === 1 ? 0 : q;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = fused ? bias[j] as number : 0;
          for (let r = 0; r < k; r++) {
            const av = ta ? a[qa * k * m + r * m + i]! : a[qa * m * k + i * k + r]!;
            const bv = tb ? b[qb * n * k + j * k + r]! : b[qb * k * n + r * n + j]!;
            s += av * bv;
          }
          want[q * m * n + i * n + j] = f(s);
        }
      }
    }
    const err = relativeError(got, want);
    assert.ok(
      err < 1e-5,
      `${batchA}/${batchB} ${m}x${k}x${n} tA=${ta} tB=${tb} ${activation}: ${err}`,
    );
  }
});

Deno.test("the native kernels free their temporary buffers", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([2, 9, 9, 5], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 5, 4], 0, 1, "float32", 2) as tf.Tensor4D;
  tf.tidy(() => tf.conv2d(x, w, 2, "same")); // first call: nothing left behind afterwards either
  const before = tf.memory().numBytes;
  tf.tidy(() => {
    tf.conv2d(x, w, 2, "same");
    tf.matMul(tf.reshape(x, [2, 81 * 5]), tf.ones([81 * 5, 3]), false, false);
  });
  assert.equal(tf.memory().numBytes, before);
  tf.dispose([x, w]);
});
