/**
 * A `BatchMatMul` wrapper for the wasm backend: wasm's kernel runs 10-40x
 * slower when an operand is transposed (every matrix-product gradient asks
 * for one), so the wrapper transposes that operand into a fresh buffer with
 * a cache-blocked loop and calls the backend's own kernel without transposes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelIO, kernelIO, type KernelIOBackend } from "../kernel_io.ts";
import { kernelInput } from "./conv_geometry.ts";

const BLOCK = 32;

/**
 * A copy of `t` (shape `[...outer, rows, cols]`) with its last two axes swapped.
 *
 * @example
 * ```ts
 * // const aT = transposeLastTwo(io, a); ... io.free(aT);
 * ```
 */
export function transposeLastTwo(io: KernelIO, t: tf.TensorInfo): tf.TensorInfo {
  const rank = t.shape.length;
  const rows = t.shape[rank - 2] as number;
  const cols = t.shape[rank - 1] as number;
  const outer = t.shape.slice(0, -2);
  const batch = outer.reduce((p, d) => p * d, 1);
  const out = io.alloc([...outer, cols, rows], false);
  const src = io.view(t);
  const dst = io.view(out);
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const rEnd = Math.min(rows, r0 + BLOCK);
      for (let c0 = 0; c0 < cols; c0 += BLOCK) {
        const cEnd = Math.min(cols, c0 + BLOCK);
        for (let r = r0; r < rEnd; r++) {
          let s = base + r * cols + c0;
          let d = base + c0 * rows + r;
          for (let c = c0; c < cEnd; c++, s++, d += rows) dst[d] = src[s] as number;
        }
      }
    }
  }
  return out;
}

/**
 * The kernel configuration wrapping `original` (the backend's own
 * BatchMatMul, looked up when the kernel runs) for `backendName`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchMatMulConfig } from "./batch_mat_mul.ts";
 * const original = tf.getKernel(tf.BatchMatMul, "wasm")!;
 * tf.unregisterKernel(tf.BatchMatMul, "wasm");
 * tf.registerKernel(batchMatMulConfig("wasm", () => original));
 * ```
 */
export function batchMatMulConfig(
  backendName: KernelIOBackend,
  original: () => tf.KernelConfig | undefined,
): tf.KernelConfig {
  return {
    kernelName: tf.BatchMatMul,
    backendName,
    kernelFunc: (args) => {
      const inner = original();
      if (inner === undefined) throw new Error(`No original BatchMatMul kernel for ${backendName}`);
      const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
      if (!transposeA && !transposeB) return inner.kernelFunc(args);
      const io = kernelIO(backendName, args.backend);
      const a = kernelInput(args.inputs, "a", tf.BatchMatMul);
      const b = kernelInput(args.inputs, "b", tf.BatchMatMul);
      const a2 = transposeA ? transposeLastTwo(io, a) : a;
      const b2 = transposeB ? transposeLastTwo(io, b) : b;
      const out = inner.kernelFunc({
        inputs: { a: a2, b: b2 },
        backend: args.backend,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      if (transposeA) io.free(a2);
      if (transposeB) io.free(b2);
      return out;
    },
  };
}
