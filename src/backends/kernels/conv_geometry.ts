/**
 * Geometry shared by the convolution gradient kernels: TensorFlow.js's own
 * convolution info (output size, padding) reduced to the numbers the loops use.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Sizes, strides, dilations and leading padding of one NHWC convolution. */
export interface ConvGeometry {
  /** Batch size N. */
  batch: number;
  /** Input height H. */
  inH: number;
  /** Input width W. */
  inW: number;
  /** Input channels. */
  inC: number;
  /** Output height. */
  outH: number;
  /** Output width. */
  outW: number;
  /** Output channels (for depthwise: inC x multiplier). */
  outC: number;
  /** Filter height. */
  kH: number;
  /** Filter width. */
  kW: number;
  /** Vertical stride. */
  sH: number;
  /** Horizontal stride. */
  sW: number;
  /** Vertical dilation. */
  dH: number;
  /** Horizontal dilation. */
  dW: number;
  /** Padding added above the input. */
  padTop: number;
  /** Padding added left of the input. */
  padLeft: number;
}

/**
 * The largest number of float32 values a kernel's temporary matrix may hold
 * before the kernel splits the batch into chunks (64 MiB).
 */
export const TEMP_BUDGET_FLOATS = 16 * 1024 * 1024;

/**
 * Computes the geometry of a convolution from its input and filter shapes,
 * using TensorFlow.js's own padding rules so results match the forward op.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convGeometry } from "./conv_geometry.ts";
 * const g = convGeometry([2, 8, 8, 3], [3, 3, 3, 4], [1, 1], 1, "same", undefined, false, "NHWC");
 * assert.equal(g.outH, 8);
 * assert.equal(g.padTop, 1);
 * ```
 */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: "same" | "valid" | number | tf.backend_util.ExplicitPadding,
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
  depthwise: boolean,
  dataFormat: string | undefined,
): ConvGeometry {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(
      `Convolution gradient kernels support data format NHWC only (got ${dataFormat})`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad as "same",
    dimRoundingMode,
    depthwise,
    "channelsLast",
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    dH: info.dilationHeight,
    dW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * The named input of a kernel call, or an error naming the kernel and input.
 *
 * @example
 * ```ts
 * import { kernelInput } from "./conv_geometry.ts";
 * // const x = kernelInput(inputs, "x", "Conv2DBackpropFilter");
 * ```
 */
export function kernelInput(
  inputs: Record<string, tf.TensorInfo | undefined>,
  name: string,
  kernel: string,
): tf.TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new Error(`Kernel ${kernel} was called without input "${name}"`);
  if (info.dtype !== "float32") {
    throw new Error(`Kernel ${kernel} supports float32 only (input "${name}" is ${info.dtype})`);
  }
  return info;
}

/**
 * How many batch items fit in one chunk when each needs `floatsPerItem`
 * temporary floats (at least one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchChunk } from "./conv_geometry.ts";
 * assert.equal(batchChunk(64, 1024), 64);
 * ```
 */
export function batchChunk(batch: number, floatsPerItem: number): number {
  return Math.max(1, Math.min(batch, Math.floor(TEMP_BUDGET_FLOATS / Math.max(1, floatsPerItem))));
}

/**
 * The half-open range `[lo, hi)` of output positions `o` for which the input
 * position `o * stride + offset` lies inside `[0, size)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validRange } from "./conv_geometry.ts";
 * assert.deepEqual(validRange(8, 1, -1, 8), [1, 8]);
 * ```
 */
export function validRange(
  outSize: number,
  stride: number,
  offset: number,
  size: number,
): [number, number] {
  const lo = Math.min(outSize, Math.max(0, Math.ceil(-offset / stride)));
  const hi = Math.max(lo, Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1));
  return [lo, hi];
}

/**
 * Visits every tap `(a, b)` of a convolution and, for images `0 .. nc - 1`,
 * every output row whose window reads inside the input at that tap:
 * `visit(tap, n, i, jLo, jHi, y, x0)` covers output positions `(n, i, j)` for
 * `jLo <= j < jHi`, which read input row `y` at columns `x0 + (j - jLo) * sW`;
 * `tap = a * kW + b`. Taps are outermost, then images, then rows, so a caller
 * that accumulates per tap sums in a fixed order. The loop nest every
 * tap-wise kernel (per-tap products, the scatter of a filter gradient, col2im) shares.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convGeometry, forEachTapRun } from "./conv_geometry.ts";
 * const g = convGeometry([1, 3, 3, 1], [3, 3, 1, 1], 1, 1, "same", undefined, false, "NHWC");
 * let reads = 0;
 * forEachTapRun(g, 1, (_tap, _n, _i, jLo, jHi) => (reads += jHi - jLo));
 * assert.equal(reads, 49); // 9 positions x 9 taps, less the 32 that fall in the padding
 * ```
 */
export function forEachTapRun(
  g: ConvGeometry,
  nc: number,
  visit: (
    tap: number,
    n: number,
    i: number,
    jLo: number,
    jHi: number,
    y: number,
    x0: number,
  ) => void,
): void {
  const { inH, inW, outH, outW, kH, kW, sH, sW } = g;
  for (let a = 0; a < kH; a++) {
    const offY = a - g.padTop;
    const [iLo, iHi] = validRange(outH, sH, offY, inH);
    for (let b = 0; b < kW; b++) {
      const offX = b - g.padLeft;
      const [jLo, jHi] = validRange(outW, sW, offX, inW);
      if (jHi <= jLo) continue;
      const tap = a * kW + b;
      for (let n = 0; n < nc; n++) {
        for (let i = iLo; i < iHi; i++) visit(tap, n, i, jLo, jHi, i * sH + offY, jLo * sW + offX);
      }
    }
  }
}
