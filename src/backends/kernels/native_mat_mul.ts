/**
 * `BatchMatMul` and `_FusedMatMul` for the wasm backend through oneDNN's
 * sgemm, on the wasm heap in place: transposed operands are passed as such
 * (no copies), each batch item is one sgemm call. Shapes the kernels do not
 * cover (batch dimensions that broadcast other than from 1, a PReLU
 * activation, a bias that is not per column) go to the backend's own kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { kernelIO } from "../kernel_io.ts";
import type { Sgemm } from "../onednn.ts";
import { kernelInput } from "./conv_geometry.ts";

/** Where a fused epilogue's bias and activation come from. */
interface Epilogue {
  bias?: Float32Array;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * `out = a x b` (each optionally transposed) for rank >= 2 operands whose
 * batch dimensions are equal or 1; undefined when the shapes do not fit.
 */
function nativeBatchMatMul(
  sgemm: Sgemm,
  backend: unknown,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo | undefined {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const [aRows, aCols] = [a.shape[ra - 2] as number, a.shape[ra - 1] as number];
  const [bRows, bCols] = [b.shape[rb - 2] as number, b.shape[rb - 1] as number];
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  if ((transposeB ? bCols : bRows) !== k) return undefined;
  const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = (batchA >= batchB ? a : b).shape.slice(0, -2);
  const batch = Math.max(batchA, batchB);
  const io = kernelIO("wasm", backend);
  const out = io.alloc([...outer, m, n], false);
  const av = io.view(a);
  const bv = io.view(b);
  const cv = io.view(out);
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? 0 : i * m * k;
    const bi = batchB === 1 ? 0 : i * k * n;
    sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      av.subarray(ai, ai + m * k),
      aCols,
      bv.subarray(bi, bi + k * n),
      bCols,
      cv.subarray(i * m * n, (i + 1) * m * n),
      n,
    );
  }
  return out;
}

function applyEpilogue(values: Float32Array, n: number, e: Epilogue): boolean {
  const { bias, activation = "linear", leakyreluAlpha = 0.2 } = e;
  if (bias !== undefined) {
    for (let i = 0; i < values.length; i += n) {
      for (let j = 0; j < n; j++) values[i + j] = (values[i + j] as number) + (bias[j] as number);
    }
  }
  const f: ((x: number) => number) | undefined = {
    linear: undefined,
    relu: (x: number) => (x > 0 ? x : 0),
    relu6: (x: number) => Math.min(6, Math.max(0, x)),
    elu: (x: number) => (x >= 0 ? x : Math.exp(x) - 1),
    leakyrelu: (x: number) => (x >= 0 ? x : leakyreluAlpha * x),
    sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  }[activation];
  if (f === undefined) return activation === "linear";
  for (let i = 0; i < values.length; i++) values[i] = f(values[i] as number);
  return true;
}

/**
 * The `BatchMatMul` kernel for wasm through `sgemm`; `original` is the
 * backend's own kernel, used where the shapes do not fit.
 *
 * @example
 * ```ts
 * // registered by registerTrainingKernels("wasm") where oneDNN is present
 * ```
 */
export function nativeBatchMatMulConfig(
  sgemm: Sgemm,
  original: () => tf.KernelConfig | undefined,
): tf.KernelConfig {
  return {
    kernelName: tf.BatchMatMul,
    backendName: "wasm",
    kernelFunc: (args) => {
      const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
      const a = kernelInput(args.inputs, "a", tf.BatchMatMul);
      const b = kernelInput(args.inputs, "b", tf.BatchMatMul);
      const out = nativeBatchMatMul(sgemm, args.backend, a, b, transposeA, transposeB);
      if (out !== undefined) return out;
      const inner = original();
      if (inner === undefined) throw new Error("No original BatchMatMul kernel for wasm");
      return inner.kernelFunc(args);
    },
  };
}

/**
 * The `_FusedMatMul` kernel (matrix product, bias, activation) for wasm
 * through `sgemm`; `original` takes the cases it does not cover.
 *
 * @example
 * ```ts
 * // registered by registerTrainingKernels("wasm") where oneDNN is present
 * ```
 */
export function nativeFusedMatMulConfig(
  sgemm: Sgemm,
  original: () => tf.KernelConfig | undefined,
): tf.KernelConfig {
  return {
    kernelName: tf._FusedMatMul,
    backendName: "wasm",
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
      const inputs = args.inputs as unknown as tf._FusedMatMulInputs & {
        bias?: tf.TensorInfo;
        preluActivationWeights?: tf.TensorInfo;
      };
      const fallback = () => {
        const inner = original();
        if (inner === undefined) throw new Error("No original _FusedMatMul kernel for wasm");
        return inner.kernelFunc(args);
      };
      const supported = ["linear", "relu", "relu6", "elu", "leakyrelu", "sigmoid"];
      if (inputs.preluActivationWeights != null || !supported.includes(attrs.activation)) {
        return fallback();
      }
      const a = kernelInput(args.inputs, "a", tf._FusedMatMul);
      const b = kernelInput(args.inputs, "b", tf._FusedMatMul);
      const bias = inputs.bias ?? undefined;
      const out = nativeBatchMatMul(sgemm, args.backend, a, b, attrs.transposeA, attrs.transposeB);
      if (out === undefined) return fallback();
      const n = out.shape[out.shape.length - 1] as number;
      const biasSize = bias === undefined ? 0 : bias.shape.reduce((p, d) => p * d, 1);
      if (bias !== undefined && biasSize !== n) {
        kernelIO("wasm", args.backend).free(out);
        return fallback();
      }
      const io = kernelIO("wasm", args.backend);
      const epilogue: Epilogue = { activation: attrs.activation };
      if (bias !== undefined) epilogue.bias = io.view(bias);
      if (attrs.leakyreluAlpha !== undefined) epilogue.leakyreluAlpha = attrs.leakyreluAlpha;
      applyEpilogue(io.view(out), n, epilogue);
      return out;
    },
  };
}
