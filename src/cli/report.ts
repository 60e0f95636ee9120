/**
 * `dfkd report <results-dir...>`: rebuilds `summary.csv`, `report.md`,
 * `report.html` and the curve charts of run folders from their records (also
 * of an interrupted run, whose report lists the unfinished jobs and the
 * command that resumes it). A folder a live run holds is refused.
 *
 * @module
 */
import { join } from "node:path";
import { RUN_LAYOUT } from "../results/records.ts";
import { rebuildReports } from "../report/report.ts";
import { describeHolder, processAlive, readLockHolder } from "../util/file_lock.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";

const USAGE = "report <results/<benchmark>/<run-id>...>";

/**
 * Rebuilds the reports of run folders and prints their results tables.
 *
 * @example
 * ```ts
 * import { reportCommand } from "./report.ts";
 * // await reportCommand.run(["results/smoke/20260101T000000Z-abc1234"]);
 * ```
 */
export const reportCommand: Command = {
  summary: "Rebuild a run's summary.csv, report.md and report.html from its records",
  usage: USAGE,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {}, USAGE);
    if (positionals.length === 0) {
      throw new UserError(`Name at least one run folder\nUsage: deno task dfkd ${USAGE}`);
    }
    for (const dir of positionals) {
      // A run that is still going rewrites its reports when it ends; do not race it.
      const lockPath = join(dir, RUN_LAYOUT.lock);
      const holder = await readLockHolder(lockPath);
      if (
        holder !== undefined &&
        (holder.hostname !== Deno.hostname() || processAlive(holder.pid))
      ) {
        throw new UserError(
          `${dir} is locked by a live run (${describeHolder(holder)}); its reports are written ` +
            `when it ends. If that process is gone, delete ${lockPath}`,
        );
      }
      const written = await rebuildReports(dir);
      console.log(written.summary);
      console.log(`\nWrote ${written.files.join(", ")}`);
    }
    return 0;
  },
};
