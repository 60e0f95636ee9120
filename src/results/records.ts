/**
 * The result records a run writes, the contract between the runner (writes
 * them), the reports (read them) and regression tracking (compares them).
 * Each record is declared once, as a zod schema; its TypeScript type is
 * derived from it (`z.infer`) and {@linkcode loadRunResults} (`load_run.ts`)
 * checks files read back against the same schema.
 *
 * Layout of one run, `results/<benchmark>/<run-id>/` (run-id: UTC time and
 * short commit, e.g. `20261129T051500Z-9bfd833`):
 *
 * - `run.json`: {@linkcode RunRecord} (the benchmark, its resolved jobs, the environment);
 * - `jobs/<job-id>.json`: one {@linkcode JobRecord} per job;
 * - `jobs/<job-id>.csv`: the job's per-epoch rows (`epochs_csv.ts`);
 * - `summary.csv`, `report.md`, `report.html`: the run's summary and reports;
 * - `curves-<pair>.svg`: accuracy curves per pair (linked from `report.md`);
 * - `run.lock`: present while a run writes into the folder (pid and host);
 * - `checkpoints/<job-id>/`: resumable job state.
 *
 * @module
 */
import { z } from "zod";
import type { Budget, Hyperparameters } from "../methods/method.ts";
import { environmentSchema } from "../util/environment.ts";

/** Schema tag of {@linkcode JobRecord} files. */
export const JOB_RECORD_SCHEMA = "dfkd-bench/job@1";
/** Schema tag of {@linkcode RunRecord} files. */
export const RUN_RECORD_SCHEMA = "dfkd-bench/run@1";

const seconds = z.number().min(0);
const accuracy = z.number().min(0).max(1);

/** The statuses of a job, as a schema. */
export const jobStatusSchema = z.enum([
  "pending",
  "running",
  "completed",
  "diverged",
  "failed",
  "interrupted",
]);
/** How a job ended (or where it stands). */
export type JobStatus = z.infer<typeof jobStatusSchema>;

/**
 * Schema of {@linkcode EpochRecord}. A loss that went non-finite is written
 * by `JSON.stringify` as `null`; it reads back as a number (NaN).
 */
export const epochRecordSchema = z.object({
  /** Epoch index, from 0. */
  epoch: z.int().min(0),
  /** Student test accuracy after the epoch, in [0, 1]. */
  accuracy,
  /** Mean losses over the epoch, by name. */
  losses: z.record(z.string(), z.number().or(z.null().transform(() => NaN))),
  /** Replay memory in bytes at the end of the epoch. */
  replayBytes: z.number().min(0),
  /** Method counters for the epoch. */
  counters: z.record(z.string(), z.number()),
  /** Wall seconds of the epoch's training (evaluation excluded). */
  trainSeconds: seconds,
  /** Wall seconds of the epoch's evaluation. */
  evalSeconds: seconds,
});
/** One epoch of one job. */
export type EpochRecord = z.infer<typeof epochRecordSchema>;

/** Schema of {@linkcode JobCheckpointInfo}. */
export const jobCheckpointSchema = z.object({
  /** Epochs completed when it was saved. */
  epochsDone: z.int().min(0),
  /** Iterations done of the next epoch, when saved inside it (an interrupt). */
  iterations: z.int().min(0).optional(),
  /** ISO time of saving. */
  savedAt: z.string(),
});
/** Where a job's latest checkpoint stands. */
export type JobCheckpointInfo = z.infer<typeof jobCheckpointSchema>;

/** Schema of {@linkcode JobResume}. */
export const jobResumeSchema = z.object({
  /** ISO time. */
  at: z.string(),
  /** The epoch (from 0) it continued with. */
  fromEpoch: z.int().min(0),
  /** Iterations of that epoch already done, when the checkpoint was inside it. */
  fromIteration: z.int().min(0).optional(),
});
/** One continuation of a job from a checkpoint. */
export type JobResume = z.infer<typeof jobResumeSchema>;

