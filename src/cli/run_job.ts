/**
 * `dfkd run-job <run-dir> --index I | --job ID`: runs one job of a planned
 * run (see `src/cluster/run_job.ts`): what a cluster's array task or indexed
 * pod calls. Exit 0 when the job completed (or diverged, or had already),
 * 1 when it failed, 2 when another process runs it (or bad input), 130 when
 * a signal stopped it (it continues from its checkpoint when re-run).
 *
 * @module
 */
import { BACKEND_NAMES, type BackendRequest } from "../backends/init_backend.ts";
import type { Toolkit } from "../bench/toolkit.ts";
import { runPlannedJob } from "../cluster/run_job.ts";
import { UserError } from "../util/errors.ts";
import { Interrupter } from "../util/interrupt.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";

const USAGE = `run-job <run-dir> (--index I | --job ID) [--backend ${BACKEND_NAMES.join("|")}]
    [--data-root DIR] [--teacher-cache DIR]

  Runs one job of a run made by "dfkd plan" (I: its index, 0-based, e.g. $SLURM_ARRAY_TASK_ID
  or $JOB_COMPLETION_INDEX) and writes only that job's files; safe to run concurrently with
  other indexes on other machines sharing the folder. A second copy of the same job is refused
  (exit 2). A re-run continues from the job's newest checkpoint. SIGTERM, SIGINT or SIGUSR1:
  checkpoint and exit 130. --backend defaults to the plan's (numbers differ across backends);
  --teacher-cache: where to find teachers not at their recorded path.`;

/** Options of {@linkcode makeRunJobCommand}. */
export interface RunJobCommandOptions {
  /** Loads the toolkit. */
  loadToolkit: () => Promise<Toolkit>;
  /** Interrupts (default: a fresh one listening to SIGINT, SIGTERM and SIGUSR1). */
  interrupts?: Interrupter;
}

/**
 * The `run-job` command.
 *
 * @example
 * ```ts
 * import { makeRunJobCommand } from "./run_job.ts";
 * import type { Toolkit } from "../bench/toolkit.ts";
 * const toolkit = {} as Toolkit; // the real one: src/bench/default_toolkit.ts
 * const command = makeRunJobCommand({ loadToolkit: () => Promise.resolve(toolkit) });
 * // await command.run(["results/smoke/20260101T000000Z-abc1234", "--index", "0"]);
 * ```
 */
export function makeRunJobCommand(options: RunJobCommandOptions): Command {
  return {
    summary: "Run one job of a planned run by index (a cluster's array task)",
    usage: USAGE,
    async run(args) {
      const { values, positionals } = parseCommandArgs(args, {
        index: { type: "string" },
        job: { type: "string" },
        backend: { type: "string" },
        "data-root": { type: "string" },
        "teacher-cache": { type: "string" },
      }, USAGE);
      if (positionals.length !== 1) {
        throw new UserError(`Name one run folder\nUsage: deno task dfkd ${USAGE}`, 2);
      }
      const backend = values.backend;
      if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
        throw new UserError(
          `--backend must be one of ${BACKEND_NAMES.join(", ")} (got "${backend}")`,
          2,
        );
      }
      const index = parseIntFlag("--index", values.index, 0);
      const toolkit = await options.loadToolkit();
      const interrupts = options.interrupts ?? new Interrupter();
      let unlisten = () => {};
      if (options.interrupts === undefined) {
        const off = interrupts.listen();
        const usr1 = () => interrupts.interrupt();
        Deno.addSignalListener("SIGUSR1", usr1);
        unlisten = () => {
          off();
          Deno.removeSignalListener("SIGUSR1", usr1);
        };
      }
      interrupts.onStop(() =>
        console.log("Signal: finishing the current step, saving a checkpoint, then exiting")
      );
      interrupts.onAbort(() => Deno.exit(130));
      try {
        const outcome = await runPlannedJob({
          runDir: positionals[0] as string,
          ...(index !== undefined ? { index } : {}),
          ...(values.job !== undefined ? { jobId: values.job } : {}),
          ...(backend !== undefined ? { backend: backend as BackendRequest } : {}),
          ...(values["data-root"] !== undefined ? { dataRoot: values["data-root"] } : {}),
          ...(values["teacher-cache"] !== undefined
            ? { teacherCacheDir: values["teacher-cache"] }
            : {}),
          toolkit,
          log: (line) => console.log(line),
          shouldStop: () => interrupts.stopping,
        });
        return outcome.exitCode;
      } finally {
        unlisten();
      }
    },
  };
}
