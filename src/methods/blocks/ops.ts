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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { channelSum } from "./ops.ts";
 * assert.deepEqual([...await channelSum(tf.ones([2, 3, 3, 4])).data()], [18, 18, 18, 18]);
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { addBias } from "./ops.ts";
 * assert.deepEqual(addBias(tf.zeros([1, 2, 2, 3]), tf.tensor1d([1, 2, 3])).shape, [1, 2, 2, 3]);
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
 * The identity with a zero gradient: PyTorch's `x.detach()` inside a
 * TensorFlow.js gradient computation (which has no detach). Whatever is
 * computed from the result sends no gradient back into `x`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { stopGradient } from "./ops.ts";
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(stopGradient(x), x)))(tf.tensor1d([3]));
 * console.log(g.dataSync()[0]); // 3 (d/dx of c * x with c = x held constant)
 * ```
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input] = args as [tf.Tensor];
    return { value: tf.clone(input), gradFunc: () => [tf.zerosLike(input)] };
  });
  return op(x) as T;
}

/**
 * Leaky ReLU `x > 0 ? x : slope * x` computed as `x * step(x, slope)` (both
 * fast elementwise kernels), with gradient `dy * step(x, slope)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { leakyRelu } from "./ops.ts";
 * const [a, b] = await leakyRelu(tf.tensor1d([-1, 2]), 0.2).data();
 * assert.ok(Math.abs(a! + 0.2) < 1e-6);
 * assert.equal(b, 2);
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

/** Which gradients a layer's backward pass computes. */
export interface GradientNeeds {
  /** Gradient with respect to the layer's input (default true). */
  input?: boolean;
  /** Gradients with respect to the layer's weights (default true). */
  weights?: boolean;
}

/**
 * `x W + b` for `x` `[N, in]`, `W` `[in, out]`, `b` `[out]`, with gradients
 * `dW = x^T dy`, `db = sum(dy)` and `dx = dy W^T = (W dy^T)^T`, each a plain
 * (untransposed) matrix product after explicit transposes of the small
 * operands (wasm's product with a transposed operand is ~10x slower, and a
 * fresh right-hand matrix pays for packing). `needs` says which gradients to
 * compute; what is not needed is a constant for differentiation (a random
 * code as input, or frozen weights while optimising an input).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { linear } from "./ops.ts";
 * const y = linear(tf.ones([2, 3]), tf.ones([3, 4]), tf.zeros([4]), { input: false });
 * assert.deepEqual(y.shape, [2, 4]);
 * ```
 */
export function linear(
  x: tf.Tensor2D,
  w: tf.Tensor,
  b: tf.Tensor,
  needs: GradientNeeds = {},
): tf.Tensor2D {
  const wantInput = needs.input ?? true;
  const wantWeights = needs.weights ?? true;
  const forward = (input: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) =>
    tf.fused.matMul({ a: input as tf.Tensor2D, b: weight as tf.Tensor2D, bias });
  const weightGrads = (input: tf.Tensor, dy: tf.Tensor) => [
    tf.matMul(tf.transpose(input), dy),
    channelSum(dy),
  ];
  // dx = dy W^T computed as (W dy^T)^T: the big weight stays the left operand, so wasm's XNNPACK
  // product neither transposes it nor packs it as a fresh right-hand matrix.
  const inputGrad = (weight: tf.Tensor, dy: tf.Tensor) =>
    tf.transpose(tf.matMul(weight, tf.transpose(dy)));
  // Tensors the backward pass reads go through `save`, which keeps them past any tidy scope.
  if (wantInput && wantWeights) {
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
          return [inputGrad(ws, dy), ...weightGrads(xs, dy)];
        },
      };
    });
    return op(x, w, b) as tf.Tensor2D;
  }
  if (wantInput) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([w]);
      return {
        value: forward(input, w, b),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [inputGrad(saved[0] as tf.Tensor, dy)],
      };
    });
    return op(x) as tf.Tensor2D;
  }
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

/**
 * Per-axis taps of nearest-upsample-x2-then-3x3-conv (padding 1): output row
 * `2i` reads input rows `i-1` (tap 0) and `i` (taps 1+2); row `2i+1` reads rows
 * `i` (taps 0+1) and `i+1` (tap 2). As a stride-2 transposed convolution with a
 * 4x4 kernel (padding 1), kernel row `k` combines the 3x3 taps of row `k` of
 * this table: `k = 0` feeds output `2i+1` from input `i+1`, `k = 1` output
 * `2i` from `i`, `k = 2` output `2i+1` from `i`, `k = 3` output `2i` from `i-1`.
 */
