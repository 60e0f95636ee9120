/**
 * The job process: `deno run -A src/bench/job_worker.ts --run-dir <dir> --job <id>
 * --backend <name> --data-root <path> [--toolkit <module>]`. It runs one job
 * ({@linkcode executeJob}) and reports progress on stdout as protocol lines;
 * the parent runner starts one per job.
 *
 * Stopping: the parent writes `stop` (finish the current iteration, save a
 * checkpoint, exit) or `abort` (exit at once) lines to the job's stdin. A
 * terminal's Ctrl-C also reaches the job directly (same process group): the
 * first SIGINT (or SIGTERM) means `stop`, the second `abort`. When the
 * parent dies the job exits within a second, whatever it is doing (a worker
 * thread watches the parent, `util/parent_watch.ts`; the end of stdin is a
 * second sign, noticed when the main thread is free), so an orphan never
 * keeps writing into a folder a later `--resume` may own.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { BackendRequest } from "../backends/init_backend.ts";
import { executeJob } from "./execute_job.ts";
import { acquireJobLock } from "../results/job_lock.ts";
import { encodeMessage } from "./protocol.ts";
import { Interrupter } from "../util/interrupt.ts";
import { watchParentDeath } from "../util/parent_watch.ts";
import type { Toolkit } from "./toolkit.ts";

/** The module the parent starts for each job. */
export const JOB_WORKER_MODULE: URL = new URL(import.meta.url);

/** The toolkit module used when `--toolkit` is not given. */
export const DEFAULT_TOOLKIT_MODULE: URL = new URL("./default_toolkit.ts", import.meta.url);

async function main(): Promise<number> {
  // First of all: the runner's death is noticed within a second even while training blocks.
  watchParentDeath({
    message: `job_worker: the runner (process ${Deno.ppid}) is gone; exiting at once`,
  });
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "run-dir": { type: "string" },
      job: { type: "string" },
      backend: { type: "string" },
      "data-root": { type: "string" },
      toolkit: { type: "string" },
    },
    strict: true,
  });
  const runDir = values["run-dir"];
  const jobId = values.job;
  if (!runDir || !jobId || !values.backend || !values["data-root"]) {
    console.error("job_worker: --run-dir, --job, --backend and --data-root are required");
    return 2;
  }
  const module = await import(values.toolkit ?? DEFAULT_TOOLKIT_MODULE.href);
  const toolkit = module.toolkit as Toolkit;
  let stopMessage = false;
  const interrupts = new Interrupter();
  interrupts.onStop(() => {});
  interrupts.onAbort(() => Deno.exit(130));
  interrupts.listen();
  watchParent((line) => {
    if (line === "stop") stopMessage = true;
    else if (line === "abort") Deno.exit(130);
  });
  const emit = (m: Parameters<typeof encodeMessage>[0]) => {
    const bytes = new TextEncoder().encode(encodeMessage(m));
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  };
  // The per-job lock: a cluster task (dfkd run-job) running this job meanwhile is not disturbed.
  const lock = await acquireJobLock(runDir, jobId).catch((error) => {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(2);
  });
  try {
    await executeJob({
      runDir,
      jobId,
      backend: values.backend as BackendRequest,
      dataRoot: values["data-root"],
      toolkit,
      emit,
      shouldStop: () => stopMessage || interrupts.stopping,
    });
  } finally {
    await lock.release();
  }
  // The record holds the outcome (any final status); a non-zero exit means the
  // process itself broke before it could write one.
  return 0;
}

/** Reads control lines from stdin; its end means the parent is gone: exit at once. */
function watchParent(onLine: (line: string) => void): void {
  (async () => {
    let buffer = "";
    try {
      for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          onLine(buffer.slice(0, newline).trim());
          buffer = buffer.slice(newline + 1);
        }
      }
    } catch {
      // A broken pipe is the same as its end.
    }
    console.error("job_worker: the runner is gone (stdin closed); exiting");
    Deno.exit(3);
  })();
}

if (import.meta.main) {
  Deno.exit(await main());
}
