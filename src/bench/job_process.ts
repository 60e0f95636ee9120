/**
 * The parent side of a job process (the child is `job_worker.ts`): spawn
 * `deno run job_worker.ts` for one job, read its stdout messages
 * (`protocol.ts`) into the progress bar and log, keep its stderr in the job's
 * log file, pass control lines (`stop`) on its stdin, and settle the job's
 * record when the process ended without finishing it (a crash or a kill).
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { THREADS_ENV } from "../backends/init_backend.ts";
import { curveMetrics } from "../results/metrics.ts";
import type { JobRecord, JobStatus } from "../results/records.ts";
import { readJobLock } from "../results/job_lock.ts";
import { jobLogPath, readJobRecord, writeJobFiles } from "../results/run_folder.ts";
import { describeHolder } from "../util/file_lock.ts";
import type { Interrupter } from "../util/interrupt.ts";
import { formatSeconds, type Logger, type Progress } from "../util/logger.ts";
import type { JobPlan } from "./job_plan.ts";
import { JOB_WORKER_MODULE } from "./job_worker.ts";
import { decodeMessage } from "./protocol.ts";

/** The statuses a job process leaves when it ends normally. */
export const FINAL: ReadonlySet<JobStatus> = new Set([
  "completed",
  "diverged",
  "failed",
  "interrupted",
]);

/** Terminal colour codes (ESC [ ... m). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** The deno.json job processes run with (so they resolve the same imports). */
function denoConfigPath(): string | undefined {
  const url = new URL("../../deno.json", import.meta.url);
  return url.protocol === "file:" ? fromFileUrl(url) : undefined;
}

/** A running job process, as the interrupt handlers see it. */
export interface JobProcess {
  /** Sends a control line (`stop`, `abort`). */
  send(line: string): void;
  /** Kills the process at once. */
  kill(): void;
}

/** What {@linkcode runOneJob} needs of the run's options (`RunOptions` fits). */
export interface JobProcessOptions {
  /** Data root passed to the job. */
  dataRoot: string;
  /** Where messages and progress go. */
  log: Logger;
  /** Toolkit module for the job process (default: `default_toolkit.ts`). */
  toolkitModule?: string;
  /** The run's interrupts: a job started after the first one is told to stop at once. */
  interrupts?: Interrupter;
  /** Compute threads of the job process (`DFKD_THREADS` in its environment; default 1). */
  threads?: number;
}

/** Callbacks of {@linkcode runOneJob}. */
export interface JobHooks {
  /** Epochs done so far (fractional inside an epoch). */
  onProgress: (epochsDone: number) => void;
  /** The process started: the handle the interrupt handlers use. */
  onStart: (p: JobProcess) => void;
}

/**
 * Runs one job in its own process and resolves to its final record. A
 * process that ends without finishing its record (crash, kill) leaves it
 * `failed` with the process's last error line (or `interrupted` after a
 * second Ctrl-C); the job's one-line result goes to the log.
 */
export async function runOneJob(
  plan: JobPlan,
  runDir: string,
  backend: string,
  epochs: number,
  options: JobProcessOptions,
  hooks: JobHooks,
): Promise<JobRecord> {
  const started = performance.now();
  const output = await openJobOutput(runDir, plan.id);
  const bar = options.log.progress(plan.id, epochs);
  let exit: JobExit;
  try {
    exit = await superviseProcess(
      jobArgs(plan.id, runDir, backend, options),
      options,
      hooks,
      stdoutHandler(plan.id, epochs, bar, output, options.log, hooks.onProgress),
      output,
    );
  } finally {
    bar.stop();
    output.close();
  }
  const record = await settleRecord(plan.id, runDir, exit, started, options);
  const line = resultLine(plan.id, record);
  if (record.status === "completed") options.log.info(line);
  else options.log.warn(line);
  return record;
}

/** The job process's command line. */
function jobArgs(
  jobId: string,
  runDir: string,
  backend: string,
  options: JobProcessOptions,
): string[] {
  const config = denoConfigPath();
  return [
    "run",
    "-A",
    "--quiet",
    ...(config ? [`--config=${config}`] : []),
    fromFileUrl(JOB_WORKER_MODULE),
    "--run-dir",
    runDir,
    "--job",
    jobId,
    "--backend",
    backend,
    "--data-root",
    options.dataRoot,
    ...(options.toolkitModule ? ["--toolkit", options.toolkitModule] : []),
  ];
}

/** The job's log file (`jobs/<job-id>.log`) and the stderr lines kept for the error message. */
interface JobOutput {
  /** Appends a line to the log file. */
  write(line: string): void;
  /** The last non-empty stderr lines (at most 30). */
  tail: string[];
  /** Closes the log file. */
  close(): void;
}

async function openJobOutput(runDir: string, jobId: string): Promise<JobOutput> {
  const file = await Deno.open(jobLogPath(runDir, jobId), {
    write: true,
    create: true,
    append: true,
  });
  const encoder = new TextEncoder();
  return {
    write: (line) => file.writeSync(encoder.encode(line + "\n")),
    tail: [],
    close: () => file.close(),
  };
}

/** How the job process ended. */
interface JobExit {
  /** Its exit status. */
  status: Deno.CommandStatus;
  /** Whether the runner killed it (a second Ctrl-C). */
  killed: boolean;
  /** The last non-empty stderr lines. */
  tail: string[];
}

/**
 * Spawns the job process, hands its control handle to `hooks.onStart`,
 * feeds each stdout line to `onStdout` and each stderr line (colours
 * stripped) to the log, and waits for it to end.
 */