const UPCONV_TAPS = [[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]];

/** Kernel rows (of {@linkcode UPCONV_TAPS}) of output phase `a`, in input-row order. */
const PHASE_ROWS = [[3, 1], [2, 0]];

/** The 4x4 kernel `[ky, kx, in, out]` with `K[ky, kx] = sum T[ky, dy] T[kx, dx] W[dy, dx]`. */
function upconvKernel(filter: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , cin, cout] = filter.shape;
    const taps = tf.tensor2d(UPCONV_TAPS); // [4, 3]
    const rows = tf.reshape(tf.matMul(taps, tf.reshape(filter, [3, 3 * cin * cout])), [
      4,
      3,
      cin * cout,
    ]);
    const cols = tf.matMul(taps, tf.reshape(tf.transpose(rows, [1, 0, 2]), [3, 4 * cin * cout]));
    // cols: [kx, ky, cin, cout] -> [ky, kx, cin, cout].
    return tf.transpose(tf.reshape(cols, [4, 4, cin, cout]), [1, 0, 2, 3]) as tf.Tensor4D;
  });
}

/** The transpose of {@linkcode upconvKernel}: a 4x4 kernel's gradient mapped to the 3x3 taps. */
function upconvKernelGradient(dk: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , cin, cout] = dk.shape;
    const tapsT = tf.transpose(tf.tensor2d(UPCONV_TAPS)); // [3, 4]
    const rows = tf.reshape(tf.matMul(tapsT, tf.reshape(dk, [4, 4 * cin * cout])), [
      3,
      4,
      cin * cout,
    ]);
    const cols = tf.matMul(tapsT, tf.reshape(tf.transpose(rows, [1, 0, 2]), [4, 3 * cin * cout]));
    // cols: [dx, dy, cin, cout] -> [dy, dx, cin, cout].
    return tf.transpose(tf.reshape(cols, [3, 3, cin, cout]), [1, 0, 2, 3]) as tf.Tensor4D;
  });
}

/**
 * Input pixels (N x H x W) from which the four-phase forward pass is used;
 * below it one stride-2 transposed convolution has less overhead (measured
 * on wasm: phases ~20% faster at 64x16x16x128, ~25% slower at 8x16x16x128).
 */
const PHASE_FORWARD_MIN_PIXELS = 8192;

/**
 * Forward pass: each output phase `(a, b)` (even/odd rows, even/odd columns)
 * is a 2x2 convolution of `x` with the 4x4 kernel's rows {@linkcode PHASE_ROWS}
 * of `a` and columns of `b`, padded on the side the phase reads; the phases
 * are interleaved into the output. Forward convolutions run in XNNPACK,
 * faster than one stride-2 transposed convolution on large inputs; small ones
 * use the transposed convolution.
 */
function upconvForward(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w] = x.shape;
    const cout = kernel.shape[3];
    if (n * h * w < PHASE_FORWARD_MIN_PIXELS) {
      const kt = tf.transpose(kernel, [0, 1, 3, 2]) as tf.Tensor4D;
      return tf.conv2dTranspose(x, kt, [n, 2 * h, 2 * w, cout], 2, 1);
    }
    const phases: tf.Tensor4D[] = [];
    for (let a = 0; a < 2; a++) {
      const rows = tf.gather(kernel, PHASE_ROWS[a] as number[], 0);
      for (let b = 0; b < 2; b++) {
        const k = tf.gather(rows, PHASE_ROWS[b] as number[], 1) as tf.Tensor4D;
        phases.push(tf.conv2d(x, k, 1, [[0, 0], [1 - a, a], [1 - b, b], [0, 0]]));
      }
    }
    // [N, H, W, 2a, 2b, C] -> [N, H, 2a, W, 2b, C] -> [N, 2H, 2W, C].
    const stacked = tf.reshape(tf.stack(phases, 3), [n, h, w, 2, 2, cout]);
    return tf.reshape(tf.transpose(stacked, [0, 1, 3, 2, 4, 5]), [n, 2 * h, 2 * w, cout]);
  });
}

