/**
 * Fast differentiable building ops for the generators and the encoder on
 * TensorFlow.js's single-threaded backends. Each keeps PyTorch's math and
 * avoids a slow path measured on wasm: reductions over the batch and spatial
 * axes (which wasm implements with a transpose) run as a matrix product with
 * a ones vector; leaky ReLU runs as `x * step(x)`; matrix products never ask
 * wasm's BatchMatMul for a transposed operand (about 10x slower than the
 * plain product there), transposing explicitly instead.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Sums `x` over every axis but the last (channels). For NHWC tensors it runs
 * as an average pool over the whole image (XNNPACK, channels-last) and a small
 * sum over the batch: wasm's own reduction over leading axes transposes the
 * whole tensor first, and a matrix product with a ones vector pays for
 * packing the tensor as a weight matrix; both are 5-30x slower at
 * 64x32x32x64. Not differentiable (it serves hand-written gradients).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { channelSum } from "./ops.ts";
 * console.log(channelSum(tf.ones([2, 3, 3, 4])).dataSync()); // 18, 18, 18, 18
 * ```
 */
export function channelSum(x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    if (x.rank !== 4) return tf.sum(x, x.shape.slice(0, -1).map((_, i) => i)) as tf.Tensor1D;
    const [, h, w] = x.shape as [number, number, number, number];
    const pooled = tf.avgPool(x as tf.Tensor4D, [h, w], [h, w], "valid");
    return tf.mul(tf.sum(pooled, [0, 1, 2]), h * w) as tf.Tensor1D;
  });
}

/**
 * Adds a per-channel bias `b` `[C]` to `x` `[..., C]`; the bias gradient is a
 * {@linkcode channelSum}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { addBias } from "./ops.ts";
 * console.log(addBias(tf.zeros([1, 2, 2, 3]), tf.tensor1d([1, 2, 3])).shape); // [1, 2, 2, 3]
 * ```
 */
export function addBias<T extends tf.Tensor>(x: T, b: tf.Tensor): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, bias] = args as [tf.Tensor, tf.Tensor];
    return {
      value: tf.add(input, bias),
      gradFunc: (dy: tf.Tensor) => [tf.clone(dy), channelSum(dy)],
    };
  });
  return op(x, b) as T;
}

/**
 * Leaky ReLU `x > 0 ? x : slope * x` computed as `x * step(x, slope)` (both
 * fast elementwise kernels), with gradient `dy * step(x, slope)`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { leakyRelu } from "./ops.ts";
 * console.log(leakyRelu(tf.tensor1d([-1, 2]), 0.2).dataSync()); // -0.2, 2
 * ```
 */
export function leakyRelu<T extends tf.Tensor>(x: T, slope: number): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const mask = tf.step(input, slope);
    save([mask]);
    return {
      value: tf.mul(input, mask),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0] as tf.Tensor)],
    };
  });
  return op(x) as T;
}

/**
 * `x W + b` for `x` `[N, in]`, `W` `[in, out]`, `b` `[out]`, with gradients
 * `dW = x^T dy`, `db = sum(dy)` and, when `inputGradient` is true,
 * `dx = dy W^T = (W dy^T)^T`, each a plain (untransposed) matrix product
 * after explicit transposes of the small operands. With `inputGradient` false, `x` is treated as a constant (no
 * gradient flows to it), which saves the largest product of a generator's
 * backward pass when its input is a random code.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { linear } from "./ops.ts";
 * const y = linear(tf.ones([2, 3]), tf.ones([3, 4]), tf.zeros([4]), false);
 * console.log(y.shape); // [2, 4]
 * ```
 */
