/**
 * `Conv2D` (NHWC, dilation 1) for the wasm backend as im2col plus oneDNN's
 * sgemm. With `M = N * outH * outW` output positions and `K = kH * kW * inC`
 * taps, `out[M, outC] = cols[M, K] x W[K, outC]`, where row `m` of `cols`
 * holds the input patch of output position `m` (tap by tap, each tap's
 * channels contiguous, zeros where the patch leaves the padded input). The
 * filter is already `[K, outC]` in memory and the output is NHWC, so only
 * `cols` is written; a 1x1 convolution with stride 1 and no padding reads `x`
 * directly. Batches are split so `cols` stays under 64 MiB; each chunk's
 * product is written into its slice of the output. With few output channels
 * the per-tap products of the input replace im2col
 * ({@linkcode tapProductsCheaper}). Patch rows under
 * {@linkcode SHORT_ROW_FLOATS} floats, dilated or NCHW convolutions go to the
 * backend's own kernel ({@linkcode conv2dRoute}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO } from "../kernel_io.ts";
import type { Sgemm } from "../onednn.ts";
import {
  batchChunk,
  type ConvGeometry,
  convGeometry,
  forEachTapRun,
  kernelInput,
} from "./conv_geometry.ts";

/**
 * Writes the im2col rows of images `n0 .. n0 + nc - 1` into `cols`
 * (`[nc * P, K]`, `P = outH * outW`, `K = kH * kW * inC`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { im2col } from "./native_conv2d.ts";
 * import { convGeometry } from "./conv_geometry.ts";
 * const g = convGeometry([1, 2, 2, 1], [2, 2, 1, 1], 1, 1, "valid", undefined, false, "NHWC");
 * const cols = new Float32Array(4);
 * im2col(new Float32Array([1, 2, 3, 4]), cols, g, 0, 1);
 * assert.deepEqual([...cols], [1, 2, 3, 4]);
 * ```
 */
export function im2col(
  xs: Float32Array,
  cols: Float32Array,
  g: ConvGeometry,
  n0: number,
  nc: number,
) {
  const { inH, inW, inC, outH, outW, kH, kW, sH, sW, padTop, padLeft } = g;
  const K = kH * kW * inC;
  let row = 0;
  for (let n = n0; n < n0 + nc; n++) {
    const image = n * inH * inW * inC;
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++, row++) {
        let o = row * K;
        for (let a = 0; a < kH; a++) {
          const y = i * sH + a - padTop;
          if (y < 0 || y >= inH) {
            cols.fill(0, o, o + kW * inC);
            o += kW * inC;
            continue;
          }
          const x0 = j * sW - padLeft;
          const lo = Math.min(kW, Math.max(0, -x0));
          const hi = Math.max(lo, Math.min(kW, inW - x0));
          if (lo > 0) cols.fill(0, o, o + lo * inC);
          if (hi > lo) {
            const src = image + (y * inW + x0 + lo) * inC;
            cols.set(xs.subarray(src, src + (hi - lo) * inC), o + lo * inC);
          }
          if (hi < kW) cols.fill(0, o + hi * inC, o + kW * inC);
          o += kW * inC;
        }
      }
    }
  }
}

/**
 * Patch rows (`kW * inC` floats) shorter than this go to the backend's own
 * convolution: im2col is mostly call overhead there (a one-channel image), and
 * XNNPACK's convolution is faster.
 */
export const SHORT_ROW_FLOATS = 8;

/**
 * Whether a convolution is cheaper as per-tap products of the input
 * ({@linkcode viaTapProducts}) than as im2col. Per output position, im2col
 * copies `kH` contiguous runs of `kW * inC` floats (about 40 ns per copy call
 * plus 0.15 ns per float here), while the per-tap route adds `kH * kW * outC`
 * floats one by one (about 1 ns each); the products cost the same either way.
 * The per-tap route wins for few output channels, as in every generator's last
 * layer (one channel), where im2col's product also degenerates to a
 * matrix-vector product.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tapProductsCheaper } from "./native_conv2d.ts";
 * assert.equal(tapProductsCheaper(64, 1, 3, 3), true);
 * assert.equal(tapProductsCheaper(128, 64, 3, 3), false);
 * ```
 */
export function tapProductsCheaper(inC: number, outC: number, kH: number, kW: number): boolean {
  const taps = kH * kW;
  return taps > 1 && taps * outC < 40 * kH + 0.15 * taps * inC;
}

/** How the native `Conv2D` computes a convolution. */
export type Conv2dRoute = "backend" | "1x1" | "tap-products" | "im2col";

/**
 * The route of an NHWC, undilated convolution of geometry `g`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dRoute } from "./native_conv2d.ts";
 * import { convGeometry } from "./conv_geometry.ts";
 * const g = convGeometry([8, 32, 32, 64], [3, 3, 64, 1], 1, 1, "same", undefined, false, "NHWC");
 * assert.equal(conv2dRoute(g), "tap-products");
 * ```
 */
export function conv2dRoute(g: ConvGeometry): Conv2dRoute {
  const { kH, kW, inC, outC } = g;
  if (kW * inC < SHORT_ROW_FLOATS) return "backend";
  const whole = kH === 1 && kW === 1 && g.sH === 1 && g.sW === 1 && g.padTop === 0 &&
    g.padLeft === 0 && g.outH === g.inH && g.outW === g.inW;
  if (whole) return "1x1";
  return tapProductsCheaper(inC, outC, kH, kW) ? "tap-products" : "im2col";
}

