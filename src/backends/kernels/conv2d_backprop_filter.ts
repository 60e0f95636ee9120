/**
 * `Conv2DBackpropFilter` as im2col plus one matrix product, for the wasm
 * backend (which has no such kernel) and the cpu backend (whose own one is
 * about 80x slower than its forward convolution).
 *
 * With `M = N * outH * outW` output positions and `K = kH * kW * inC` filter
 * taps, the filter gradient is `dW[K, outC] = colsT[K, M] x dy[M, outC]`,
 * where row `(a, b, c)` of `colsT` holds input channel `c` at tap `(a, b)` for
 * every output position. The matrix product runs in the backend's own
 * (XNNPACK on wasm) BatchMatMul kernel; large batches are split into chunks
 * so the temporary matrix stays under 64 MiB.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO, type KernelIOBackend } from "../kernel_io.ts";
import {
  batchChunk,
  type ConvGeometry,
  convGeometry,
  kernelInput,
  validRange,
} from "./conv_geometry.ts";

/**
 * The geometry of the convolution whose filter gradient `attrs` asks for, on
 * input `xShape`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filterGradientGeometry } from "./conv2d_backprop_filter.ts";
 * const g = filterGradientGeometry([2, 8, 8, 3], {
 *   filterShape: [3, 3, 3, 4], strides: 1, pad: "same", dataFormat: "NHWC",
 * });
 * assert.equal(g.outH, 8);
 * ```
 */
export function filterGradientGeometry(
  xShape: number[],
  attrs: tf.Conv2DBackpropFilterAttrs,
): ConvGeometry {
  return convGeometry(
    xShape,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat,
  );
}

/**
 * Computes the filter gradient of a 2-D convolution (NHWC, dilation 1).
 *
 * @example
 * ```ts
 * // Called by TensorFlow.js through the registered kernel, e.g. by
 * // tf.grad((w) => tf.conv2d(x, w, 1, "same"))(w).
 * ```
 */
export function conv2dBackpropFilter(
  io: KernelIO,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: tf.Conv2DBackpropFilterAttrs,
): tf.TensorInfo {
  const g = filterGradientGeometry(x.shape, attrs);
  const { inH, inW, inC, outH, outW, outC, kH, kW, sH, sW } = g;
  const K = kH * kW * inC;
  const P = outH * outW;
  const chunk = batchChunk(g.batch, P * K);
  let result: tf.TensorInfo | undefined;
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nc = Math.min(chunk, g.batch - n0);
    const M = nc * P;
    const colsT = io.alloc([K, M], false);
    const whole = nc === g.batch;
    const dyChunk: tf.TensorInfo = whole
      ? { dataId: dy.dataId, shape: [M, outC], dtype: "float32" }
      : io.alloc([M, outC], false);
    // Views are taken after every allocation: allocations may move wasm memory.
    const xs = io.view(x);
    const cols = io.view(colsT);
    if (!whole) {
      io.view(dyChunk).set(io.view(dy).subarray(n0 * P * outC, (n0 + nc) * P * outC));
    }
    for (let a = 0; a < kH; a++) {
      const offY = a - g.padTop;
      const [iLo, iHi] = validRange(outH, sH, offY, inH);
      for (let b = 0; b < kW; b++) {
        const offX = b - g.padLeft;
        const [jLo, jHi] = validRange(outW, sW, offX, inW);
        for (let c = 0; c < inC; c++) {
          let o = ((a * kW + b) * inC + c) * M;
          for (let n = 0; n < nc; n++) {
            const imageBase = (n0 + n) * inH;
            for (let i = 0; i < outH; i++) {
              if (i < iLo || i >= iHi) {
                cols.fill(0, o, o + outW);
                o += outW;
                continue;
              }
              const rowBase = (imageBase + i * sH + offY) * inW;
              for (let j = 0; j < jLo; j++) cols[o++] = 0;
              let src = (rowBase + jLo * sW + offX) * inC + c;
              const step = sW * inC;
              for (let j = jLo; j < jHi; j++) {
                cols[o++] = xs[src] as number;
                src += step;
              }
              for (let j = jHi; j < outW; j++) cols[o++] = 0;
            }
          }
        }
      }
    }
    const part = io.matMul(colsT, dyChunk);
    io.free(colsT);
    if (!whole) io.free(dyChunk);
    if (result === undefined) {
      result = part;
    } else {
      const acc = io.view(result);
      const add = io.view(part);
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (add[i] as number);
      io.free(part);
    }
  }
  if (result === undefined) throw new Error("Conv2DBackpropFilter got an empty batch");
  result.shape = [...attrs.filterShape];
  return result;
}

/**
 * The kernel configuration registering {@linkcode conv2dBackpropFilter} for
 * `backendName`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { conv2dBackpropFilterConfig } from "./conv2d_backprop_filter.ts";
 * tf.registerKernel(conv2dBackpropFilterConfig("cpu"));
 * ```
 */
export function conv2dBackpropFilterConfig(backendName: KernelIOBackend): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      return conv2dBackpropFilter(
        kernelIO(backendName, backend),
        kernelInput(inputs, "x", tf.Conv2DBackpropFilter),
        kernelInput(inputs, "dy", tf.Conv2DBackpropFilter),
        attrs as unknown as tf.Conv2DBackpropFilterAttrs,
      );
    },
  };
}
