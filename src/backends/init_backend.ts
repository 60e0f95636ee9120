/**
 * Chooses and initialises the TensorFlow.js backend: the native TensorFlow
 * bindings when installed (GPU first), then WebAssembly, then pure JavaScript.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels, trainingKernelConfigs } from "./training_kernels.ts";
import { describeAdapter, findWebGpuAdapter, type WebGpuAdapterInfo } from "./webgpu.ts";
import { type OneDnnStatus, oneDnnStatus, setOneDnnThreads } from "./onednn.ts";
import {
  enableWasmThreads,
  MAX_WASM_THREADS,
  wasmThreadsInUse,
  withFileWorkers,
} from "./wasm_threads.ts";

/** The environment variable giving the compute threads when no option is given. */
export const THREADS_ENV = "DFKD_THREADS";

/** The backends dfkd-bench can run on, fastest first. */
export const BACKEND_NAMES = ["tfjs-node-gpu", "webgpu", "tfjs-node", "wasm", "cpu"] as const;

/** One of {@linkcode BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/** A backend name, or `auto` for the fastest available one. */
export type BackendRequest = BackendName | "auto";

/** What trying one backend found. */
export interface BackendProbe {
  /** The backend tried. */
  name: BackendName;
  /** Whether it initialised. */
  available: boolean;
  /** Why it is unavailable, or a short description when it is available. */
  detail: string;
  /**
   * Whether `auto` may pick it (false for webgpu on a CPU adapter, which is
   * correct but slower than wasm; absent means yes when available).
   */
  automatic?: boolean;
  /** The WebGPU adapter (webgpu only). */
  adapter?: WebGpuAdapterInfo;
}

/** The initialised backend and what was found on the way. */
export interface BackendInfo {
  /** The chosen backend. */
  name: BackendName;
  /** TensorFlow.js's own name for it (`tensorflow`, `wasm` or `cpu`). */
  tfjsBackend: string;
  /** The TensorFlow.js version in use. */
  tfjsVersion: string;
  /** Compute threads the backend uses (wasm: XNNPACK's pool; cpu: 1). */
  threads: number;
  /** Whether the wasm backend runs its SIMD build (null for other backends). */
  simd: boolean | null;
  /** Kernels dfkd-bench installed on this backend. */
  customKernels: string[];
  /** Whether wasm's matrix products and convolutions run in oneDNN, and why (null for others). */
  native?: OneDnnStatus | null;
  /** Every backend tried, in order, with what was found. */
  probes: BackendProbe[];
}

/** Thrown when a requested backend cannot be initialised. */
export class BackendUnavailableError extends Error {
  /** Every backend tried, with the reason each failed. */
  readonly probes: BackendProbe[];
  /** Creates the error from the probes that were made. */
  constructor(message: string, probes: BackendProbe[]) {
    super(message);
    this.name = "BackendUnavailableError";
    this.probes = probes;
  }
}

/** Options of {@linkcode initBackend}. */
export interface InitBackendOptions {
  /** Try every backend (as `doctor` does) instead of stopping at the first that works. */
  probeAll?: boolean;
  /** Receives one line per backend tried. */
  log?: (line: string) => void;
  /**
   * Compute threads for wasm (1 to {@linkcode MAX_WASM_THREADS}); default
   * `$DFKD_THREADS`, else every logical core (at most the maximum). It
   * applies when wasm is first initialised in the process.
   */
  threads?: number;
}

/**
 * The thread count {@linkcode initBackend} uses: `requested`, else
 * `$DFKD_THREADS`, else the logical cores, capped at {@linkcode MAX_WASM_THREADS}.
 *
 * @example
 * ```ts
 * import { resolveThreads } from "./init_backend.ts";
 * console.log(resolveThreads(1)); // 1
 * ```
 */
export function resolveThreads(requested?: number): number {
  if (requested !== undefined) return requested;
  const fromEnv = Deno.env.get(THREADS_ENV);
  if (fromEnv !== undefined && fromEnv !== "") {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
      throw new RangeError(
        `${THREADS_ENV}="${fromEnv}" is not a thread count: use a whole number from 1 to ${MAX_WASM_THREADS}`,
      );
    }
    return n;
  }
  return Math.max(1, Math.min(MAX_WASM_THREADS, navigator.hardwareConcurrency));
}

/**
 * Initialises TensorFlow.js on `request` (a backend name, or `auto` for the
 * first that works of {@linkcode BACKEND_NAMES}), installs dfkd-bench's
 * training kernels on wasm and cpu, and reports what it found.
 *
 * A missing native binding is recorded as a reason, never a crash; forcing an
 * unavailable backend throws {@linkcode BackendUnavailableError} listing every
 * backend and why.
 *
 * @example
 * ```ts
 * import { initBackend } from "./init_backend.ts";
 * const info = await initBackend("wasm");
 * console.log(info.name, info.tfjsVersion);
 * ```
 */
