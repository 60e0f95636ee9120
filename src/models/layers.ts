/**
 * Building blocks shared by the model zoo: convolutions, linear layers and
 * batch normalisation with PyTorch's semantics (padding, initialisation,
 * BatchNorm momentum, epsilon and unbiased running variance), built as
 * TensorFlow.js layers seeded from an {@linkcode Rng}.
 *
 * Every file saved from these layers uses only TensorFlow.js's built-in layer
 * classes, so it loads in any TensorFlow.js (tfjs-node included).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";

/** A symbolic tensor in a functional model under construction. */
export type Sym = tf.SymbolicTensor;

/** A TensorFlow.js weight initialiser. */
type Initializer = ReturnType<typeof tf.initializers.zeros>;

/**
 * How a layer's weights are initialised, named after the PyTorch code that
 * the reference definitions run:
 *
 * - `torch-default`: `nn.Conv2d` / `nn.Linear` defaults (kaiming uniform with
 *   a = sqrt(5)): weight and bias uniform in +-1/sqrt(fan_in);
 * - `kaiming-fan-out`: weight normal(0, sqrt(2 / fan_out)) with
 *   fan_out = out_channels * kernel area (per PyTorch's fan computation),
 *   bias zero;
 * - `{ normalStd }`: weight normal(0, normalStd), bias zero;
 * - `torch-default-zero-bias`: weight as `torch-default`, bias zero.
 */
export type InitKind =
  | "torch-default"
  | "torch-default-zero-bias"
  | "kaiming-fan-out"
  | { normalStd: number };

function weightInitializer(
  kind: InitKind,
  fanIn: number,
  fanOut: number,
  rng: Rng,
): Initializer {
  if (kind === "torch-default" || kind === "torch-default-zero-bias") {
    const bound = 1 / Math.sqrt(fanIn);
    return tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: rng.seed() });
  }
  const stddev = kind === "kaiming-fan-out" ? Math.sqrt(2 / fanOut) : kind.normalStd;
  return tf.initializers.randomNormal({ mean: 0, stddev, seed: rng.seed() });
}

function biasInitializer(kind: InitKind, fanIn: number, rng: Rng): Initializer {
  if (kind === "torch-default") {
    const bound = 1 / Math.sqrt(fanIn);
    return tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: rng.seed() });
  }
  return tf.initializers.zeros();
}

/** Options of {@linkcode conv2d}. */
export interface ConvOptions {
  /** Layer name (PyTorch module path, e.g. `layer1.0.conv1`). */
  name: string;
  /** Output channels. */
  filters: number;
  /** Square kernel size. */
  kernel: number;
  /** Stride (default 1). */
  stride?: number;
  /** PyTorch zero padding on every side (default 0). */
  padding?: number;
  /** Whether the layer has a bias (PyTorch `bias=`; default true). */
  bias?: boolean;
  /** Depthwise (groups = channels, one filter per channel) instead of dense. */
  depthwise?: boolean;
  /** Weight initialisation. */
  init: InitKind;
}

/**
 * A 2D convolution with PyTorch's symmetric zero padding: `same` where it is
 * the same thing (stride 1, padding (k-1)/2), otherwise an explicit
 * `ZeroPadding2D` then a `valid` convolution (TensorFlow's `same` pads
 * asymmetrically at stride 2, which samples different pixels).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../util/rng.ts";
 * import { conv2d } from "./layers.ts";
 * const x = tf.input({ shape: [32, 32, 3] });
 * const y = conv2d(x, { name: "conv1", filters: 64, kernel: 3, padding: 1, bias: false, init: "torch-default" }, new Rng(1));
 * ```
 */
