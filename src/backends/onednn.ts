/**
 * Optional native matrix products: oneDNN's `dnnl_sgemm` (Debian `libdnnl2`)
 * through `Deno.dlopen`, called on the wasm heap in place (no copies).
 *
 * Detected once per process: the library is used where `libdnnl.so.2` loads,
 * unless `DFKD_ONEDNN=off`; {@linkcode oneDnnStatus} says which and why.
 * oneDNN threads with OpenMP; its thread count is set to the backend's
 * (`omp_set_num_threads`), and idle OpenMP threads sleep instead of spinning
 * (`OMP_WAIT_POLICY=passive` unless set) so they do not compete with
 * XNNPACK's threads between calls.
 *
 * @module
 */

/** The environment variable that turns oneDNN off (`off`, `0` or `false`). */
export const ONEDNN_ENV = "DFKD_ONEDNN";

/** The library file loaded. */
export const ONEDNN_LIBRARY = "libdnnl.so.2";

/** Whether oneDNN is used, and why. */
export interface OneDnnStatus {
  /** Whether matrix products and convolutions run in oneDNN. */
  available: boolean;
  /** Why not, or the version loaded. */
  detail: string;
  /** oneDNN's version (`2.6.3`), when loaded. */
  version?: string;
}

/**
 * Row-major single-precision `C = op(A) x op(B) + beta C` on float32 views
 * (any `ArrayBuffer` or `SharedArrayBuffer`, e.g. the wasm heap).
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c: Float32Array,
  ldc: number,
  beta?: number,
) => void;

const SYMBOLS = {
  dnnl_sgemm: {
    parameters: [
      "u8",
      "u8",
      "i64",
      "i64",
      "i64",
      "f32",
      "buffer",
      "i64",
      "buffer",
      "i64",
      "f32",
      "buffer",
      "i64",
    ],
    result: "i32",
  },
  dnnl_version: { parameters: [], result: "pointer" },
} as const;

let loaded: { status: OneDnnStatus; sgemm?: Sgemm } | undefined;

/**
 * Loads oneDNN (once) and reports whether it is used and why.
 *
 * @example
 * ```ts
 * import { oneDnnStatus } from "./onednn.ts";
 * const s = oneDnnStatus();
 * console.log(s.available, s.detail);
 * ```
 */
export function oneDnnStatus(): OneDnnStatus {
  return load().status;
}

/**
 * oneDNN's sgemm, or undefined where oneDNN is not used.
 *
 * @example
 * ```ts
 * import { oneDnnSgemm } from "./onednn.ts";
 * const sgemm = oneDnnSgemm();
 * if (sgemm) {
 *   const c = new Float32Array(1);
 *   sgemm(false, false, 1, 1, 2, new Float32Array([1, 2]), 2, new Float32Array([3, 4]), 1, c, 1);
 *   console.log(c[0]); // 11
 * }
 * ```
 */
export function oneDnnSgemm(): Sgemm | undefined {
  return load().sgemm;
}

/**
 * Sets oneDNN's (OpenMP's) thread count; harmless where oneDNN is not used.
 *
 * @example
 * ```ts
 * import { setOneDnnThreads } from "./onednn.ts";
 * setOneDnnThreads(1);
 * ```
 */
export function setOneDnnThreads(threads: number): void {
  if (load().sgemm === undefined) return;
  try {
    const gomp = Deno.dlopen("libgomp.so.1", {
      omp_set_num_threads: { parameters: ["i32"], result: "void" },
    });
    gomp.symbols.omp_set_num_threads(threads);
  } catch {
    // Another OpenMP runtime: it reads OMP_NUM_THREADS instead.
  }
}

function load(): { status: OneDnnStatus; sgemm?: Sgemm } {
  if (loaded !== undefined) return loaded;
  const setting = (Deno.env.get(ONEDNN_ENV) ?? "").toLowerCase();
  if (["off", "0", "false", "no"].includes(setting)) {
    loaded = { status: { available: false, detail: `turned off by ${ONEDNN_ENV}=${setting}` } };
    return loaded;
  }
  if (Deno.env.get("OMP_WAIT_POLICY") === undefined) Deno.env.set("OMP_WAIT_POLICY", "passive");
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(ONEDNN_LIBRARY, SYMBOLS);
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    loaded = {
      status: {
        available: false,
        detail: `${ONEDNN_LIBRARY} not loaded (${why}); install libdnnl2 for native kernels`,
      },
    };
    return loaded;
  }
  const v = new Deno.UnsafePointerView(lib.symbols.dnnl_version() as Deno.PointerObject);
  const version = `${v.getInt32(0)}.${v.getInt32(4)}.${v.getInt32(8)}`;
  const call = lib.symbols.dnnl_sgemm;
  const sgemm: Sgemm = (transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta = 0) => {
    if (m === 0 || n === 0) return;
    const status = call(
      transA ? 84 : 78,
      transB ? 84 : 78,
      BigInt(m),
      BigInt(n),
      BigInt(k),
      1,
      a as Float32Array<ArrayBuffer>,
      BigInt(lda),
      b as Float32Array<ArrayBuffer>,
      BigInt(ldb),
      beta,
      c as Float32Array<ArrayBuffer>,
      BigInt(ldc),
    );
    if (status !== 0) {
      throw new Error(`dnnl_sgemm failed with status ${status} (m=${m}, n=${n}, k=${k})`);
    }
  };
  loaded = { status: { available: true, detail: `oneDNN ${version} sgemm`, version }, sgemm };
  return loaded;
}
