/**
 * A watch on the parent process that does not depend on the main thread: a
 * Worker checks the parent process id every `intervalMs` (default 200 ms)
 * and kills this process (SIGKILL) once the parent is gone (the process was
 * reparented). A job process uses it so that, when its runner dies, it stops
 * within a second whatever it is doing, even inside a long synchronous
 * training step, and never writes into a folder a `--resume` may own.
 *
 * Linux and macOS reparent an orphan (to init or a subreaper), which changes
 * `Deno.ppid`; that is what is checked.
 *
 * @module
 */
import type { ParentWatchStart } from "./parent_watch_worker.ts";

/** Options of {@linkcode watchParentDeath}. */
export interface ParentWatchOptions {
  /** The parent to watch (default: `Deno.ppid` now). */
  parentPid?: number;
  /** Milliseconds between checks (default 200). */
  intervalMs?: number;
  /** Printed to stderr before the process is killed. */
  message?: string;
}

/**
 * Starts the watch; returns a function that stops it.
 *
 * @example
 * ```ts
 * import { watchParentDeath } from "./parent_watch.ts";
 * const stop = watchParentDeath({ message: "my parent is gone; exiting" });
 * stop();
 * ```
 */
export function watchParentDeath(options: ParentWatchOptions = {}): () => void {
  const worker = new Worker(new URL("./parent_watch_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const start: ParentWatchStart = {
    parentPid: options.parentPid ?? Deno.ppid,
    intervalMs: options.intervalMs ?? 200,
    message: options.message ?? `process ${Deno.pid}: the parent process is gone; exiting`,
  };
  worker.postMessage(start);
  return () => worker.terminate();
}
