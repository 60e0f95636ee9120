/**
 * A quick convolution throughput probe (forward and both gradients), used by
 * `dfkd doctor` and the kernel benchmark.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** One convolution shape: NHWC input and a square kernel. */
export interface ConvShape {
  /** Batch size. */
  batch: number;
  /** Input height and width. */
  size: number;
  /** Input channels. */
  inC: number;
  /** Output channels. */
  outC: number;
  /** Square kernel size. */
  kernel: number;
  /** Stride (both axes). */
  stride: number;
}

/** The three convolution passes of a training step. */
export type ConvPass = "forward" | "backprop-input" | "backprop-filter";

/**
 * Multiply-accumulates of one pass of `shape` with `same` padding (all three
 * passes do the same number).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convMacs } from "./conv_throughput.ts";
 * assert.equal(convMacs({ batch: 1, size: 4, inC: 1, outC: 1, kernel: 3, stride: 1 }), 144);
 * ```
 */
export function convMacs(shape: ConvShape): number {
  const out = Math.ceil(shape.size / shape.stride);
  return shape.batch * out * out * shape.outC * shape.inC * shape.kernel * shape.kernel;
}

/**
 * Returns a function that runs one `pass` of `shape` on the current backend
 * (synchronously, result read back) and a `dispose` for its inputs.
 *
 * @example
 * ```ts
 * import { convPassRunner } from "./conv_throughput.ts";
 * const { run, dispose } = convPassRunner({ batch: 2, size: 8, inC: 3, outC: 4, kernel: 3, stride: 1 }, "forward");
 * await run();
 * dispose();
 * ```
 */
export function convPassRunner(
  shape: ConvShape,
  pass: ConvPass,
): { run: () => Promise<void>; dispose: () => void } {
  const { batch, size, inC, outC, kernel, stride } = shape;
  const out = Math.ceil(size / stride);
  const x = tf.randomNormal([batch, size, size, inC], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([kernel, kernel, inC, outC], 0, 1, "float32", 2) as tf.Tensor4D;
  const dy = tf.randomNormal([batch, out, out, outC], 0, 1, "float32", 3) as tf.Tensor4D;
  const op = (): tf.Tensor => {
    switch (pass) {
      case "forward":
        return tf.conv2d(x, w, stride, "same");
      case "backprop-input":
        return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
          strides: [stride, stride],
          pad: "same",
          dataFormat: "NHWC",
          inputShape: [batch, size, size, inC],
        }) as tf.Tensor;
      case "backprop-filter":
        return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
          strides: [stride, stride],
          pad: "same",
          dataFormat: "NHWC",
          filterShape: [kernel, kernel, inC, outC],
        }) as tf.Tensor;
    }
  };
  return {
    run: async () => {
      const r = op();
      await r.data();
      r.dispose();
    },
    dispose: () => tf.dispose([x, w, dy]),
  };
}

/**
 * Runs `pass` of `shape` repeatedly for about `seconds` and returns GMAC/s.
 *
 * @example
 * ```ts
 * import { measureConvThroughput } from "./conv_throughput.ts";
 * const gmacs = await measureConvThroughput({ batch: 2, size: 8, inC: 3, outC: 4, kernel: 3, stride: 1 }, "forward", 0.1);
 * console.log(gmacs > 0);
 * ```
 */
export async function measureConvThroughput(
  shape: ConvShape,
  pass: ConvPass,
  seconds: number,
): Promise<number> {
  const { run, dispose } = convPassRunner(shape, pass);
  try {
    await run(); // warm-up
    let n = 0;
    const start = performance.now();
    do {
      await run();
      n++;
    } while (performance.now() - start < seconds * 1000);
    const perRun = (performance.now() - start) / 1000 / n;
    return convMacs(shape) / perRun / 1e9;
  } finally {
    dispose();
  }
}
