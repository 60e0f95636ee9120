/**
 * `dfkd slurm <run-dir>`: writes the Slurm scripts of a planned run (a job
 * array, one task per job, and a dependent report job; see
 * `src/cluster/slurm.ts`) into `<run-dir>/slurm/`, and with `--submit`
 * submits both with `sbatch` and prints their job ids.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { parseSbatchId, SLURM_DIR, slurmScripts } from "../cluster/slurm.ts";
import { readRunRecord } from "../cluster/run_job.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";

const USAGE = `slurm <run-dir> [--partition P] [--gpus-per-task N] [--cpus-per-task N] [--time T]
    [--max-concurrent K] [--signal-seconds S] [--history] [--history-dir DIR]
    [--backend B] [--data-root DIR] [--teacher-cache DIR] [--deno PATH] [--submit]

  Writes <run-dir>/slurm/array.sbatch (#SBATCH --array=0-(N-1)%K, --requeue; each task runs
  "dfkd run-job <run-dir> --index $SLURM_ARRAY_TASK_ID"; S seconds (default 300) before --time
  runs out, the task checkpoints and requeues itself) and report.sbatch (status --mark-finished,
  report, and with --history "history add"). --submit: sbatch both, the report with
  --dependency=afterany:<array>, and print the job ids. The run folder, this checkout and
  --deno (default: this Deno) must be visible from the compute nodes.`;

/** This checkout's root (the tasks run `src/cli/main.ts` from it). */
function projectDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../..");
}

async function sbatch(args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("sbatch", { args: ["--parsable", ...args] }).output();
  } catch (error) {
    throw new UserError(
      `Cannot run sbatch (${(error as Error).message}): is this a Slurm login node?`,
      2,
    );
  }
  const text = new TextDecoder();
  if (!output.success) {
    throw new UserError(
      `sbatch ${args.join(" ")} failed: ${text.decode(output.stderr).trim()}`,
      1,
    );
  }
  return parseSbatchId(text.decode(output.stdout));
}

/** The `slurm` command. */
export const slurmCommand: Command = {
  summary: "Write (and --submit) the Slurm job array and report job of a planned run",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      partition: { type: "string" },
      "gpus-per-task": { type: "string" },
      "cpus-per-task": { type: "string" },
      time: { type: "string" },
      "max-concurrent": { type: "string" },
      "signal-seconds": { type: "string" },
      history: { type: "boolean" },
      "history-dir": { type: "string" },
      backend: { type: "string" },
      "data-root": { type: "string" },
      "teacher-cache": { type: "string" },
      deno: { type: "string" },
      submit: { type: "boolean" },
    }, USAGE);
    if (positionals.length !== 1) {
      throw new UserError(`Name one run folder\nUsage: deno task dfkd ${USAGE}`, 2);
    }
    const runDir = resolve(positionals[0] as string);
    const run = await readRunRecord(runDir);
    const int = (flag: string, min: number) =>
      parseIntFlag(`--${flag}`, values[flag as "time"], min);
    const gpus = int("gpus-per-task", 0);
    const cpus = int("cpus-per-task", 1);
    const maxConcurrent = int("max-concurrent", 1);
    const signalSeconds = int("signal-seconds", 1);
    if (values.time !== undefined && !/^[0-9][0-9:-]*$/.test(values.time)) {
      throw new UserError(
        `--time must be a Slurm time (MM, HH:MM:SS, D-HH:MM, ...; got "${values.time}")`,
        2,
      );
    }
    const runJobArgs: string[] = [];
    for (const flag of ["backend", "data-root", "teacher-cache"] as const) {
      const v = values[flag];
      if (v !== undefined) runJobArgs.push(`--${flag}`, flag === "backend" ? v : resolve(v));
    }
    const historyDir = values["history-dir"];
    const scripts = slurmScripts(runDir, run, {
      ...(values.partition !== undefined ? { partition: values.partition } : {}),
      ...(gpus !== undefined && gpus > 0 ? { gpusPerTask: gpus } : {}),
      ...(cpus !== undefined ? { cpusPerTask: cpus } : {}),
      ...(values.time !== undefined ? { time: values.time } : {}),
      ...(maxConcurrent !== undefined ? { maxConcurrent } : {}),
      ...(signalSeconds !== undefined ? { signalSeconds } : {}),
      ...(values.history || historyDir !== undefined
        ? { history: historyDir !== undefined ? { dir: resolve(historyDir) } : {} }
        : {}),
      projectDir: projectDir(),
      deno: values.deno ?? Deno.execPath(),
      runJobArgs,
    });
    await Deno.mkdir(scripts.logDir, { recursive: true });
    const arrayPath = join(runDir, SLURM_DIR, "array.sbatch");
    const reportPath = join(runDir, SLURM_DIR, "report.sbatch");
    await writeTextFileAtomic(arrayPath, scripts.array);
    await writeTextFileAtomic(reportPath, scripts.report);
    console.log(`Wrote ${arrayPath} (${run.jobs.length} array tasks) and ${reportPath}`);
    if (!values.submit) {
      console.log(
        `Submit with:\n  id=$(sbatch --parsable ${arrayPath})\n` +
          `  sbatch --dependency=afterany:$id ${reportPath}`,
      );
      return 0;
    }
    const arrayId = await sbatch([arrayPath]);
    const reportId = await sbatch([`--dependency=afterany:${arrayId}`, reportPath]);
    console.log(`Submitted array job ${arrayId} (tasks 0-${run.jobs.length - 1})`);
    console.log(`Submitted report job ${reportId} (after ${arrayId})`);
    console.log(`Follow with: deno task dfkd status ${runDir}`);
    return 0;
  },
};
