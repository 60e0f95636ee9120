/**
 * Runs tfjs-backend-wasm's threaded SIMD build under Deno.
 *
 * TensorFlow.js turns threads off wherever `process` exists (Deno has one),
 * and Emscripten's pthread pool, which then takes its Node.js route, would
 * start each worker from a `blob:` URL, which `node:worker_threads` refuses.
 * {@linkcode enableWasmThreads} switches the flag on, writes the worker
 * script and the module's main script to cache files, and hands Emscripten a
 * `Worker` class that starts those files; two globals the worker script
 * assigns (`self`, `performance`) are read-only in Deno's workers, so the
 * cached worker script assigns only the ones it can. The module caps XNNPACK's
 * pool at half the logical cores it sees, whatever it is asked for; during
 * initialisation it is shown twice the requested count, so the request holds.
 *
 * Threads change only who computes which block of a kernel, never the
 * arithmetic: results are bit-identical for any thread count (tested).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { Worker as NodeWorker } from "node:worker_threads";
import { createRequire } from "node:module";
import os, { homedir } from "node:os";
import { join } from "node:path";
import { writeTextFileAtomic } from "../util/atomic_write.ts";

/** The most threads the wasm backend can use: the size of Emscripten's worker pool. */
export const MAX_WASM_THREADS = 8;

/** The environment variable naming the folder for the worker scripts. */
export const WASM_CACHE_ENV = "DFKD_WASM_CACHE";

/**
 * The folder for the cached worker scripts: `$DFKD_WASM_CACHE`, else
 * `~/.cache/dfkd-bench/wasm`.
 *
 * @example
 * ```ts
 * import { wasmCacheDir } from "./wasm_threads.ts";
 * console.log(wasmCacheDir().endsWith("wasm"));
 * ```
 */
export function wasmCacheDir(): string {
  const fromEnv = Deno.env.get(WASM_CACHE_ENV);
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return join(homedir(), ".cache", "dfkd-bench", "wasm");
}

/** The files {@linkcode prepareWorkerScripts} wrote. */
interface WorkerScripts {
  /** The pthread worker (CommonJS, started by `node:worker_threads`). */
  worker: string;
  /** The Emscripten module the worker evaluates (defines `WasmBackendModuleThreadedSimd`). */
  main: string;
}

const require = createRequire(import.meta.url);

async function prepareWorkerScripts(dir: string): Promise<WorkerScripts> {
  const pkg = "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd";
  const { wasmWorkerContents } = require(`${pkg}.worker.js`) as { wasmWorkerContents: string };
  const mainSource = await Deno.readTextFile(require.resolve(`${pkg}.js`));
  // `self` and `performance` are getters without setters in Deno's workers.
  const assign = "Object.assign(global,{self:global,";
  if (!wasmWorkerContents.includes(assign)) {
    throw new Error(`Unexpected worker script in ${pkg}.worker.js: cannot patch its globals`);
  }
  // The script holds a newline inside a string literal (as TensorFlow.js does, escape it).
  const workerSource = wasmWorkerContents.replace(/\n/g, "\\n").replace(
    assign,
    "((t,s)=>{for(const k of Object.keys(s)){try{t[k]=s[k]}catch{}}})(global,{self:global,",
  );
  const tag = await shortHash(workerSource + mainSource);
  const folder = join(dir, `threaded-simd-${tfjsWasmVersion()}-${tag}`);
  const scripts = { worker: join(folder, "worker.cjs"), main: join(folder, "main.js") };
  await Deno.mkdir(folder, { recursive: true });
  for (const [path, text] of [[scripts.worker, workerSource], [scripts.main, mainSource]]) {
    const existing = await Deno.readTextFile(path as string).catch(() => undefined);
    if (existing !== text) await writeTextFileAtomic(path as string, text as string);
  }
  return scripts;
}

function tfjsWasmVersion(): string {
  const { version } = require("@tensorflow/tfjs-backend-wasm/package.json") as {
    version: string;
  };
  return version;
}

async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest).slice(0, 6)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** A `node:worker_threads` Worker that starts the cached pthread script whatever URL it gets. */
function fileWorkerClass(scripts: WorkerScripts, started: NodeWorker[]): typeof NodeWorker {
  return class FileWorker extends NodeWorker {
    constructor(_url: string | URL) {
      super(scripts.worker);
      started.push(this);
    }
    override postMessage(message: unknown, transfer?: readonly unknown[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown };
      // The module's own main script arrives as a Blob; the worker reads a file.
      if (m?.cmd === "load") m.urlOrBlob = scripts.main;
      super.postMessage(message, transfer as never);
    }
  };
}

/** What {@linkcode enableWasmThreads} did. */
export interface WasmThreadsSetup {
  /** Threads XNNPACK was asked for. */
  requested: number;
  /** The folder holding the worker scripts. */
  cacheDir: string;
}

/**
 * Prepares the threaded wasm build for `threads` threads (at most
 * {@linkcode MAX_WASM_THREADS}); call it before the wasm backend is first
 * initialised, then {@linkcode withFileWorkers} around that initialisation.
 * One thread leaves the build unthreaded.
 *
 * @example
 * ```ts
 * import { enableWasmThreads } from "./wasm_threads.ts";
 * const setup = await enableWasmThreads(1);
 * console.log(setup.requested); // 1
 * ```
 */
export async function enableWasmThreads(threads: number): Promise<WasmThreadsSetup> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new RangeError(
      `Thread count ${threads} is out of range: use a whole number from 1 to ${MAX_WASM_THREADS}`,
    );
  }
  const cacheDir = wasmCacheDir();
  if (threads === 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return { requested: 1, cacheDir };
  }
  pendingScripts = await prepareWorkerScripts(cacheDir);
  pendingThreads = threads;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  return { requested: threads, cacheDir };
}

let pendingScripts: WorkerScripts | undefined;
let pendingThreads = 1;

/**
 * Runs `init` (the wasm backend's initialisation) with the global `Worker`
 * pinned to the cached-file worker class, so Emscripten's assignment of the
 * Node.js Worker to the global is ignored, and with `os.cpus()` reporting
 * twice the requested threads; both are restored afterwards.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { enableWasmThreads, withFileWorkers } from "./wasm_threads.ts";
 * await enableWasmThreads(1);
 * console.log(await withFileWorkers(() => tf.setBackend("wasm")));
 * ```
 */
export async function withFileWorkers<T>(init: () => Promise<T>): Promise<T> {
  const scripts = pendingScripts;
  if (scripts === undefined) return await init();
  const saved = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  const started: NodeWorker[] = [];
  const FileWorker = fileWorkerClass(scripts, started);
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => FileWorker,
    set: () => {},
  });
  const cpus = os.cpus;
  const shown = cpus()[0];
  const mutableOs = os as { cpus: typeof os.cpus };
  if (shown !== undefined) mutableOs.cpus = () => new Array(2 * pendingThreads).fill(shown);
  try {
    return await init();
  } finally {
    if (saved !== undefined) Object.defineProperty(globalThis, "Worker", saved);
    mutableOs.cpus = cpus;
    // Once loaded, pool threads must not keep the process alive after the program is done.
    for (const worker of started) worker.unref();
  }
}

/**
 * The threads the initialised wasm backend really uses (XNNPACK's pool size).
 *
 * @example
 * ```ts
 * // after initBackend("wasm"): console.log(wasmThreadsInUse());
 * ```
 */
export function wasmThreadsInUse(): number {
  return getThreadsCount();
}