/**
 * Nearest-neighbour upsampling by 2 followed by a 3x3 convolution with
 * padding 1 (PyTorch's `interpolate(scale_factor=2)` then `Conv2d(k=3, p=1)`),
 * computed exactly without the upsampled intermediate: the same map is a
 * stride-2 transposed convolution with a 4x4 kernel whose taps are sums of
 * the 3x3 taps ({@linkcode UPCONV_TAPS}), 4 instead of 9 multiply-adds per
 * output. The forward pass runs as four 2x2 phase convolutions; the input
 * gradient is a stride-2 convolution of `dy` with the 4x4 kernel and the
 * kernel gradient a stride-2 filter gradient mapped back to the 3x3 taps.
 * `filter` is the 3x3 kernel `[3, 3, in, out]`. With `filterGradient` false
 * the filter is a constant for differentiation (only `x` gets a gradient),
 * which saves the filter gradient where only an input is optimised.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { upsampleConv3x3 } from "./ops.ts";
 * const y = upsampleConv3x3(tf.ones([1, 4, 4, 2]), tf.ones([3, 3, 2, 5]));
 * assert.deepEqual(y.shape, [1, 8, 8, 5]);
 * ```
 */
export function upsampleConv3x3(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  filterGradient = true,
): tf.Tensor4D {
  const [n, h, w, cin] = x.shape;
  const cout = filter.shape[3];
  // Gradients of the transposed convolution y = convT(x, K): dx = conv2d(dy, K^T, 2, pad 1),
  // dK^T = filter gradient of that convolution (K^T: [ky, kx, out, in]).
  const inputGradient = (dy: tf.Tensor, kernel: tf.Tensor4D) =>
    tf.tidy(() =>
      tf.conv2d(dy as tf.Tensor4D, tf.transpose(kernel, [0, 1, 3, 2]) as tf.Tensor4D, 2, 1)
    );
  if (!filterGradient) {
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
      const kernel = upconvKernel(filter);
      save([kernel]);
      const value = upconvForward(input, kernel);
      kernel.dispose();
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
          inputGradient(dy, saved[0] as tf.Tensor4D),
        ],
      };
    });
    return op(x) as tf.Tensor4D;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, f, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    const kernel = upconvKernel(f);
    save([input, kernel]);
    const value = upconvForward(input, kernel);
    kernel.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, kernel] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dKt = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: dy, dy: xs }, {
          strides: [2, 2],
          pad: 1,
          dataFormat: "NHWC",
          dimRoundingMode: undefined,
          filterShape: [4, 4, cout, cin],
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const dK = tf.transpose(dKt, [0, 1, 3, 2]) as tf.Tensor4D;
        return [inputGradient(dy, kernel), upconvKernelGradient(dK)];
      },
    };
  });
  void n;
  void h;
  void w;
  return op(x, filter) as tf.Tensor4D;
}

/**
 * Nearest-neighbour downsampling by 2 of NHWC `x` with even height and width,
 * as PyTorch's `interpolate(scale_factor=0.5)`: output pixel `(i, j)` is input
 * pixel `(2i, 2j)`. Runs as a 1x1 max pool of stride 2; the gradient places
 * `dy` at the even pixels with two rank-4 pads (wasm's resize gradient is ~40x slower).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { downsample2 } from "./ops.ts";
 * assert.deepEqual(downsample2(tf.ones([1, 8, 8, 3])).shape, [1, 4, 4, 3]);
 * ```
 */
export function downsample2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new Error(`downsample2 needs even height and width (got ${h}x${w})`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.maxPool(args[0] as tf.Tensor4D, 1, 2, "valid"),
    // Zeros interleaved after every column, then after every row, with pads of rank 4 only:
    // tfjs-backend-webgpu 4.22's PadV2 returns zeros for rank 5 and above.
    gradFunc: (dy: tf.Tensor) => {
      const cols = tf.pad(tf.reshape(dy, [n * (h / 2), w / 2, 1, c]), [[0, 0], [0, 0], [0, 1], [
        0,
        0,
      ]]);
      const rows = tf.pad(tf.reshape(cols, [n, h / 2, 1, w * c]), [[0, 0], [0, 0], [0, 1], [0, 0]]);
      return tf.reshape(rows, [n, h, w, c]);
    },
  }));
  return op(x) as tf.Tensor4D;
}
