import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { Rng } from "../../src/util/rng.ts";
import { axis, relativeError } from "./conv_reference.ts";

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Float64 reference: each output's gradient to the first maximum of its window (row-major scan). */
function refMaxPoolGrad(
  x: Float32Array,
  dy: Float32Array,
  [n, h, w, c]: number[],
  k: number,
  stride: number,
  pad: "same" | "valid",
): Float64Array {
  const ay = axis(h!, k, stride, 1, pad);
  const ax = axis(w!, k, stride, 1, pad);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < n!; b++) {
    for (let i = 0; i < ay.out; i++) {
      for (let j = 0; j < ax.out; j++) {
        for (let ch = 0; ch < c!; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let a = 0; a < k; a++) {
            for (let d = 0; d < k; d++) {
              const y = i * stride + a - ay.before;
              const xx = j * stride + d - ax.before;
              if (y < 0 || y >= h! || xx < 0 || xx >= w!) continue;
              const p = ((b * h! + y) * w! + xx) * c! + ch;
              if (x[p]! > best) {
                best = x[p]!;
                at = p;
              }
            }
          }
          dx[at]! += dy[((b * ay.out + i) * ax.out + j) * c! + ch]!;
        }
      }
    }
  }
  return dx;
}

Deno.test("MaxPoolGrad on wasm matches the float64 reference (overlapping and padded windows)", async () => {
  await initBackend("wasm");
  const rng = new Rng("maxpool");
  for (let t = 0; t < 30; t++) {
    const shape = [1 + rng.int(4), 4 + rng.int(10), 4 + rng.int(10), 1 + rng.int(6)];
    const k = 2 + rng.int(2);
    const stride = 1 + rng.int(2);
    const pad = rng.next() < 0.5 ? "same" : "valid";
    const x = randomArray(rng, shape.reduce((p, d) => p * d, 1));
    const got = tf.tidy(() => {
      const xt = tf.tensor4d(x, shape as [number, number, number, number]);
      const y = tf.maxPool(xt, k, stride, pad);
      const dy = tf.tensor(randomArray(new Rng(t), y.size), y.shape);
      const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: xt, output: y }, {
        filterSize: k,
        strides: stride,
        pad,
      }) as tf.Tensor;
      return { dx: dx.dataSync(), dy: dy.dataSync() as Float32Array };
    });
    const want = refMaxPoolGrad(x, got.dy, shape, k, stride, pad);
    const err = relativeError(got.dx, want);
    assert.ok(err < 1e-6, `${shape} k${k} s${stride} ${pad}: relative error ${err}`);
  }
});

Deno.test("MaxPoolGrad sends a tied window's gradient to its first maximum", async () => {
  await initBackend("wasm");
  const dx = tf.tidy(() =>
    tf.grad((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid").sum())(
      tf.tensor4d([1, 1, 1, 1], [1, 2, 2, 1]),
    ).dataSync()
  );
  assert.deepEqual(Array.from(dx), [1, 0, 0, 0]);
});

Deno.test("BatchMatMul on wasm with transposed operands matches the float64 reference", async () => {
  await initBackend("wasm");
  const rng = new Rng("matmul");
  for (let t = 0; t < 30; t++) {
    const batch = [[], [2], [3]][rng.int(3)] as number[];
    const [m, k, n] = [1 + rng.int(70), 1 + rng.int(70), 1 + rng.int(70)];
    const ta = rng.next() < 0.5;
    const tb = rng.next() < 0.5;
    const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
    const bShape = [...batch, ...(tb ? [n, k] : [k, n])];
    const a = randomArray(rng, aShape.reduce((p, d) => p * d, 1));
    const b = randomArray(rng, bShape.reduce((p, d) => p * d, 1));
    const got = tf.tidy(() =>
      tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb).dataSync()
    );
    const B = batch.reduce((p, d) => p * d, 1);
    const want = new Float64Array(B * m * n);
    for (let q = 0; q < B; q++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let r = 0; r < k; r++) {
            const av = ta ? a[q * k * m + r * m + i]! : a[q * m * k + i * k + r]!;
            const bv = tb ? b[q * n * k + j * k + r]! : b[q * k * n + r * n + j]!;
            s += av * bv;
          }
          want[q * m * n + i * n + j] = s;
        }
      }
    }
    const err = relativeError(got, want);
    assert.ok(err < 1e-5, `${aShape} x ${bShape} tA=${ta} tB=${tb}: relative error ${err}`);
  }
});

Deno.test("the BatchMatMul wrapper frees its transposed copies", async () => {
  await initBackend("wasm");
  const a = tf.randomNormal([5, 7], 0, 1, "float32", 1);
  const b = tf.randomNormal([9, 7], 0, 1, "float32", 2);
  const step = () => tf.tidy(() => tf.matMul(a, b, false, true).dataSync());
  step();
  const ids = tf.engine().backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.engine().backend.numDataIds(), ids);
  tf.dispose([a, b]);
});
