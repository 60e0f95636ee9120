/**
 * `Conv2DBackpropInput` for the wasm backend, whose own kernel runs about 10x
 * slower than its forward convolution on CIFAR-like shapes.
 *
 * Stride 1: the input gradient is a forward convolution of `dy` with the
 * filter rotated by 180 degrees and its channel axes swapped, padded by
 * `k - 1 - pad` on each side; it runs in the backend's own (XNNPACK) Conv2D.
 *
 * Other strides: with `M = N * outH * outW` and `K = kH * kW * inC`, the column
 * gradient is `dcols[M, K] = dy[M, outC] x Wt[outC, K]`, and col2im adds each
 * row's taps back into the input positions they were read from. Large batches
 * are processed in chunks so `dcols` stays under 64 MiB.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO, type KernelIOBackend } from "../kernel_io.ts";
import {
  batchChunk,
  type ConvGeometry,
  convGeometry,
  forEachTapRun,
  kernelInput,
} from "./conv_geometry.ts";

/**
 * Computes the input gradient of a 2-D convolution (NHWC, dilation 1).
 *
 * @example
 * ```ts
 * // Called by TensorFlow.js through the registered kernel, e.g. by
 * // tf.grad((x) => tf.conv2d(x, w, 2, "same"))(x).
 * ```
 */
export function conv2dBackpropInput(
  io: KernelIO,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DBackpropInputAttrs,
): tf.TensorInfo {
  const g = convGeometry(
    attrs.inputShape,
    filter.shape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat,
  );
  if (g.sH === 1 && g.sW === 1) return viaForwardConv(io, dy, filter, g);
  const { inH, inW, inC, outH, outW, outC, kH, kW, sW } = g;
  const K = kH * kW * inC;
  const P = outH * outW;
  const wT = io.alloc([outC, K], false);
  {
    const w = io.view(filter);
    const t = io.view(wT);
    for (let k = 0; k < K; k++) {
      for (let o = 0; o < outC; o++) t[o * K + k] = w[k * outC + o] as number;
    }
  }
  const dx = io.alloc([...attrs.inputShape], true);
  const chunk = batchChunk(g.batch, P * K);
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nc = Math.min(chunk, g.batch - n0);
    const M = nc * P;
    const whole = nc === g.batch;
    const dyChunk: tf.TensorInfo = whole
      ? { dataId: dy.dataId, shape: [M, outC], dtype: "float32" }
      : io.alloc([M, outC], false);
    if (!whole) {
      io.view(dyChunk).set(io.view(dy).subarray(n0 * P * outC, (n0 + nc) * P * outC));
    }
    const dcols = io.matMul(dyChunk, wT);
    if (!whole) io.free(dyChunk);
    const dc = io.view(dcols);
    const dxs = io.view(dx);
    const dstStep = sW * inC;
    forEachTapRun(g, nc, (tap, n, i, jLo, jHi, row, x0) => {
      let src = ((n * outH + i) * outW + jLo) * K + tap * inC;
      let dst = (((n0 + n) * inH + row) * inW + x0) * inC;
      for (let j = jLo; j < jHi; j++, src += K, dst += dstStep) {
        for (let c = 0; c < inC; c++) {
          dxs[dst + c] = (dxs[dst + c] as number) + (dc[src + c] as number);
        }
      }
    });
    io.free(dcols);
  }
  io.free(wT);
  return dx;
}

/** Stride-1 input gradient as a forward convolution with the rotated filter. */
function viaForwardConv(
  io: KernelIO,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const { inH, inW, inC, outC, kH, kW } = g;
  // rotated[a, b, o, c] = filter[kH-1-a, kW-1-b, c, o]
  const rotated = io.alloc([kH, kW, outC, inC], false);
  const w = io.view(filter);
  const r = io.view(rotated);
  for (let a = 0; a < kH; a++) {
    for (let b = 0; b < kW; b++) {
      const src = ((kH - 1 - a) * kW + (kW - 1 - b)) * inC * outC;
      const dst = (a * kW + b) * outC * inC;
      for (let c = 0; c < inC; c++) {
        for (let o = 0; o < outC; o++) r[dst + o * inC + c] = w[src + c * outC + o] as number;
      }
    }
  }
  const padTop = kH - 1 - g.padTop;
  const padLeft = kW - 1 - g.padLeft;
  const padBottom = inH - 1 + kH - g.outH - padTop;
  const padRight = inW - 1 + kW - g.outW - padLeft;
  const dx = io.run(tf.Conv2D, { x: dy, filter: rotated }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]],
    dataFormat: "NHWC",
  });
  io.free(rotated);
  return dx;
}

/**
 * The kernel configuration registering {@linkcode conv2dBackpropInput} for
 * `backendName`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { conv2dBackpropInputConfig } from "./conv2d_backprop_input.ts";
 * tf.unregisterKernel(tf.Conv2DBackpropInput, "cpu");
 * tf.registerKernel(conv2dBackpropInputConfig("cpu"));
 * ```
 */
export function conv2dBackpropInputConfig(backendName: KernelIOBackend): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      return conv2dBackpropInput(
        kernelIO(backendName, backend),
        kernelInput(inputs, "dy", tf.Conv2DBackpropInput),
        kernelInput(inputs, "filter", tf.Conv2DBackpropInput),
        attrs as unknown as tf.Conv2DBackpropInputAttrs,
      );
    },
  };
}
