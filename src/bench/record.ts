/**
 * The result records a run writes, the contract between the runner (writes
 * them), the reports (read them) and regression tracking (compares them).
 *
 * Layout of one run, `results/<benchmark>/<run-id>/` (run-id: UTC time and
 * short commit, e.g. `20261129T051500Z-9bfd833`):
 *
 * - `run.json`: {@linkcode RunRecord} (the benchmark, its resolved jobs, the environment);
 * - `jobs/<job-id>.json`: one {@linkcode JobRecord} per job;
 * - `jobs/<job-id>.csv`: the job's per-epoch rows;
 * - `summary.csv`, `report.md`, `report.html`: the run's summary and reports;
 * - `curves-<pair>.svg`: accuracy curves per pair (linked from `report.md`);
 * - `run.lock`: present while a run writes into the folder (pid and host);
 * - `checkpoints/<job-id>/`: resumable job state.
 *
 * @module
 */
import type { Environment } from "../util/environment.ts";

/** Schema tag of {@linkcode JobRecord} files. */
export const JOB_RECORD_SCHEMA = "dfkd-bench/job@1";
/** Schema tag of {@linkcode RunRecord} files. */
export const RUN_RECORD_SCHEMA = "dfkd-bench/run@1";

/** How a job ended (or where it stands). */
export type JobStatus = "pending" | "running" | "completed" | "diverged" | "failed" | "interrupted";

/** One epoch of one job. */
export interface EpochRecord {
  /** Epoch index, from 0. */
  epoch: number;
  /** Student test accuracy after the epoch, in [0, 1]. */
  accuracy: number;
  /** Mean losses over the epoch, by name. */
  losses: Record<string, number>;
  /** Replay memory in bytes at the end of the epoch. */
  replayBytes: number;
  /** Method counters for the epoch. */
  counters: Record<string, number>;
  /**
   * Teacher compute of the epoch: images x forward passes through the teacher
   * (absent in records written before it was counted).
   */
  teacherForwardImages?: number;
  /** Images x backward passes through the teacher (a gradient sent back through it). */
  teacherBackwardImages?: number;
  /** Wall seconds of the epoch's training (evaluation excluded). */
  trainSeconds: number;
  /** Wall seconds of the epoch's evaluation. */
  evalSeconds: number;
}

/** One job: a teacher/student pair, a method and a seed. */
export interface JobRecord {
  /** Always {@linkcode JOB_RECORD_SCHEMA}. */
  schema: typeof JOB_RECORD_SCHEMA;
  /** Benchmark name. */
  benchmark: string;
  /** Run id. */
  runId: string;
  /** Job id: `<pair>__<method>__s<seed>`. */
  id: string;
  /** Pair id as named in the benchmark file. */
  pair: string;
  /** Teacher architecture. */
  teacherArch: string;
  /** Student architecture. */
  studentArch: string;
  /** Dataset name. */
  dataset: string;
  /** Method name. */
  method: string;
  /** Seed. */
  seed: number;
  /** The job's fully resolved configuration (budget, hyperparameters, evaluation). */
  config: unknown;
  /** Hash of `config` (hex), equal configurations give equal hashes. */
  configHash: string;
  /** True when the budget or networks are scaled down from the paper's. */
  scaled: boolean;
  /** Teacher test accuracy in [0, 1]. */
  teacherAccuracy: number;
  /** Status. */
  status: JobStatus;
  /** Error message when `failed`, or the loss that went non-finite when `diverged`. */
  error?: string;
  /** Epoch at which a non-finite loss stopped the job (`diverged` only). */
  divergedAtEpoch?: number;
  /** Every epoch recorded (for a diverged job, those before the divergence). */
  epochs: EpochRecord[];
  /** Replay memory in bytes at the end. */
  replayBytes: number;
  /** Wall seconds of the whole job (teacher excluded). */
  wallSeconds: number;
  /** Synthetic images the student trained on per wall second. */
  imagesPerSecond: number;
  /** Where the job ran. */
  environment: Environment;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time (absent while running). */
  finishedAt?: string;
  /** The job's latest checkpoint (`checkpoints/<job-id>/`), while it has one. */
  checkpoint?: JobCheckpointInfo;
  /** Every time a resumed run continued this job from a checkpoint. */
  resumes?: JobResume[];
}