export function linear(
  x: tf.Tensor2D,
  w: tf.Tensor,
  b: tf.Tensor,
  inputGradient: boolean,
): tf.Tensor2D {
  const forward = (input: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) =>
    tf.fused.matMul({ a: input as tf.Tensor2D, b: weight as tf.Tensor2D, bias });
  const weightGrads = (input: tf.Tensor, dy: tf.Tensor) => [
    tf.matMul(tf.transpose(input), dy),
    channelSum(dy),
  ];
  // Tensors the backward pass reads go through `save`, which keeps them past any tidy scope.
  if (!inputGradient) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [weight, bias, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      save([x]);
      return {
        value: forward(x, weight, bias),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => weightGrads(saved[0] as tf.Tensor, dy),
      };
    });
    return op(w, b) as tf.Tensor2D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, weight, bias, save] = args as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
      tf.GradSaveFunc,
    ];
    save([input, weight]);
    return {
      value: forward(input, weight, bias),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor, tf.Tensor];
        // dx = dy W^T computed as (W dy^T)^T: the big weight stays the left operand, so wasm's
        // XNNPACK product neither transposes it nor packs it as a fresh right-hand matrix.
        return [tf.transpose(tf.matMul(ws, tf.transpose(dy))), ...weightGrads(xs, dy)];
      },
    };
  });
  return op(x, w, b) as tf.Tensor2D;
}

/** Per-axis taps of nearest-upsample-x2-then-3x3-conv as a stride-2 4x4 transposed convolution. */
const UPCONV_TAPS = [[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]];

/**
 * Nearest-neighbour upsampling by 2 followed by a 3x3 convolution with
 * padding 1 (PyTorch's `interpolate(scale_factor=2)` then `Conv2d(k=3, p=1)`),
 * computed exactly as one stride-2 transposed convolution with a 4x4 kernel:
 * output row `2i` reads input rows `i-1` (tap 0) and `i` (taps 1+2), row `2i+1`
 * reads rows `i` (taps 0+1) and `i+1` (tap 2), and likewise for columns. That
 * is 4 instead of 9 multiply-adds per output and no upsampled intermediate.
 * `filter` is the 3x3 kernel `[3, 3, in, out]`; gradients flow to `x` and to
 * `filter` through the tap sums.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { upsampleConv3x3 } from "./ops.ts";
 * const y = upsampleConv3x3(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 5]));
 * console.log(y.shape); // [1, 8, 8, 5]
 * ```
 */
export function upsampleConv3x3(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, cin] = x.shape;
    const cout = filter.shape[3];
    const taps = tf.tensor2d(UPCONV_TAPS); // [4, 3]
    // Rows: [4, 3] x [3, 3*cin*cout] -> [4, 3, cin, cout]; then columns the same way.
    const rows = tf.reshape(
      tf.matMul(taps, tf.reshape(filter, [3, 3 * cin * cout])),
      [4, 3, cin * cout],
    );
    const cols = tf.matMul(taps, tf.reshape(tf.transpose(rows, [1, 0, 2]), [3, 4 * cin * cout]));
    // cols: [kx=4, ky*cin*cout] -> [4 (kx), 4 (ky), cin, cout] -> [ky, kx, cout, cin].
    const kernel = tf.transpose(tf.reshape(cols, [4, 4, cin, cout]), [1, 0, 3, 2]) as tf.Tensor4D;
    return tf.conv2dTranspose(x, kernel, [n, 2 * h, 2 * w, cout], 2, 1);
  });
}

/**
 * Nearest-neighbour downsampling by 2 of NHWC `x` with even height and width,
 * as PyTorch's `interpolate(scale_factor=0.5)`: output pixel `(i, j)` is input
 * pixel `(2i, 2j)`. Runs as a 1x1 max pool of stride 2; the gradient places
 * `dy` at the even pixels with one pad (wasm's resize gradient is ~40x slower).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { downsample2 } from "./ops.ts";
 * console.log(downsample2(tf.ones([1, 8, 8, 3])).shape); // [1, 4, 4, 3]
 * ```
 */
export function downsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new Error(`downsample2 needs even height and width (got ${h}x${w})`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.maxPool(args[0] as tf.Tensor4D, 1, 2, "valid"),
    gradFunc: (dy: tf.Tensor) =>
      tf.reshape(
        tf.pad(tf.reshape(dy, [n, h / 2, 1, w / 2, 1, c]), [
          [0, 0],
          [0, 0],
          [0, 1],
          [0, 0],
          [0, 1],
          [0, 0],
        ]),
        [n, h, w, c],
      ),
  }));
  return op(x) as tf.Tensor4D;
}
