/**
 * Slurm batch scripts for a planned run (`dfkd slurm`): a job array with one
 * task per job (`--array=0-(N-1)%K`, each task `dfkd run-job --index
 * $SLURM_ARRAY_TASK_ID`), requeueable, that checkpoints when Slurm warns it
 * before the time limit (`--signal=B:USR1@S`: the script stops the job
 * cleanly and requeues its own task, which then continues from the
 * checkpoint); and a report job to submit with `--dependency=afterany:<array>`
 * that marks the run finished, writes its reports and, when asked, adds it to
 * the history. The scheduler does the scheduling; the scripts only call
 * `dfkd`.
 *
 * @module
 */
import { join } from "node:path";
import type { RunRecord } from "../results/records.ts";

/** Options of {@linkcode slurmScripts}. */
export interface SlurmOptions {
  /** `--partition`. */
  partition?: string;
  /** `--gpus-per-task` (with one task per array element). */
  gpusPerTask?: number;
  /** `--cpus-per-task` (default 1). */
  cpusPerTask?: number;
  /** `--time` of each array task (Slurm's formats: `MM`, `HH:MM:SS`, `D-HH`, ...). */
  time?: string;
  /** At most this many tasks at once (`%K`; default: all). */
  maxConcurrent?: number;
  /** Seconds before the time limit at which tasks checkpoint and requeue (default 300). */
  signalSeconds?: number;
  /** Add the run to the history after the report (`history add`), into this folder or the default. */
  history?: { dir?: string };
  /** The project checkout the tasks run from (visible on the compute nodes). */
  projectDir: string;
  /** The Deno executable on the compute nodes. */
  deno: string;
  /** Extra `run-job` arguments (`--backend`, `--data-root`, `--teacher-cache`). */
  runJobArgs?: string[];
}

/** The scripts {@linkcode slurmScripts} makes. */
export interface SlurmScripts {
  /** The array job (`sbatch` it first). */
  array: string;
  /** The report job (`sbatch --dependency=afterany:<array-id>` it). */
  report: string;
  /** Folder the tasks' output files go to. */
  logDir: string;
}

/** Folder of a run that holds its Slurm scripts and task logs. */
export const SLURM_DIR = "slurm";

/**
 * Quotes a word for a POSIX shell when it needs it.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./slurm.ts";
 * console.log(shellQuote("a b")); // 'a b'
 * console.log(shellQuote("plain")); // plain
 * ```
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.,:\/=@+%-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function directives(lines: [string, string | number | undefined][]): string[] {
  return lines.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) =>
    `#SBATCH --${k}=${v}`
  );
}

/**
 * The array and report scripts of the run in `runDir` (absolute) with
 * record `run`.
 *
 * @example
 * ```ts
 * import { slurmScripts } from "./slurm.ts";
 * import type { RunRecord } from "../results/records.ts";
 * const run = { benchmark: "smoke", runId: "r1", jobs: ["a", "b", "c"] } as unknown as RunRecord;
 * const s = slurmScripts("/shared/results/smoke/r1", run, {
 *   projectDir: "/shared/dfkd-bench", deno: "/shared/bin/deno", maxConcurrent: 2,
 * });
 * console.log(s.array.includes("#SBATCH --array=0-2%2")); // true
 * ```
 */
export function slurmScripts(runDir: string, run: RunRecord, options: SlurmOptions): SlurmScripts {
  const n = run.jobs.length;
  const logDir = join(runDir, SLURM_DIR, "logs");
  const dfkd = [options.deno, "run", "-A", join(options.projectDir, "src/cli/main.ts")]
    .map(shellQuote).join(" ");
  const dir = shellQuote(runDir);
  const k = options.maxConcurrent;
  const signal = options.signalSeconds ?? 300;
  const common: [string, string | number | undefined][] = [
    ["partition", options.partition],
  ];
  const array = [
    "#!/bin/bash",
    ...directives([
      ["job-name", `dfkd-${run.benchmark}`],
      ["array", `0-${n - 1}${k !== undefined && k < n ? `%${k}` : ""}`],
      ...common,
      ["ntasks", 1],
      ["cpus-per-task", options.cpusPerTask ?? 1],
      ["gpus-per-task", options.gpusPerTask],
      ["time", options.time],
      ["signal", `B:USR1@${signal}`],
      ["output", join(logDir, "%A_%a.out")],
      ["open-mode", "append"],
    ]),
    "#SBATCH --requeue",
    `# ${run.benchmark} run ${run.runId}: ${n} jobs, one array task each (made by dfkd slurm).`,
    "# A task runs one job; a task that is re-run continues from the job's newest checkpoint.",
    "set -u",
    `cd ${shellQuote(options.projectDir)}`,
    "export DENO_NO_UPDATE_CHECK=1",
    "# The backend's threads: the CPUs Slurm gave this task.",
    'export DFKD_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    "job_pid=",
    "# Slurm's warning before the time limit: checkpoint, then requeue this task.",
    "on_warning() {",
    '  echo "dfkd: time limit near: checkpointing task $SLURM_ARRAY_TASK_ID and requeueing it"',
    '  if [ -n "$job_pid" ]; then kill -TERM "$job_pid" 2>/dev/null; wait "$job_pid"; fi',
    '  scontrol requeue "$SLURM_JOB_ID"',
    "  exit 0",
    "}",
    "trap on_warning USR1",
    `${dfkd} run-job ${dir} --index "$SLURM_ARRAY_TASK_ID"${
      (options.runJobArgs ?? []).map((a) => " " + shellQuote(a)).join("")
    } &`,
    "job_pid=$!",
    'wait "$job_pid"',
    "exit $?",
    "",
  ].join("\n");
  const history = options.history === undefined ? [] : [
    `${dfkd} history add ${dir}${
      options.history.dir !== undefined ? ` --history-dir ${shellQuote(options.history.dir)}` : ""
    }`,
  ];
  const report = [
    "#!/bin/bash",
    ...directives([
      ["job-name", `dfkd-${run.benchmark}-report`],
      ...common,
      ["ntasks", 1],
      ["cpus-per-task", 1],
      ["output", join(logDir, "report_%j.out")],
    ]),
    `# The report of ${run.benchmark} run ${run.runId}, after every array task (afterany).`,
    "set -eu",
    `cd ${shellQuote(options.projectDir)}`,
    "export DENO_NO_UPDATE_CHECK=1",
    `${dfkd} status ${dir} --mark-finished`,
    `${dfkd} report ${dir}`,
    ...history,
    "",
  ].join("\n");
  return { array, report, logDir };
}

/**
 * The job id `sbatch --parsable` printed (`123` or `123;cluster`).
 *
 * @example
 * ```ts
 * import { parseSbatchId } from "./slurm.ts";
 * console.log(parseSbatchId("4711;gpu\n")); // 4711
 * ```
 */
export function parseSbatchId(output: string): string {
  const id = output.trim().split(";")[0] ?? "";
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: "${output.trim()}"`);
  return id;
}