/** Schema of {@linkcode JobRecord} (`jobs/<job-id>.json`). */
export const jobRecordSchema = z.object({
  /** Always {@linkcode JOB_RECORD_SCHEMA}. */
  schema: z.literal(JOB_RECORD_SCHEMA),
  /** Benchmark name. */
  benchmark: z.string(),
  /** Run id. */
  runId: z.string(),
  /** Job id: `<pair>__<method>__s<seed>`. */
  id: z.string().min(1),
  /** Pair id as named in the benchmark file. */
  pair: z.string(),
  /** Teacher architecture. */
  teacherArch: z.string(),
  /** Student architecture. */
  studentArch: z.string(),
  /** Dataset name. */
  dataset: z.string(),
  /** Method name. */
  method: z.string(),
  /** Seed. */
  seed: z.int(),
  /** The job's fully resolved configuration ({@linkcode JobConfig}; not checked on reading). */
  config: z.unknown(),
  /** Hash of `config` (hex), equal configurations give equal hashes. */
  configHash: z.string(),
  /** True when the budget or networks are scaled down from the paper's. */
  scaled: z.boolean(),
  /** Teacher test accuracy in [0, 1]. */
  teacherAccuracy: accuracy,
  /** The teacher's PyTorch checkpoint, when it was one: file name and SHA-256 of its bytes. */
  teacherFile: z.object({ name: z.string(), sha256: z.string() }).optional(),
  /** Status. */
  status: jobStatusSchema,
  /** Error message when `failed`, or the loss that went non-finite when `diverged`. */
  error: z.string().optional(),
  /** Epoch at which a non-finite loss stopped the job (`diverged` only). */
  divergedAtEpoch: z.int().optional(),
  /** Every epoch recorded (for a diverged job, those before the divergence). */
  epochs: z.array(epochRecordSchema),
  /** Replay memory in bytes at the end. */
  replayBytes: z.number().min(0),
  /** Wall seconds of the whole job (teacher excluded). */
  wallSeconds: seconds,
  /** Synthetic images the student trained on per wall second. */
  imagesPerSecond: z.number().min(0),
  /** Where the job ran. */
  environment: environmentSchema,
  /** ISO start time. */
  startedAt: z.string(),
  /** ISO end time (absent while running). */
  finishedAt: z.string().optional(),
  /** The job's latest checkpoint (`checkpoints/<job-id>/`), while it has one. */
  checkpoint: jobCheckpointSchema.optional(),
  /** Every time a resumed run continued this job from a checkpoint. */
  resumes: z.array(jobResumeSchema).optional(),
});
/** One job: a teacher/student pair, a method and a seed. */
export type JobRecord = z.infer<typeof jobRecordSchema>;

/** Schema of {@linkcode TeacherRecord}. */
export const teacherRecordSchema = z.object({
  /** Pair id. */
  pair: z.string(),
  /** Architecture. */
  arch: z.string(),
  /**
   * `recipe` (trained or taken from the cache), `path` (loaded from a file) or
   * `pytorch` (a PyTorch checkpoint, converted once into the teacher cache).
   */
  source: z.enum(["recipe", "path", "pytorch"]),
  /** Identity hash of the teacher (recipe hash, or the file's content hash: SHA-256 for `pytorch`). */
  hash: z.string(),
  /** The PyTorch checkpoint's file name (`pytorch` teachers). */
  file: z.string().optional(),
  /** Where the weights are. */
  path: z.string(),
  /** Test accuracy in [0, 1]. */
  testAccuracy: accuracy,
});
/** A teacher as a run used it (one per pair). */
export type TeacherRecord = z.infer<typeof teacherRecordSchema>;

/** Schema of {@linkcode RunOptionsRecord}. */
export const runOptionsSchema = z.object({
  /** Backend requested (`auto`, `wasm`, ...). */
  backend: z.string(),
  /** Parallel job processes. */
  jobs: z.int().min(1),
  /** The data root used. */
  dataRoot: z.string(),
  /** `--cache-dir` (the teacher cache), when given. */
  cacheDir: z.string().optional(),
  /** `--methods` filter, when given. */
  methods: z.array(z.string()).optional(),
  /** `--seeds` override, when given. */
  seeds: z.array(z.int()).optional(),
});
/** The command-line options of a run. */
export type RunOptionsRecord = z.infer<typeof runOptionsSchema>;

