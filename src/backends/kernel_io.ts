/**
 * A small adapter that lets one kernel implementation written in TypeScript
 * run on both the `wasm` and the `cpu` TensorFlow.js backends: it reads and
 * writes float32 tensor memory in place and calls the backend's own matrix
 * product kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The names of the backends whose memory {@linkcode KernelIO} understands. */
export type KernelIOBackend = "wasm" | "cpu";

/**
 * Float32 memory access and a matrix product for one backend instance.
 *
 * Views returned by {@linkcode KernelIO.view} may be invalidated by any later
 * allocation (the wasm heap can grow and detach them), so take views after
 * allocating and do not keep them across `alloc` or `matMul` calls.
 *
 * @example Reading a tensor inside a kernel
 * ```ts
 * import { kernelIO } from "./kernel_io.ts";
 * // inside a kernelFunc({ inputs, backend }):
 * // const io = kernelIO("wasm", backend);
 * // const xs = io.view(inputs.x);
 * ```
 */
export interface KernelIO {
  /** A float32 view of a tensor's memory (no copy). */
  view(info: tf.TensorInfo): Float32Array;
  /**
   * A new float32 tensor of `shape` owned by the backend, zero-filled unless
   * `zero` is false (then its contents are unspecified).
   */
  alloc(shape: number[], zero?: boolean): tf.TensorInfo;
  /** `a x b` (2-D, optionally transposed) computed by the backend's BatchMatMul kernel. */
  matMul(
    a: tf.TensorInfo,
    b: tf.TensorInfo,
    transposeA?: boolean,
    transposeB?: boolean,
  ): tf.TensorInfo;
  /** Runs another kernel of the same backend (its output is an intermediate to {@linkcode free}). */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo;
  /** Frees an intermediate tensor created by {@linkcode alloc} or {@linkcode matMul}. */
  free(info: tf.TensorInfo): void;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: tf.DataId): boolean;
}

interface CpuBackendLike {
  data: { get(dataId: tf.DataId): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

/**
 * Builds the {@linkcode KernelIO} for a kernel running on `backendName`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { kernelIO } from "./kernel_io.ts";
 * await tf.setBackend("cpu");
 * const io = kernelIO("cpu", tf.backend());
 * const t = io.alloc([2, 3]);
 * io.view(t).fill(1);
 * io.free(t);
 * ```
 */
export function kernelIO(backendName: KernelIOBackend, backend: unknown): KernelIO {
  const run = (
    kernelName: string,
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap,
  ): tf.TensorInfo => {
    const kernel = tf.getKernel(kernelName, backendName);
    if (kernel === undefined) {
      throw new Error(`Backend "${backendName}" has no ${kernelName} kernel`);
    }
    return kernel.kernelFunc({
      inputs,
      backend: backend as tf.KernelBackend,
      attrs,
    }) as tf.TensorInfo;
  };
  const matMul = (a: tf.TensorInfo, b: tf.TensorInfo, transposeA = false, transposeB = false) =>
    run(tf.BatchMatMul, { a, b }, { transposeA, transposeB });
  if (backendName === "wasm") {
    const wasm = backend as WasmBackendLike;
    return {
      view: (info) => wasm.typedArrayFromHeap(info),
      alloc: (shape, zero = true) => {
        const info = wasm.makeOutput(shape, "float32");
        if (zero) wasm.typedArrayFromHeap(info).fill(0);
        return info;
      },
      matMul,
      run,
      free: (info) => void wasm.disposeData(info.dataId),
    };
  }
  const cpu = backend as CpuBackendLike;
  return {
    view: (info) => {
      const values = cpu.data.get(info.dataId)?.values;
      if (!(values instanceof Float32Array)) {
        throw new Error(`Expected float32 tensor data on the cpu backend (got ${info.dtype})`);
      }
      return values;
    },
    alloc: (shape) =>
      cpu.makeTensorInfo(shape, "float32", new Float32Array(shape.reduce((p, d) => p * d, 1))),
    matMul,
    run,
    free: (info) => cpu.disposeIntermediateTensorInfo(info),
  };
}
