/**
 * `MaxPoolGrad` for the wasm backend, whose own kernel runs about 35x slower
 * than its forward max pool. Each output's gradient goes to the first
 * position of its window holding the window's maximum (scanning rows, then
 * columns; padding never wins), as TensorFlow.js's cpu kernel and PyTorch do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO, type KernelIOBackend } from "../kernel_io.ts";
import { kernelInput } from "./conv_geometry.ts";

/**
 * Routes `dy` back to the arg-max positions of each pooling window of `x`.
 *
 * @example
 * ```ts
 * // Called through the registered kernel by
 * // tf.grad((x) => tf.maxPool(x, 2, 2, "valid"))(x).
 * ```
 */
export function maxPoolGrad(
  io: KernelIO,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  attrs: tf.MaxPoolGradAttrs,
): tf.TensorInfo {
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
  const { filterHeight: kH, filterWidth: kW, strideHeight: sH, strideWidth: sW } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const dx = io.alloc([...x.shape], true);
  const xs = io.view(x);
  const dys = io.view(dy);
  const out = io.view(dx);
  let o = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let i = 0; i < Ho; i++) {
      const y0 = i * sH - padTop;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(H, y0 + kH);
      for (let j = 0; j < Wo; j++) {
        const x0 = j * sW - padLeft;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(W, x0 + kW);
        for (let c = 0; c < C; c++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let y = yLo; y < yHi; y++) {
            let p = ((n * H + y) * W + xLo) * C + c;
            for (let xx = xLo; xx < xHi; xx++, p += C) {
              const v = xs[p] as number;
              if (v > best) {
                best = v;
                at = p;
              }
            }
          }
          if (at >= 0) out[at] = (out[at] as number) + (dys[o] as number);
        }
      }
    }
  }
  return dx;
}

/**
 * The kernel configuration registering {@linkcode maxPoolGrad} for `backendName`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { maxPoolGradConfig } from "./max_pool_grad.ts";
 * tf.unregisterKernel(tf.MaxPoolGrad, "wasm");
 * tf.registerKernel(maxPoolGradConfig("wasm"));
 * ```
 */
export function maxPoolGradConfig(backendName: KernelIOBackend): tf.KernelConfig {
  return {
    kernelName: tf.MaxPoolGrad,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      maxPoolGrad(
        kernelIO(backendName, backend),
        kernelInput(inputs, "dy", tf.MaxPoolGrad),
        kernelInput(inputs, "input", tf.MaxPoolGrad),
        attrs as unknown as tf.MaxPoolGradAttrs,
      ),
  };
}
