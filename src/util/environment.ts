/**
 * The environment record stored with every result: what ran, where, on which
 * code. It decides which runs are comparable.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { z } from "zod";

/** The Deno version dfkd-bench pins (run as `npx -y deno@2.9.6`). */
export const PINNED_DENO_VERSION = "2.9.6";

/** Schema of {@linkcode Environment} (result records check it on reading). */
export const environmentSchema = z.object({
  /** Deno version running the harness. */
  deno: z.string(),
  /** TensorFlow.js version. */
  tfjs: z.string(),
  /** tfjs-backend-wasm version. */
  tfjsBackendWasm: z.string(),
  /** The backend used (`wasm`, `cpu`, `tfjs-node`, `tfjs-node-gpu`). */
  backend: z.string(),
  /** Compute threads of the backend. */
  threads: z.number(),
  /** Whether wasm ran its SIMD build (null for other backends). */
  simd: z.boolean().nullable(),
  /** CPU model name from /proc/cpuinfo (or "unknown"). */
  cpuModel: z.string(),
  /** Logical CPUs of the machine. */
  cpus: z.number(),
  /** Host name, the machine part of the comparability key. */
  hostname: z.string(),
  /** Operating system and architecture. */
  os: z.string(),
  /** Git commit of the working tree (or "unknown" outside git). */
  gitCommit: z.string(),
  /** Whether the working tree had uncommitted changes. */
  gitDirty: z.boolean(),
});
/** Where and on what a run happened. */
export type Environment = z.infer<typeof environmentSchema>;

/** What {@linkcode collectEnvironment} needs of the backend (a `BackendInfo` of `initBackend`). */
export interface BackendFacts {
  /** Backend name. */
  name: string;
  /** Compute threads. */
  threads: number;
  /** Whether wasm ran its SIMD build (null for other backends). */
  simd: boolean | null;
}

/**
 * Collects the {@linkcode Environment} for a run on `backend`.
 *
 * @example
 * ```ts
 * import { initBackend } from "../backends/init_backend.ts";
 * import { collectEnvironment } from "./environment.ts";
 * const env = await collectEnvironment(await initBackend("cpu"));
 * console.log(env.deno, env.backend, env.gitCommit);
 * ```
 */
export async function collectEnvironment(backend: BackendFacts): Promise<Environment> {
  const git = await gitState();
  return {
    deno: Deno.version.deno,
    tfjs: tf.version.tfjs,
    tfjsBackendWasm: version_wasm,
    backend: backend.name,
    threads: backend.threads,
    simd: backend.simd,
    cpuModel: await cpuModel(),
    cpus: navigator.hardwareConcurrency,
    hostname: Deno.hostname(),
    os: `${Deno.build.os}-${Deno.build.arch}`,
    gitCommit: git.commit,
    gitDirty: git.dirty,
  };
}

async function cpuModel(): Promise<string> {
  try {
    const text = await Deno.readTextFile("/proc/cpuinfo");
    const line = text.split("\n").find((l) => l.startsWith("model name"));
    return line?.split(":")[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * The git commit of the current directory's repository and whether its tree
 * is dirty; `unknown` when git or the repository is missing.
 *
 * @example
 * ```ts
 * import { gitState } from "./environment.ts";
 * console.log((await gitState()).commit);
 * ```
 */
export async function gitState(): Promise<{ commit: string; dirty: boolean }> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  };
  try {
    const commit = await run(["rev-parse", "HEAD"]);
    if (commit === undefined) return { commit: "unknown", dirty: false };
    const status = await run(["status", "--porcelain", "--untracked-files=no"]);
    return { commit, dirty: status !== undefined && status.length > 0 };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}
