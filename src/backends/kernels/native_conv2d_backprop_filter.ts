/**
 * `Conv2DBackpropFilter` (NHWC, dilation 1) for the wasm backend through
 * oneDNN's sgemm, by one of three routes ({@linkcode filterGradientRoute});
 * the first two accumulate batch chunks in the product itself (`beta = 1`):
 *
 * - im2col: `dW[K, outC] = cols[M, K]^T x dy[M, outC]`, with the rows of
 *   `cols` written as in the forward convolution (contiguous copies) and the
 *   transpose left to sgemm;
 * - per-tap products of the output gradient, when there are fewer output than
 *   input channels ({@linkcode tapProductsCheaper}): with `D[pixel, tap, o]`
 *   the output gradient of the position that reads `pixel` at `tap` (zero
 *   where none does), `R[inC, taps * outC] = X[pixels, inC]^T x D`, and `dW` is
 *   `R` with its axes reordered. A one-channel output gradient (every
 *   generator's last layer) then costs a product with 9 columns instead of a
 *   matrix-vector product over 9 * inC im2col columns;
 * - the shared kernel (`conv2d_backprop_filter.ts`: the input's columns
 *   channel by channel, then one product, in sgemm through `BatchMatMul`) when
 *   `inC * outC` is at most {@linkcode COLUMNS_MAX_CHANNEL_PAIRS}, as for a
 *   first layer reading a one-channel image (64 x 32x32x1 -> 5x5x6: 3.9 ms,
 *   against 15 ms for direct loops in JavaScript).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO } from "../kernel_io.ts";
import type { Sgemm } from "../onednn.ts";
import { batchChunk, type ConvGeometry, forEachTapRun, kernelInput } from "./conv_geometry.ts";
import { filterGradientGeometry } from "./conv2d_backprop_filter.ts";
import { im2col, tapProductsCheaper } from "./native_conv2d.ts";

/**
 * Channel pairs (`inC * outC`) up to which the filter gradient takes the
 * shared kernel's route (`conv2d_backprop_filter.ts`: per-channel columns,
 * then one product, which oneDNN's sgemm computes through `BatchMatMul`).
 */
export const COLUMNS_MAX_CHANNEL_PAIRS = 8;

/** How {@linkcode nativeConv2dBackpropFilterConfig} computes a filter gradient. */
export type FilterGradientRoute = "columns" | "tap-products" | "im2col";

/**
 * The route the native kernel takes for a filter of `kH x kW x inC x outC`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filterGradientRoute } from "./native_conv2d_backprop_filter.ts";
 * assert.equal(filterGradientRoute(1, 6, 5, 5), "columns");
 * assert.equal(filterGradientRoute(64, 1, 3, 3), "tap-products");
 * assert.equal(filterGradientRoute(64, 128, 3, 3), "im2col");
 * ```
 */
export function filterGradientRoute(
  inC: number,
  outC: number,
  kH: number,
  kW: number,
): FilterGradientRoute {
  if (inC * outC <= COLUMNS_MAX_CHANNEL_PAIRS) return "columns";
  return tapProductsCheaper(inC, outC, kH, kW) ? "tap-products" : "im2col";
}

/** The filter gradient through im2col rows and one transposed product per chunk. */
function viaIm2col(
  sgemm: Sgemm,
  io: KernelIO,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
) {
  const { outH, outW, outC, kH, kW, inC } = g;
  const K = kH * kW * inC;
  const P = outH * outW;
  const dw = io.alloc([K, outC], false);
  const chunk = batchChunk(g.batch, P * K);
  const colsInfo = io.alloc([Math.min(chunk, g.batch) * P, K], false);
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nc = Math.min(chunk, g.batch - n0);
    const cols = io.view(colsInfo);
    im2col(io.view(x), cols, g, n0, nc);
    const d = io.view(dy).subarray(n0 * P * outC, (n0 + nc) * P * outC);
    sgemm(true, false, K, outC, nc * P, cols, K, d, outC, io.view(dw), outC, n0 === 0 ? 0 : 1);
  }
  io.free(colsInfo);
  return dw;
}

/** Scatters `dy` of images `n0 ..` into `D[pixel, tap, o]` (zero-filled first). */
function scatterTaps(dys: Float32Array, d: Float32Array, g: ConvGeometry, n0: number, nc: number) {
  const { inH, inW, outH, outW, outC, kH, kW, sW } = g;
  const N = kH * kW * outC;
  const dstStep = sW * N;
  d.fill(0, 0, nc * inH * inW * N);
  forEachTapRun(g, nc, (tap, n, i, jLo, jHi, row, x0) => {
    let dst = ((n * inH + row) * inW + x0) * N + tap * outC;
    let src = (((n0 + n) * outH + i) * outW + jLo) * outC;
    for (let j = jLo; j < jHi; j++, dst += dstStep, src += outC) {
      for (let c = 0; c < outC; c++) d[dst + c] = dys[src + c] as number;
    }
  });
}

/** The filter gradient through per-tap products of the output gradient. */
function viaTapProducts(
  sgemm: Sgemm,
  io: KernelIO,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
) {
  const { inH, inW, inC, outC, kH, kW } = g;
  const T = kH * kW;
  const N = T * outC;
  const pixels = inH * inW;
  const r = io.alloc([inC, N], false);
  const chunk = batchChunk(g.batch, pixels * N);
  const dInfo = io.alloc([Math.min(chunk, g.batch) * pixels, N], false);
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nc = Math.min(chunk, g.batch - n0);
    const d = io.view(dInfo);
    scatterTaps(io.view(dy), d, g, n0, nc);
    const xs = io.view(x).subarray(n0 * pixels * inC, (n0 + nc) * pixels * inC);
    sgemm(true, false, inC, N, nc * pixels, xs, inC, d, N, io.view(r), N, n0 === 0 ? 0 : 1);
  }
  io.free(dInfo);
  const dw = io.alloc([T * inC, outC], false);
  const rs = io.view(r);
  const ws = io.view(dw);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < inC; c++) {
      for (let o = 0; o < outC; o++) {
        ws[(t * inC + c) * outC + o] = rs[c * N + t * outC + o] as number;
      }
    }
  }
  io.free(r);
  return dw;
}

/**
 * The `Conv2DBackpropFilter` kernel for wasm through `sgemm`; `fallback`
 * computes what it does not cover (dilated or NCHW convolutions).
 *
 * @example
 * ```ts
 * // registered by registerTrainingKernels("wasm") where oneDNN is present
 * ```
 */
export function nativeConv2dBackpropFilterConfig(
  sgemm: Sgemm,
  fallback: tf.KernelConfig,
): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: "wasm",
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const format = attrs.dataFormat as string | undefined;
      if (format !== undefined && format !== "NHWC" && format !== "channelsLast") {
        return fallback.kernelFunc(args);
      }
      const x = kernelInput(args.inputs, "x", tf.Conv2DBackpropFilter);
      const dy = kernelInput(args.inputs, "dy", tf.Conv2DBackpropFilter);
      const g = filterGradientGeometry(x.shape, attrs);
      const route = filterGradientRoute(g.inC, g.outC, g.kH, g.kW);
      if (route === "columns") return fallback.kernelFunc(args);
      const io = kernelIO("wasm", args.backend);
      const dw = route === "tap-products"
        ? viaTapProducts(sgemm, io, x, dy, g)
        : viaIm2col(sgemm, io, x, dy, g);
      dw.shape = [...attrs.filterShape];
      return dw;
    },
  };
}
