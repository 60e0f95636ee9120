/**
 * `Conv2D` (NHWC, dilation 1) for the wasm backend as im2col plus oneDNN's
 * sgemm. With `M = N * outH * outW` output positions and `K = kH * kW * inC`
 * taps, `out[M, outC] = cols[M, K] x W[K, outC]`, where row `m` of `cols`
 * holds the input patch of output position `m` (tap by tap, each tap's
 * channels contiguous, zeros where the patch leaves the padded input). The
 * filter is already `[K, outC]` in memory and the output is NHWC, so only
 * `cols` is written; a 1x1 convolution with stride 1 and no padding reads `x`
 * directly. Batches are split so `cols` stays under 64 MiB; each chunk's
 * product is written into its slice of the output. Dilated or NCHW
 * convolutions go to the backend's own kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { kernelIO } from "../kernel_io.ts";
import type { Sgemm } from "../onednn.ts";
import { batchChunk, type ConvGeometry, convGeometry, kernelInput } from "./conv_geometry.ts";

/** Writes the im2col rows of images `n0 .. n0 + nc - 1` into `cols` (`[nc * P, K]`). */
function im2col(xs: Float32Array, cols: Float32Array, g: ConvGeometry, n0: number, nc: number) {
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
  const { outH, outW, outC, kH, kW, inC } = g;
  const K = kH * kW * inC;
  const P = outH * outW;
  const io = kernelIO("wasm", backend);
  const out = io.alloc([g.batch, outH, outW, outC], false);
  const direct = kH === 1 && kW === 1 && g.sH === 1 && g.sW === 1 && g.padTop === 0 &&
    g.padLeft === 0 && outH === g.inH && outW === g.inW;
  if (direct) {
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