export function conv2d(x: Sym, o: ConvOptions, rng: Rng): Sym {
  const inChannels = x.shape[3] as number;
  const stride = o.stride ?? 1;
  const pad = o.padding ?? 0;
  const area = o.kernel * o.kernel;
  // PyTorch's fans for a weight [out, in / groups, k, k].
  const fanIn = (o.depthwise ? 1 : inChannels) * area;
  const fanOut = (o.depthwise ? inChannels : o.filters) * area;
  let input = x;
  let padding: "same" | "valid" = "valid";
  if (pad > 0) {
    if (stride === 1 && 2 * pad === o.kernel - 1) padding = "same";
    else {
      input = tf.layers.zeroPadding2d({ padding: pad, name: `${o.name}.pad` }).apply(x) as Sym;
    }
  }
  const useBias = o.bias ?? true;
  const common = {
    name: o.name,
    kernelSize: o.kernel,
    strides: stride,
    padding,
    useBias,
    biasInitializer: useBias ? biasInitializer(o.init, fanIn, rng) : "zeros",
  } as const;
  const layer = o.depthwise
    ? tf.layers.depthwiseConv2d({
      ...common,
      depthMultiplier: 1,
      depthwiseInitializer: weightInitializer(o.init, fanIn, fanOut, rng),
    })
    : tf.layers.conv2d({
      ...common,
      filters: o.filters,
      kernelInitializer: weightInitializer(o.init, fanIn, fanOut, rng),
    });
  return layer.apply(input) as Sym;
}

/**
 * A fully connected layer (`nn.Linear`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../util/rng.ts";
 * import { linear } from "./layers.ts";
 * const x = tf.input({ shape: [120] });
 * const y = linear(x, { name: "fc1", units: 84, init: "torch-default" }, new Rng(1));
 * ```
 */
export function linear(
  x: Sym,
  o: { name: string; units: number; init: InitKind },
  rng: Rng,
): Sym {
  const fanIn = x.shape[x.shape.length - 1] as number;
  return tf.layers.dense({
    name: o.name,
    units: o.units,
    kernelInitializer: weightInitializer(o.init, fanIn, o.units, rng),
    biasInitializer: biasInitializer(o.init, fanIn, rng),
  }).apply(x) as Sym;
}

/** PyTorch's BatchNorm defaults: epsilon 1e-5, momentum 0.1 (tfjs's 0.9). */
export const TORCH_BN = { epsilon: 1e-5, momentum: 0.9 } as const;

// The built-in BatchNormalization class is not exported by name; take it from an instance so the
// subclass below serialises as (and loads anywhere as) the built-in layer.
type BatchNormCtor = new (args: Record<string, unknown>) => tf.layers.Layer;
const BuiltinBatchNorm = (tf.layers.batchNormalization({}) as object).constructor as BatchNormCtor;

interface BatchNormInternals {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  epsilon: number;
  momentum: number;
}

/**
 * BatchNormalization over the channel axis of NHWC input with PyTorch's
 * training semantics: normalises with the biased batch variance and updates
 * the running variance with the unbiased one (`n / (n - 1)`), running
 * statistics `new = 0.9 * old + 0.1 * batch`. In inference mode it is the
 * built-in layer, and it serialises as the built-in `BatchNormalization`, so
 * saved models load anywhere (loaded copies train with TensorFlow.js's biased
 * running variance, which only matters for fine-tuning).
 */
class TorchBatchNorm extends BuiltinBatchNorm {
  static className = "BatchNormalization";

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    if (kwargs["training"] !== true) return super.call(inputs, kwargs) as tf.Tensor;
    const self = this as unknown as BatchNormInternals;
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      const { y, mean, variance } = batchNormTraining(
        x,
        self.gamma.read() as tf.Tensor1D,
        self.beta.read() as tf.Tensor1D,
        self.epsilon,
      );
      const keep = self.momentum;
      tf.tidy(() => {
        const unbiased = n > 1 ? variance.mul(n / (n - 1)) : variance;
        self.movingMean.write(self.movingMean.read().mul(keep).add(mean.mul(1 - keep)));
        self.movingVariance.write(
          self.movingVariance.read().mul(keep).add(unbiased.mul(1 - keep)),
        );
      });
      tf.dispose([mean, variance]);
      return y;
    });
  }
}