/** Where a job's latest checkpoint stands. */
export interface JobCheckpointInfo {
  /** Epochs completed when it was saved. */
  epochsDone: number;
  /** Iterations done of the next epoch, when saved inside it (an interrupt). */
  iterations?: number;
  /** ISO time of saving. */
  savedAt: string;
}

/** One continuation of a job from a checkpoint. */
export interface JobResume {
  /** ISO time. */
  at: string;
  /** The epoch (from 0) it continued with. */
  fromEpoch: number;
  /** Iterations of that epoch already done, when the checkpoint was inside it. */
  fromIteration?: number;
}

/** The run manifest. */
export interface RunRecord {
  /** Always {@linkcode RUN_RECORD_SCHEMA}. */
  schema: typeof RUN_RECORD_SCHEMA;
  /** Benchmark name. */
  benchmark: string;
  /** Run id. */
  runId: string;
  /** Path of the benchmark file as given. */
  benchmarkFile: string;
  /** The benchmark file as parsed (before defaults). */
  benchmarkSource: unknown;
  /** Tags of the benchmark (`quick`, `paper`, `nightly`, ...). */
  tags: string[];
  /** Job ids in run order. */
  jobs: string[];
  /** True when run with `--smoke`. */
  smoke: boolean;
  /** True when the budget or networks are scaled down from the paper's (added by the runner). */
  scaled?: boolean;
  /** What is scaled, shown in every report (added by the runner). */
  scaledLabel?: string;
  /** The teachers the run used, one per pair (added by the runner). */
  teachers?: TeacherRecord[];
  /** The options the run was started with (added by the runner). */
  options?: RunOptionsRecord;
  /**
   * The benchmark's resolved regression settings (added by the runner): minimum
   * accuracy effect in points, minimum time effect in percent, Welch
   * significance level (runs written before the last two existed lack them).
   */
  regression?: { minEffect: number; minTimeEffect?: number; alpha?: number };
  /** Where the run happened. */
  environment: Environment;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time (absent while running, and after an interrupt). */
  finishedAt?: string;
  /** ISO time of the last interrupt (Ctrl-C), when the run stopped before finishing. */
  interruptedAt?: string;
  /** ISO times at which `--resume` continued the run. */
  resumedAt?: string[];
}

/** A teacher as a run used it (one per pair). */
export interface TeacherRecord {
  /** Pair id. */
  pair: string;
  /** Architecture. */
  arch: string;
  /** `recipe` (trained or taken from the cache) or `path` (loaded from a file). */
  source: "recipe" | "path";
  /** Identity hash of the teacher (recipe hash, or the file's content hash). */
  hash: string;
  /** Where the weights are. */
  path: string;
  /** Test accuracy in [0, 1]. */
  testAccuracy: number;
}

/** The command-line options of a run. */
export interface RunOptionsRecord {
  /** Backend requested (`auto`, `wasm`, ...). */
  backend: string;
  /** Parallel job processes. */
  jobs: number;
  /** The data root used. */
  dataRoot: string;
  /** `--methods` filter, when given. */
  methods?: string[];
  /** `--seeds` override, when given. */
  seeds?: number[];
}

/** Paths inside a run folder (see the module documentation). */
export const RUN_LAYOUT = {
  run: "run.json",
  lock: "run.lock",
  jobsDir: "jobs",
  summaryCsv: "summary.csv",
  reportMd: "report.md",
  reportHtml: "report.html",
  checkpointsDir: "checkpoints",
} as const;