/** Schema of {@linkcode RunRecord} (`run.json`). */
export const runRecordSchema = z.object({
  /** Always {@linkcode RUN_RECORD_SCHEMA}. */
  schema: z.literal(RUN_RECORD_SCHEMA),
  /** Benchmark name. */
  benchmark: z.string(),
  /** Run id. */
  runId: z.string(),
  /** Path of the benchmark file as given. */
  benchmarkFile: z.string(),
  /** The benchmark file as parsed (before defaults). */
  benchmarkSource: z.unknown(),
  /** Tags of the benchmark (`quick`, `paper`, `nightly`, ...). */
  tags: z.array(z.string()),
  /** Job ids in run order. */
  jobs: z.array(z.string().min(1)),
  /** True when run with `--smoke`. */
  smoke: z.boolean(),
  /** True when the budget or networks are scaled down from the paper's (added by the runner). */
  scaled: z.boolean().optional(),
  /** What is scaled, shown in every report (added by the runner). */
  scaledLabel: z.string().optional(),
  /** The teachers the run used, one per pair (added by the runner). */
  teachers: z.array(teacherRecordSchema).optional(),
  /** The options the run was started with (added by the runner). */
  options: runOptionsSchema.optional(),
  /**
   * The benchmark's resolved regression settings (added by the runner): minimum
   * accuracy effect in points, minimum time effect in percent, Welch
   * significance level (runs written before the last two existed lack them).
   */
  regression: z.object({
    minEffect: z.number(),
    minTimeEffect: z.number().optional(),
    alpha: z.number().optional(),
  }).optional(),
  /** Where the run happened. */
  environment: environmentSchema,
  /** ISO start time. */
  startedAt: z.string(),
  /** ISO end time (absent while running, and after an interrupt). */
  finishedAt: z.string().optional(),
  /** ISO time of the last interrupt (Ctrl-C), when the run stopped before finishing. */
  interruptedAt: z.string().optional(),
  /** ISO times at which `--resume` continued the run. */
  resumedAt: z.array(z.string()).optional(),
});
/** The run manifest. */
export type RunRecord = z.infer<typeof runRecordSchema>;

/** Evaluation settings. */
export interface EvaluationSpec {
  /** Batch size of the test-set evaluation after each epoch. */
  batchSize: number;
  /** Evaluate on this many test images (a fixed, seed-independent subset) instead of all. */
  subset?: number | undefined;
}

/** The teacher as a job's configuration records it. */
export interface JobTeacher {
  /** Architecture. */
  arch: string;
  /** `recipe`, `path` or `pytorch`. */
  source: "recipe" | "path" | "pytorch";
  /** Identity hash (recipe hash or file content hash; SHA-256 of the checkpoint for `pytorch`). */
  hash: string;
  /** The PyTorch checkpoint's file name (`pytorch` teachers). */
  file?: string;
  /** Where the weights are on this machine (not part of the configuration hash). */
  path: string;
  /** Recipe overrides of the benchmark file (recipe teachers). */
  recipe?: Record<string, unknown>;
}

/** A job's fully resolved configuration, stored in its record as `config`. */
export interface JobConfig {
  /** Benchmark name. */
  benchmark: string;
  /** Dataset name. */
  dataset: string;
  /** Image shape `[h, w, c]`. */
  imageShape: [number, number, number];
  /** Number of classes. */
  classes: number;
  /** Pair id. */
  pair: string;
  /** The teacher. */
  teacher: JobTeacher;
  /** Student architecture. */
  student: string;
  /** Method name. */
  method: string;
  /** Every hyperparameter (defaults and overrides). */
  hyperparameters: Hyperparameters;
  /** The budget. */
  budget: Budget;
  /** Evaluation settings. */
  evaluation: EvaluationSpec;
  /** Scaled down from the paper's configuration. */
  scaled: boolean;
  /** What is scaled. */
  scaledLabel?: string;
  /** Run with `--smoke`. */
  smoke: boolean;
  /** Checkpoint period in epochs, when the file sets one. */
  checkpointEveryEpochs?: number;
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