/**
 * The convolution as `Y = X[pixels, inC] x Wr[inC, kH * kW * outC]` (each
 * input pixel times every tap's filter), then each output position adds the
 * tap products of the input pixels its window covers. Written into `out`
 * (zero-filled).
 */
function viaTapProducts(
  sgemm: Sgemm,
  io: KernelIO,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
  out: tf.TensorInfo,
): void {
  const { inH, inW, inC, outC, kH, kW } = g;
  const T = kH * kW;
  const N = T * outC;
  const wr = io.alloc([inC, N], false);
  {
    const w = io.view(filter);
    const r = io.view(wr);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < inC; c++) {
        const src = (t * inC + c) * outC;
        for (let o = 0; o < outC; o++) r[c * N + t * outC + o] = w[src + o] as number;
      }
    }
  }
  const pixels = inH * inW;
  const chunk = batchChunk(g.batch, pixels * N);
  const yInfo = io.alloc([Math.min(chunk, g.batch) * pixels, N], false);
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nc = Math.min(chunk, g.batch - n0);
    const y = io.view(yInfo);
    const xs = io.view(x).subarray(n0 * pixels * inC, (n0 + nc) * pixels * inC);
    sgemm(false, false, nc * pixels, N, inC, xs, inC, io.view(wr), N, y, N);
    addTapProducts(y, io.view(out), g, n0, nc);
  }
  io.free(yInfo);
  io.free(wr);
}

/** `out[n0 + n, i, j, :] += Y[n, i * sH + a - padTop, j * sW + b - padLeft, tap (a, b), :]`. */
function addTapProducts(y: Float32Array, o: Float32Array, g: ConvGeometry, n0: number, nc: number) {
  const { inH, inW, outH, outW, outC, kH, kW, sW } = g;
  const N = kH * kW * outC;
  const srcStep = sW * N;
  forEachTapRun(g, nc, (tap, n, i, jLo, jHi, row, x0) => {
    let src = ((n * inH + row) * inW + x0) * N + tap * outC;
    let dst = (((n0 + n) * outH + i) * outW + jLo) * outC;
    for (let j = jLo; j < jHi; j++, src += srcStep, dst += outC) {
      for (let c = 0; c < outC; c++) o[dst + c] = (o[dst + c] as number) + (y[src + c] as number);
    }
  });
}

/**
 * The forward convolution through `sgemm`, or undefined when the attributes
 * are outside what it covers.
 */
function nativeConv2d(
  sgemm: Sgemm,
  backend: unknown,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DAttrs,
): tf.TensorInfo | undefined {
  const dil = attrs.dilations;
  const dilated = Array.isArray(dil) ? dil.some((d) => d !== 1) : dil !== undefined && dil !== 1;
  const format = attrs.dataFormat as string | undefined;
  if (dilated || (format !== undefined && format !== "NHWC" && format !== "channelsLast")) {
    return undefined;
  }
  const g = convGeometry(
    x.shape,
    filter.shape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat,
  );
  const route = conv2dRoute(g);
  if (route === "backend") return undefined;
  const { outH, outW, outC, kH, kW, inC } = g;
  const K = kH * kW * inC;
  const P = outH * outW;
  const io = kernelIO("wasm", backend);
  if (route === "tap-products") {
    const out = io.alloc([g.batch, outH, outW, outC], true);
    viaTapProducts(sgemm, io, x, filter, g, out);
    return out;
  }
  const out = io.alloc([g.batch, outH, outW, outC], false);
  if (route === "1x1") {
    const M = g.batch * P;
    sgemm(false, false, M, outC, K, io.view(x), K, io.view(filter), outC, io.view(out), outC);
    return out;
  }
  const chunk = batchChunk(g.batch, P * K);
  const colsInfo = io.alloc([Math.min(chunk, g.batch) * P, K], false);
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nc = Math.min(chunk, g.batch - n0);
    const cols = io.view(colsInfo);
    im2col(io.view(x), cols, g, n0, nc);
    const M = nc * P;
    const c = io.view(out).subarray(n0 * P * outC, (n0 + nc) * P * outC);
    sgemm(false, false, M, outC, K, cols, K, io.view(filter), outC, c, outC);
  }
  io.free(colsInfo);
  return out;
}

/**
 * The `Conv2D` kernel for wasm through `sgemm`; `original` is the backend's
 * own kernel for what it does not cover.
 *
 * @example
 * ```ts
 * // registered by registerTrainingKernels("wasm") where oneDNN is present
 * ```
 */
export function nativeConv2dConfig(
  sgemm: Sgemm,
  original: () => tf.KernelConfig | undefined,
): tf.KernelConfig {
  return {
    kernelName: tf.Conv2D,
    backendName: "wasm",
    kernelFunc: (args) => {
      const x = kernelInput(args.inputs, "x", tf.Conv2D);
      const filter = kernelInput(args.inputs, "filter", tf.Conv2D);
      const attrs = args.attrs as unknown as tf.Conv2DAttrs;
      const out = nativeConv2d(sgemm, args.backend, x, filter, attrs);
      if (out !== undefined) return out;
      const inner = original();
      if (inner === undefined) throw new Error("No original Conv2D kernel for wasm");
      return inner.kernelFunc(args);
    },
  };
}