/**
 * Training-mode batch normalisation of NHWC `x` over the batch and spatial
 * axes, with a hand-written gradient: the closed form
 * `dx = gamma / sigma * (dy - mean(dy) - xhat * mean(dy * xhat))`,
 * `dgamma = sum(dy * xhat)`, `dbeta = sum(dy)`. TensorFlow.js's own
 * gradient of `batchNorm` tiles the inverse standard deviation to the full
 * input shape and differentiates `moments` separately, which costs a sixth
 * of a ResNet training step on wasm; this one uses broadcasting only and
 * keeps one saved activation (`x`). Returns the output and the batch
 * statistics (biased variance) for the running averages; the statistics are
 * outside any `tf.tidy` and the caller disposes them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchNormTraining } from "./layers.ts";
 * const x = tf.randomNormal([4, 2, 2, 3]) as tf.Tensor4D;
 * const { y } = batchNormTraining(x, tf.ones([3]), tf.zeros([3]), 1e-5);
 * ```
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const axes = [0, 1, 2];
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(xs, axes) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
    // The forward function runs in its own tidy: keep the statistics for the caller.
    stats = { mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()) };
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    save([xs, mean, invStd, g]);
    return {
      value: tf.batchNorm(xs, mean, variance, b, g, epsilon),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sInvStd, sGamma] = saved as [
          tf.Tensor4D,
          tf.Tensor1D,
          tf.Tensor1D,
          tf.Tensor1D,
        ];
        const count = sx.shape[0] * sx.shape[1] * sx.shape[2];
        const xhat = tf.mul(tf.sub(sx, sMean), sInvStd);
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, xhat), axes);
        const centred = tf.sub(
          tf.sub(dy, tf.div(dBeta, count)),
          tf.mul(xhat, tf.div(dGamma, count)),
        );
        const dx = tf.mul(centred, tf.mul(sGamma, sInvStd));
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  const { mean, variance } = stats as { mean: tf.Tensor1D; variance: tf.Tensor1D };
  return { y, mean, variance };
}

/**
 * A `BatchNorm2d` (weight 1, bias 0) with PyTorch's semantics.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchNorm } from "./layers.ts";
 * const x = tf.input({ shape: [8, 8, 16] });
 * const y = batchNorm(x, "bn1");
 * ```
 */
export function batchNorm(x: Sym, name: string): Sym {
  const layer = new TorchBatchNorm({ name, axis: -1, ...TORCH_BN });
  return layer.apply(x) as Sym;
}

/**
 * ReLU (or ReLU6 with `max = 6`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { relu } from "./layers.ts";
 * const y = relu(tf.input({ shape: [4] }), "relu");
 * ```
 */
export function relu(x: Sym, name: string, max?: number): Sym {
  const args = max === undefined ? { name } : { name, maxValue: max };
  return tf.layers.reLU(args).apply(x) as Sym;
}

/**
 * Element-wise sum of two branches (a residual connection).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { add } from "./layers.ts";
 * const a = tf.input({ shape: [4] });
 * const y = add(a, a, "sum");
 * ```
 */
export function add(a: Sym, b: Sym, name: string): Sym {
  return tf.layers.add({ name }).apply([a, b]) as Sym;
}

/**
 * Global average pooling to a `[N, C]` vector (`adaptive_avg_pool2d(x, 1)`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { globalAvgPool } from "./layers.ts";
 * const f = globalAvgPool(tf.input({ shape: [4, 4, 8] }), "pool");
 * ```
 */
export function globalAvgPool(x: Sym, name: string): Sym {
  return tf.layers.globalAveragePooling2d({ name }).apply(x) as Sym;
}

/**
 * 2x2 max pooling with stride 2 (`nn.MaxPool2d(2, 2)`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { maxPool2 } from "./layers.ts";
 * const y = maxPool2(tf.input({ shape: [8, 8, 3] }), "pool");
 * ```
 */
export function maxPool2(x: Sym, name: string): Sym {
  return tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2, padding: "valid" }).apply(
    x,
  ) as Sym;
}

/**
 * The number of trainable parameters of a model (PyTorch's
 * `sum(p.numel() for p in model.parameters() if p.requires_grad)`: BatchNorm
 * running statistics are not parameters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { trainableParameterCount } from "./layers.ts";
 * const x = tf.input({ shape: [3] });
 * const m = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor });
 * assert.equal(trainableParameterCount(m), 8);
 * ```
 */
export function trainableParameterCount(model: tf.LayersModel): number {
  let total = 0;
  for (const w of model.trainableWeights) {
    total += w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
  }
  return total;
}
