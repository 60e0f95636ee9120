/**
 * The two depthwise convolution gradient kernels the wasm backend lacks
 * (`DepthwiseConv2dNativeBackpropFilter` and `...BackpropInput`), as direct
 * loops. Depthwise convolutions carry few multiply-adds (one input channel
 * per output channel), so direct loops are fast enough.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO, type KernelIOBackend } from "../kernel_io.ts";
import { type ConvGeometry, convGeometry, kernelInput, validRange } from "./conv_geometry.ts";

/**
 * Visits every (batch, output row, output column, tap) whose input position is
 * inside the image, with the flat NHWC offsets of the input pixel and output
 * pixel and the tap index `a * kW + b`.
 */
function forEachTap(
  g: ConvGeometry,
  visit: (inOffset: number, outOffset: number, tap: number) => void,
): void {
  for (let a = 0; a < g.kH; a++) {
    const offY = a * g.dH - g.padTop;
    const [iLo, iHi] = validRange(g.outH, g.sH, offY, g.inH);
    for (let b = 0; b < g.kW; b++) {
      const offX = b * g.dW - g.padLeft;
      const [jLo, jHi] = validRange(g.outW, g.sW, offX, g.inW);
      const tap = a * g.kW + b;
      for (let n = 0; n < g.batch; n++) {
        for (let i = iLo; i < iHi; i++) {
          const inRow = (n * g.inH + i * g.sH + offY) * g.inW;
          const outRow = (n * g.outH + i) * g.outW;
          for (let j = jLo; j < jHi; j++) {
            visit((inRow + j * g.sW + offX) * g.inC, (outRow + j) * g.outC, tap);
          }
        }
      }
    }
  }
}

/**
 * Filter gradient of a depthwise convolution:
 * `dW[a, b, c, q] = sum over n, i, j of x[n, i*sH + a*dH - padTop, j*sW + b*dW - padLeft, c] * dy[n, i, j, c*mult + q]`.
 *
 * @example
 * ```ts
 * // Called through the registered kernel by
 * // tf.grad((w) => tf.depthwiseConv2d(x, w, 1, "same"))(w).
 * ```
 */
export function depthwiseConv2dBackpropFilter(
  io: KernelIO,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  attrs: tf.DepthwiseConv2dNativeBackpropFilterAttrs,
): tf.TensorInfo {
  const g = convGeometry(
    x.shape,
    attrs.filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
    "NHWC",
  );
  const mult = attrs.filterShape[3];
  const out = io.alloc([...attrs.filterShape], true);
  const xs = io.view(x);
  const dys = io.view(dy);
  const dw = io.view(out);
  forEachTap(g, (inOffset, outOffset, tap) => {
    const wBase = tap * g.inC * mult;
    for (let c = 0; c < g.inC; c++) {
      const xv = xs[inOffset + c] as number;
      for (let q = 0; q < mult; q++) {
        const k = wBase + c * mult + q;
        dw[k] = (dw[k] as number) + xv * (dys[outOffset + c * mult + q] as number);
      }
    }
  });
  return out;
}

/**
 * Input gradient of a depthwise convolution:
 * `dx[n, y, x, c] = sum over taps and q of W[a, b, c, q] * dy[n, i, j, c*mult + q]`
 * where `(y, x)` is the input position tap `(a, b)` reads for output `(i, j)`.
 *
 * @example
 * ```ts
 * // Called through the registered kernel by
 * // tf.grad((x) => tf.depthwiseConv2d(x, w, 1, "same"))(x).
 * ```
 */
export function depthwiseConv2dBackpropInput(
  io: KernelIO,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs,
): tf.TensorInfo {
  const g = convGeometry(
    attrs.inputShape,
    filter.shape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
    "NHWC",
  );
  const mult = filter.shape[3] as number;
  const out = io.alloc([...attrs.inputShape], true);
  const ws = io.view(filter);
  const dys = io.view(dy);
  const dx = io.view(out);
  forEachTap(g, (inOffset, outOffset, tap) => {
    const wBase = tap * g.inC * mult;
    for (let c = 0; c < g.inC; c++) {
      let sum = 0;
      for (let q = 0; q < mult; q++) {
        sum += (ws[wBase + c * mult + q] as number) * (dys[outOffset + c * mult + q] as number);
      }
      dx[inOffset + c] = (dx[inOffset + c] as number) + sum;
    }
  });
  return out;
}

/**
 * Kernel configurations registering both depthwise gradient kernels for
 * `backendName`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { depthwiseBackpropConfigs } from "./depthwise_conv2d_backprop.ts";
 * for (const config of depthwiseBackpropConfigs("wasm")) tf.registerKernel(config);
 * ```
 */
export function depthwiseBackpropConfigs(backendName: KernelIOBackend): tf.KernelConfig[] {
  return [
    {
      kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const name = tf.DepthwiseConv2dNativeBackpropFilter;
        return depthwiseConv2dBackpropFilter(
          kernelIO(backendName, backend),
          kernelInput(inputs, "x", name),
          kernelInput(inputs, "dy", name),
          attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs,
        );
      },
    },
    {
      kernelName: tf.DepthwiseConv2dNativeBackpropInput,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const name = tf.DepthwiseConv2dNativeBackpropInput;
        return depthwiseConv2dBackpropInput(
          kernelIO(backendName, backend),
          kernelInput(inputs, "dy", name),
          kernelInput(inputs, "filter", name),
          attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs,
        );
      },
    },
  ];
}
