/**
 * `dfkd status <run-dir>`: every job of a run and where it stands across the
 * machines writing into the folder (pending, running with its epoch and host,
 * stopped, interrupted, completed, failed with its error); see
 * `src/cluster/status.ts`. `--wait` polls until every job has ended;
 * `--mark-finished` then records the run as finished when they all have (the
 * report job of `dfkd slurm` and `dfkd k8s` runs both).
 *
 * @module
 */
import { markRunFinished, readRunStatus, type RunStatus, waitForRun } from "../cluster/status.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";
import { formatTable } from "./table.ts";

const USAGE = `status <run-dir> [--json] [--wait] [--poll SECONDS] [--mark-finished]

  Shows every job of the run: its state (pending, running, stopped: its process is gone,
  interrupted, completed, diverged, failed), epochs done, last accuracy, host, and the error.
  --wait polls (every --poll seconds, default 30) until every job has ended. --mark-finished
  records the run as finished once every job has ended (as a local run does).`;

/**
 * Formats a run's status as a table with a count line.
 *
 * @example
 * ```ts
 * import { formatRunStatus } from "./status.ts";
 * import type { RunStatus } from "../cluster/status.ts";
 * const status = {} as RunStatus; // from readRunStatus(runDir)
 * // console.log(formatRunStatus(status));
 * ```
 */
export function formatRunStatus(status: RunStatus): string {
  const rows = [["#", "job", "state", "epochs", "acc", "host", "detail"]];
  for (const j of status.jobs) {
    rows.push([
      String(j.index),
      j.id,
      j.state,
      `${j.epochsDone}/${j.epochs}`,
      j.lastAccuracy !== undefined ? `${(j.lastAccuracy * 100).toFixed(2)}%` : "",
      j.host ?? "",
      (j.detail ?? "").replace(/\s+/g, " ").slice(0, 160),
    ]);
  }
  const counts = Object.entries(status.counts).map(([k, v]) => `${v} ${k}`).join(", ");
  return `${status.run.benchmark} run ${status.run.runId}: ${status.jobs.length} jobs (${counts})\n${
    formatTable(rows, [0])
  }`;
}

/** The `status` command. */
export const statusCommand: Command = {
  summary: "Show every job of a run (pending, running where, completed, failed) across a cluster",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      json: { type: "boolean" },
      wait: { type: "boolean" },
      poll: { type: "string" },
      "mark-finished": { type: "boolean" },
    }, USAGE);
    if (positionals.length !== 1) {
      throw new UserError(`Name one run folder\nUsage: deno task dfkd ${USAGE}`, 2);
    }
    const dir = positionals[0] as string;
    const pollMs = (parseIntFlag("--poll", values.poll, 1) ?? 30) * 1000;
    let shown = "";
    const status = values.wait
      ? await waitForRun(dir, {
        pollMs,
        onPoll: (s) => {
          const counts = JSON.stringify(s.counts);
          if (counts !== shown) console.log(`${new Date().toISOString()} ${counts}`);
          shown = counts;
        },
      })
      : await readRunStatus(dir);
    if (values.json) console.log(JSON.stringify(status.jobs, null, 2));
    else console.log(formatRunStatus(status));
    if (values["mark-finished"]) {
      const finished = await markRunFinished(dir);
      console.log(
        finished
          ? `Run ${status.run.runId} finished: every job has ended`
          : `Run ${status.run.runId} is not finished: some jobs have not ended`,
      );
    }
    return 0;
  },
};