export async function initBackend(
  request: BackendRequest = "auto",
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  if (request !== "auto" && !BACKEND_NAMES.includes(request)) {
    throw new BackendUnavailableError(
      `Unknown backend "${String(request)}"; choose auto, ${BACKEND_NAMES.join(", ")}`,
      [],
    );
  }
  if (!wasmStarted) await enableWasmThreads(resolveThreads(options.threads));
  const probes: BackendProbe[] = [];
  let chosen: BackendName | undefined;
  for (const name of BACKEND_NAMES) {
    const wanted = request === "auto" ? chosen === undefined : request === name;
    if (!wanted && !options.probeAll) continue;
    const probe = await probeBackend(name);
    probes.push(probe);
    options.log?.(`${name}: ${probe.available ? "available" : "unavailable"} (${probe.detail})`);
    const allowed = request !== "auto" || probe.automatic !== false;
    if (probe.available && wanted && allowed) chosen = name;
  }
  if (chosen === undefined) {
    const lines = probes.map((p) => `  ${p.name}: ${p.available ? "available" : p.detail}`);
    throw new BackendUnavailableError(
      `Backend "${request}" is not available on this machine.\n${lines.join("\n")}\n` +
        `Use --backend auto, or one of the available backends above.`,
      probes,
    );
  }
  const tfjsBackend = tfjsBackendName(chosen);
  if (!(await tf.setBackend(tfjsBackend))) {
    throw new BackendUnavailableError(`Backend "${chosen}" failed to initialise twice`, probes);
  }
  await tf.ready();
  const customKernels: string[] = [];
  if (chosen === "wasm") setOneDnnThreads(wasmThreadsInUse());
  if (chosen === "wasm" || chosen === "cpu") {
    registerTrainingKernels(chosen);
    customKernels.push(...trainingKernelConfigs(chosen).map((k) => k.kernelName));
  }
  return {
    name: chosen,
    tfjsBackend,
    tfjsVersion: tf.version.tfjs,
    threads: chosen === "tfjs-node" || chosen === "tfjs-node-gpu"
      ? navigator.hardwareConcurrency
      : chosen === "wasm"
      ? wasmThreadsInUse()
      : 1,
    simd: chosen === "wasm" ? Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) : null,
    customKernels,
    native: chosen === "wasm" ? oneDnnStatus() : null,
    probes,
  };
}

async function probeWebGpu(): Promise<BackendProbe> {
  const name = "webgpu";
  const lookup = await findWebGpuAdapter();
  if (!lookup.found) return { name, available: false, detail: lookup.reason };
  try {
    await import("@tensorflow/tfjs-backend-webgpu");
  } catch (error) {
    return { name, available: false, detail: firstLine(error) };
  }
  if (!(await trySet("webgpu"))) {
    return {
      name,
      available: false,
      detail: `tf.setBackend("webgpu") failed`,
      adapter: lookup.info,
    };
  }
  const adapter = lookup.info;
  return {
    name,
    available: true,
    detail: describeAdapter(adapter) +
      (adapter.cpu ? "; a CPU adapter: auto skips it (use --backend webgpu)" : ""),
    automatic: !adapter.cpu,
    adapter,
  };
}

// The wasm backend initialises once per process; its thread count is fixed then.
let wasmStarted = false;

function tfjsBackendName(name: BackendName): string {
  return name === "tfjs-node" || name === "tfjs-node-gpu" ? "tensorflow" : name;
}

async function probeBackend(name: BackendName): Promise<BackendProbe> {
  if (name === "webgpu") return await probeWebGpu();
  if (name === "tfjs-node" || name === "tfjs-node-gpu") {
    if (tf.findBackendFactory("tensorflow") !== null && (await trySet("tensorflow"))) {
      return { name, available: true, detail: "native TensorFlow bindings loaded" };
    }
    const specifier = `@tensorflow/${name}`;
    try {
      // A variable specifier keeps the optional package out of the static module graph.
      await import(specifier);
    } catch (error) {
      forgetBackend("tensorflow");
      return { name, available: false, detail: firstLine(error) };
    }
    if (!(await trySet("tensorflow"))) {
      forgetBackend("tensorflow");
      return { name, available: false, detail: "the tensorflow backend failed to initialise" };
    }
    return { name, available: true, detail: `${specifier} loaded` };
  }
  const set = name === "wasm"
    ? await withFileWorkers(() => trySet(name)).finally(() => wasmStarted = true)
    : await trySet(name);
  if (set) {
    const threads = name === "wasm" ? wasmThreadsInUse() : 1;
    const detail = name === "wasm"
      ? `WebAssembly${
        (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) ? " SIMD" : ""
      }, ${threads} thread${threads === 1 ? "" : "s"}`
      : "pure JavaScript, 1 thread";
    return { name, available: true, detail };
  }
  return { name, available: false, detail: `tf.setBackend("${name}") failed` };
}

async function trySet(tfjsName: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(tfjsName);
    // The cpu backend advertises tfjs-node on its first write; the doctor
    // command already reports which backends exist, so skip the banner.
    if (ok && tfjsName === "cpu") {
      (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
    }
    return ok;
  } catch {
    return false;
  }
}

/** Removes a half-registered backend so a later import can register it cleanly. */
function forgetBackend(tfjsName: string): void {
  for (const kernel of tf.getKernelsForBackend(tfjsName)) {
    tf.unregisterKernel(kernel.kernelName, tfjsName);
  }
  if (tf.findBackendFactory(tfjsName) !== null) tf.removeBackend(tfjsName);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split("\n")[0] ?? text).trim();
}