async function superviseProcess(
  args: string[],
  options: JobProcessOptions,
  hooks: JobHooks,
  onStdout: (line: string) => void,
  output: JobOutput,
): Promise<JobExit> {
  const encoder = new TextEncoder();
  let killed = false;
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { [THREADS_ENV]: String(options.threads ?? 1) },
  }).spawn();
  // The job's stdin carries control lines; its end tells the job the runner is gone.
  const control = child.stdin.getWriter();
  let sending = Promise.resolve();
  hooks.onStart({
    send: (line) => {
      sending = sending.then(() => control.write(encoder.encode(line + "\n"))).catch(() => {});
    },
    kill: () => {
      killed = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    },
  });
  if (options.interrupts?.stopping) {
    sending = control.write(encoder.encode("stop\n")).catch(() => {});
  }
  const readStdout = forEachLine(child.stdout, onStdout);
  const readStderr = forEachLine(child.stderr, (raw) => {
    // Deno colours its own error messages; the record keeps plain text.
    const line = raw.replace(ANSI_COLOUR, "");
    output.write(line);
    if (line.trim() !== "") {
      output.tail.push(line);
      if (output.tail.length > 30) output.tail.shift();
    }
  });
  const status = await child.status;
  await Promise.all([readStdout, readStderr]);
  await sending;
  await control.close().catch(() => {});
  return { status, killed, tail: output.tail };
}

/**
 * The handler of the job process's stdout lines: a protocol message moves
 * the progress bar or goes to the log; anything else is kept in the job's
 * log file.
 */
function stdoutHandler(
  jobId: string,
  epochs: number,
  bar: Progress,
  output: JobOutput,
  log: Logger,
  onProgress: (epochsDone: number) => void,
): (line: string) => void {
  let accuracy: number | undefined;
  const fields = (epoch: number) => ({
    epoch: `${Math.min(epoch + 1, epochs)}/${epochs}`,
    ...(accuracy !== undefined ? { acc: `${(accuracy * 100).toFixed(1)}%` } : {}),
  });
  return (line) => {
    const message = decodeMessage(line);
    if (message === undefined) {
      output.write(line);
      return;
    }
    switch (message.type) {
      case "started":
        if (message.startEpoch > 0) {
          bar.update(message.startEpoch, fields(message.startEpoch - 1));
          onProgress(message.startEpoch);
        }
        break;
      case "step": {
        // The epoch message reports the epoch's end; steps only move within it.
        if (message.done >= message.total) break;
        const done = message.epoch + message.done / Math.max(1, message.total);
        bar.update(done, fields(message.epoch));
        onProgress(done);
        break;
      }
      case "epoch":
        accuracy = message.accuracy;
        bar.update(message.epoch + 1, fields(message.epoch));
        onProgress(message.epoch + 1);
        break;
      case "log":
        output.write(`[${message.level}] ${message.message}`);
        if (message.level === "warn") log.warn(`${jobId}: ${message.message}`);
        else log.info(`${jobId}: ${message.message}`);
        break;
      default:
        break;
    }
  };
}

/**
 * Reads the job's record after its process ended; a record the process left
 * unfinished becomes `failed` (or `interrupted` when the runner killed it)
 * and is written back.
 */
async function settleRecord(
  jobId: string,
  runDir: string,
  exit: JobExit,
  started: number,
  options: JobProcessOptions,
): Promise<JobRecord> {
  let record: JobRecord;
  try {
    record = await readJobRecord(runDir, jobId);
  } catch (error) {
    throw new Error(`The record of ${jobId} is unreadable: ${(error as Error).message}`);
  }
  if (FINAL.has(record.status)) return record;
  // The job's lock is live after its process ended: another process (a cluster task, `dfkd
  // run-job`) runs this job, and the worker refused to start. Its record is that process's.
  const other = await readJobLock(runDir, jobId);
  if (other?.live) {
    options.log.warn(`${jobId}: left to the process running it (${describeHolder(other.holder)})`);
    return record;
  }
  const how = exit.status.signal
    ? `was killed by ${exit.status.signal}`
    : `exited with code ${exit.status.code}`;
  if (exit.killed || options.interrupts?.aborting) {
    record.status = "interrupted";
    record.error = `Stopped at once by a second interrupt; it resumes from its last checkpoint${
      record.checkpoint
        ? ` (after epoch ${record.checkpoint.epochsDone})`
        : " (none: from the start)"
    }`;
  } else {
    const last = lastErrorLine(exit.tail);
    record.status = "failed";
    record.error = `The job process ${how} before finishing${last ? ` (${last})` : ""}; see ${
      jobLogPath(runDir, jobId)
    }`;
  }
  record.finishedAt = new Date().toISOString();
  record.wallSeconds = Math.max(record.wallSeconds, (performance.now() - started) / 1000);
  await writeJobFiles(runDir, record);
  return record;
}

/** `<job-id>: <status> (mu .., final .., <time>)[: error]`, as the runner logs it. */
function resultLine(jobId: string, record: JobRecord): string {
  const summary = record.epochs.length > 0
    ? (() => {
      const m = curveMetrics(record.epochs.map((e) => e.accuracy));
      return `mu ${(m.mu * 100).toFixed(2)}%, final ${(m.final * 100).toFixed(2)}%, `;
    })()
    : "";
  return `${jobId}: ${record.status} (${summary}${formatSeconds(record.wallSeconds)})${
    record.error ? `: ${record.error}` : ""
  }`;
}

function lastErrorLine(lines: string[]): string | undefined {
  const error = [...lines].reverse().find((l) => /error|fatal|out of memory|panic/i.test(l));
  const line = error ?? lines[lines.length - 1];
  return line === undefined ? undefined : line.trim().slice(0, 300);
}

async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, newline).replace(/\r$/, ""));
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer.length > 0) onLine(buffer);
}
