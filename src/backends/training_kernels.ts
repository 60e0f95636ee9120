/**
 * Registers dfkd-bench's gradient kernels so the wasm and cpu backends can
 * train CNNs at useful speed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelIOBackend } from "./kernel_io.ts";
import { conv2dBackpropFilterConfig } from "./kernels/conv2d_backprop_filter.ts";
import { conv2dBackpropInputConfig } from "./kernels/conv2d_backprop_input.ts";
import { depthwiseBackpropConfigs } from "./kernels/depthwise_conv2d_backprop.ts";
import { batchMatMulConfig } from "./kernels/batch_mat_mul.ts";
import { maxPoolGradConfig } from "./kernels/max_pool_grad.ts";
import { nativeBatchMatMulConfig, nativeFusedMatMulConfig } from "./kernels/native_mat_mul.ts";
import { nativeConv2dConfig } from "./kernels/native_conv2d.ts";
import { nativeConv2dBackpropFilterConfig } from "./kernels/native_conv2d_backprop_filter.ts";
import { oneDnnSgemm } from "./onednn.ts";

/**
 * The kernels dfkd-bench installs on `backendName`, replacing any the backend
 * had. wasm: both convolution gradients (it has no filter gradient, and its
 * input gradient is about 10x slower than its forward pass) and both depthwise
 * gradients (it has none), `MaxPoolGrad` (its own is about 35x slower than its
 * forward pool), and a `BatchMatMul` wrapper that transposes operands itself
 * (its own kernel is 10-40x slower with a transposed operand, which every
 * matrix-product gradient uses). Where oneDNN is present (`onednn.ts`), wasm's
 * `BatchMatMul`, `_FusedMatMul` and `Conv2D` run in oneDNN's sgemm instead, and
 * so do both convolution gradients (built on `BatchMatMul` and `Conv2D`). cpu:
 * the convolution filter gradient only
 * (its own runs about 100x slower than ours; its input gradient is faster
 * than ours).
 *
 * @example
 * ```ts
 * import { trainingKernelConfigs } from "./training_kernels.ts";
 * console.log(trainingKernelConfigs("cpu").map((k) => k.kernelName));
 * ```
 */
export function trainingKernelConfigs(backendName: KernelIOBackend): tf.KernelConfig[] {
  if (backendName === "cpu") return [conv2dBackpropFilterConfig(backendName)];
  const original = (name: string) => () => originals.get(`${backendName}/${name}`);
  const common = [
    conv2dBackpropInputConfig(backendName),
    ...depthwiseBackpropConfigs(backendName),
    maxPoolGradConfig(backendName),
  ];
  const sgemm = oneDnnSgemm();
  if (sgemm === undefined) {
    return [
      ...common,
      conv2dBackpropFilterConfig(backendName),
      batchMatMulConfig(backendName, original(tf.BatchMatMul)),
    ];
  }
  // With oneDNN every matrix product, the forward convolution and both its
  // gradients (the input gradient built on the first two) run in its sgemm.
  return [
    ...common,
    nativeConv2dBackpropFilterConfig(sgemm, conv2dBackpropFilterConfig(backendName)),
    nativeBatchMatMulConfig(sgemm, original(tf.BatchMatMul)),
    nativeFusedMatMulConfig(sgemm, original(tf._FusedMatMul)),
    nativeConv2dConfig(sgemm, original(tf.Conv2D)),
  ];
}

/**
 * Installs {@linkcode trainingKernelConfigs} for `backendName` and returns the
 * kernels they replaced (by name), so benchmarks can compare against them.
 * Calling it again is harmless: it replaces dfkd-bench's kernels with fresh
 * copies and still reports the backend's original ones.
 *
 * @example
 * ```ts
 * import { registerTrainingKernels } from "./training_kernels.ts";
 * const replaced = registerTrainingKernels("cpu");
 * console.log([...replaced.keys()]);
 * ```
 */
export function registerTrainingKernels(
  backendName: KernelIOBackend,
): Map<string, tf.KernelConfig> {
  for (const config of trainingKernelConfigs(backendName)) {
    const existing = tf.getKernel(config.kernelName, backendName);
    if (existing !== undefined) {
      if (!ours.has(existing.kernelFunc)) originals.set(key(existing), existing);
      tf.unregisterKernel(config.kernelName, backendName);
    }
    ours.add(config.kernelFunc);
    tf.registerKernel(config);
  }
  const replaced = new Map<string, tf.KernelConfig>();
  for (const config of originals.values()) {
    if (config.backendName === backendName) replaced.set(config.kernelName, config);
  }
  return replaced;
}

// Identity of the kernels this module registered, and the originals they
// replaced; both describe the single TensorFlow.js kernel registry (itself
// process-global), so they live beside it rather than in a run's state.
const ours = new WeakSet<tf.KernelFunc>();
const originals = new Map<string, tf.KernelConfig>();
const key = (c: tf.KernelConfig) => `${c.backendName}/${c.kernelName}`;
