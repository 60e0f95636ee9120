/**
 * Running one job (a pair, a method and a seed) inside its own process: load
 * the test split and the prepared teacher, build the student, create the
 * method, then train epoch by epoch, evaluating the student after each epoch
 * and rewriting the job's record and CSV (atomically) every time, so nothing
 * is lost if the process dies.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendRequest } from "../backends/init_backend.ts";
import type { ImageSplit } from "../data/dataset.ts";
import type { MethodInstance } from "../methods/method.ts";
import type { Classifier } from "../models/classifier.ts";
import { collectEnvironment } from "../util/environment.ts";
import type { Logger } from "../util/logger.ts";
import { Rng, type RngState } from "../util/rng.ts";
import {
  type JobCheckpoint,
  loadLatestCheckpoint,
  removeCheckpoints,
  saveCheckpoint,
} from "./checkpoint.ts";
import type { JobConfig } from "../results/records.ts";
import type { JobMessage } from "./protocol.ts";
import type { EpochRecord, JobRecord, JobStatus } from "../results/records.ts";
import { checkpointDir, readJobRecord, writeJobFiles } from "../results/run_folder.ts";
import type { Toolkit } from "./toolkit.ts";

/** Options of {@linkcode executeJob}. */
export interface ExecuteJobOptions {
  /** The run folder holding the job's record (written by the parent as `pending`). */
  runDir: string;
  /** The job id. */
  jobId: string;
  /** Backend to run on. */
  backend: BackendRequest;
  /** Data root for the test split. */
  dataRoot: string;
  /** Datasets, models, methods. */
  toolkit: Toolkit;
  /** Receives progress messages (the worker writes them to stdout). */
  emit: (message: JobMessage) => void;
  /**
   * Polled between iterations (by methods that support it) and after every
   * epoch: once true, the job saves a checkpoint and stops as `interrupted`.
   */
  shouldStop?: () => boolean;
}

/**
 * A fixed subset of `n` test images, the same for every job and seed (drawn
 * with a constant seed), in their original order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluationSubset } from "./execute_job.ts";
 * const split = { size: 4, images: new Uint8Array([0, 1, 2, 3]), labels: new Uint8Array([0, 1, 0, 1]) };
 * assert.equal(evaluationSubset(split, 2).size, 2);
 * ```
 */
export function evaluationSubset(split: ImageSplit, n: number | undefined): ImageSplit {
  if (n === undefined || n >= split.size) return split;
  const pixels = split.images.length / split.size;
  const picked = [...new Rng("dfkd-bench/evaluation-subset").permutation(split.size).slice(0, n)]
    .sort((a, b) => a - b);
  const images = new Uint8Array(n * pixels);
  const labels = new Uint8Array(n);
  picked.forEach((src, i) => {
    images.set(split.images.subarray(src * pixels, (src + 1) * pixels), i * pixels);
    labels[i] = split.labels[src] as number;
  });
  return { size: n, images, labels };
}

function jobLogger(emit: (m: JobMessage) => void): Logger {
  return {
    info: (message) => emit({ type: "log", level: "info", message }),
    warn: (message) => emit({ type: "log", level: "warn", message }),
    progress: () => ({ update() {}, stop() {} }),
  };
}

/** A method's `DivergenceError` (a loss went NaN or infinite in `epoch`). */
function isDivergence(error: unknown): error is Error & { epoch: number } {
  return error instanceof Error && error.name === "DivergenceError" &&
    typeof (error as { epoch?: unknown }).epoch === "number";
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * Seconds between checkpoints when the benchmark file sets no `checkpoint.everyEpochs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CHECKPOINT_SECONDS } from "./execute_job.ts";
 * assert.equal(DEFAULT_CHECKPOINT_SECONDS, 60);
 * ```
 */
export const DEFAULT_CHECKPOINT_SECONDS = 60;

/** The runner's part of a checkpoint (JSON). */
interface RunnerState {
  /** Student images trained on so far. */
  images: number;
  /** Training seconds so far. */
  trainSeconds: number;
  /** Wall seconds of the job so far (over every process that ran it). */
  wallSeconds: number;
  /** Training seconds of the epoch in progress, when the checkpoint is inside one. */
  partialTrainSeconds?: number;
  /** The job's own generator (its forks seeded the student and the method). */
  rng: RngState;
}

/**
 * Whether a job checkpoints after `epoch` (from 0): every `everyEpochs`
 * epochs when the benchmark file sets it, else when at least
 * {@linkcode DEFAULT_CHECKPOINT_SECONDS} have passed since the last
 * checkpoint (so every epoch once epochs take over a minute). Never after the
 * last epoch (a completed job needs none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointDue } from "./execute_job.ts";
 * assert.equal(checkpointDue({ epoch: 1, epochs: 10, everyEpochs: 2, secondsSinceLast: 0 }), true);
 * assert.equal(checkpointDue({ epoch: 1, epochs: 10, secondsSinceLast: 75 }), true);
 * assert.equal(checkpointDue({ epoch: 1, epochs: 10, secondsSinceLast: 5 }), false);
 * ```
 */
export function checkpointDue(
  o: { epoch: number; epochs: number; everyEpochs?: number; secondsSinceLast: number },
): boolean {
  if (o.epoch + 1 >= o.epochs) return false;
  if (o.everyEpochs !== undefined) return (o.epoch + 1) % o.everyEpochs === 0;
  return o.secondsSinceLast >= DEFAULT_CHECKPOINT_SECONDS;
}

/**
 * Runs the job whose record is in `runDir`, rewriting the record after every
 * epoch, and resolves to its final status. When the job has a checkpoint
 * (`checkpoints/<job-id>/`, from an earlier process of a resumed run) it
 * continues from there, exactly as if it had never stopped; a damaged newest
 * checkpoint falls back to the previous one. Exceptions become a `failed`
 * record with the error message (never thrown); a non-finite loss or accuracy
 * stops the job as `diverged`. When `shouldStop` turns true the job finishes
 * the current iteration (or epoch, for a method that cannot stop inside one),
 * saves a checkpoint and ends as `interrupted`.
 *
 * @example
 * ```ts
 * import { executeJob } from "./execute_job.ts";
 * import type { Toolkit } from "./toolkit.ts";
 * declare const toolkit: Toolkit;
 * // const status = await executeJob({ runDir, jobId, backend: "wasm", dataRoot, toolkit, emit: console.log });
 * ```
 */
export async function executeJob(options: ExecuteJobOptions): Promise<JobStatus> {
  const started = performance.now();
  const record = await readJobRecord(options.runDir, options.jobId);
  return await new JobExecution(options, record, started).run();
}

/** Thrown by `JobExecution.#setUp` when the checkpoint it restored from did not fit (set aside). */
class CheckpointMisfit extends Error {}

/** A checkpoint found for the job, with the runner's part of it. */
interface Resumed {
  /** The checkpoint. */
  checkpoint: JobCheckpoint;
  /** Its file. */
  path: string;
  /** The runner's counters and generator state in it. */
  runner: RunnerState;
}

/** A part of an epoch done when the job stopped inside it (an interrupt). */
interface PartialEpoch {
  /** Iterations done. */
  iterations: number;
  /** Training seconds of those iterations. */
  seconds: number;
}

/** One job's run in this process: set up, then epoch by epoch, then its end. */
class JobExecution {
  readonly #options: ExecuteJobOptions;
  readonly #record: JobRecord;
  readonly #config: JobConfig;
  readonly #log: Logger;
  readonly #checkpoints: string;
  readonly #started: number;
  #wallBefore = 0;
  #teacher: Classifier | undefined;
  #student: Classifier | undefined;
  #method: MethodInstance | undefined;
  #rng: Rng;
  #images = 0;
  #trainSeconds = 0;
  #carriedTrainSeconds = 0;
  #lastCheckpoint = 0;

  constructor(options: ExecuteJobOptions, record: JobRecord, started: number) {
    this.#options = options;
    this.#record = record;
    this.#config = record.config as JobConfig;
    this.#log = jobLogger(options.emit);
    this.#checkpoints = checkpointDir(options.runDir, options.jobId);
    this.#started = started;
    this.#rng = new Rng(record.seed);
  }

  /** Runs the job to its end; never throws (errors become a `failed` record). */
  async run(): Promise<JobStatus> {
    try {
      let resumed: Resumed | undefined;
      let test: ImageSplit;
      for (;;) {
        resumed = await this.#begin();
        try {
          test = await this.#setUp(resumed);
          break;
        } catch (error) {
          // Set aside; the previous checkpoint (or a fresh start) is tried.
          if (!(error instanceof CheckpointMisfit)) throw error;
        }
      }
      if (this.#stopRequested()) {
        // Stopped while loading: nothing new to save (a resumed job keeps its checkpoint).
        return await this.#finish(
          "interrupted",
          `Interrupted before epoch ${(resumed?.checkpoint.epochsDone ?? 0) + 1} started${
            resumed ? `; checkpoint ${resumed.path}` : ""
          }`,
        );
      }
      return await this.#trainEpochs(resumed?.checkpoint.epochsDone ?? 0, test);
    } catch (error) {
      if (isDivergence(error)) {
        this.#record.divergedAtEpoch = error.epoch;
        return await this.#finish("diverged", error.message);
      }
      if (error instanceof Error && error.stack) console.error(error.stack);
      return await this.#finish("failed", errorMessage(error));
    } finally {
      this.#method?.dispose();
      this.#student?.model.dispose();
      this.#teacher?.model.dispose();
    }
  }

  #wall(): number {
    return this.#wallBefore + (performance.now() - this.#started) / 1000;
  }

  #stopRequested(): boolean {
    return this.#options.shouldStop?.() === true;
  }

  /**
   * Initialises the backend, finds the job's checkpoint (checking it is this
   * job's), marks the record `running` (recording a resume) and announces
   * the start.
   */
  async #begin(): Promise<Resumed | undefined> {
    const { toolkit, jobId, emit } = this.#options;
    const record = this.#record;
    const backend = await toolkit.initBackend(this.#options.backend);
    record.environment = await collectEnvironment(backend);
    const found = await loadLatestCheckpoint(this.#checkpoints, (path, reason) => {
      this.#log.warn(`${jobId}: skipping checkpoint ${path}: ${reason}; trying the previous one`);
    });
    const resumed = found === undefined
      ? undefined
      : { ...found, runner: found.checkpoint.runner as RunnerState };
    if (resumed !== undefined) checkCheckpointFits(resumed, record);
    this.#wallBefore = resumed?.runner.wallSeconds ?? 0;
    record.status = "running";
    if (resumed === undefined) record.startedAt = new Date().toISOString();
    delete record.finishedAt;
    delete record.error;
    delete record.divergedAtEpoch;
    record.epochs = resumed?.checkpoint.epochs ?? [];
    if (resumed !== undefined) {
      const partial = resumed.checkpoint.partialIterations;
      record.resumes = [
        ...(record.resumes ?? []),
        {
          at: new Date().toISOString(),
          fromEpoch: resumed.checkpoint.epochsDone,
          ...(partial !== undefined ? { fromIteration: partial } : {}),
        },
      ];
    }
    await writeJobFiles(this.#options.runDir, record);
    const startEpoch = resumed?.checkpoint.epochsDone ?? 0;
    emit({ type: "started", epochs: this.#config.budget.epochs, startEpoch });
    if (resumed !== undefined) {
      const partial = resumed.checkpoint.partialIterations;
      this.#log.info(
        `${jobId}: resuming from ${resumed.path} (epoch ${startEpoch + 1}${
          partial !== undefined ? `, after iteration ${partial}` : ""
        })`,
      );
    }
    return resumed;
  }

  /**
   * Loads the test split (or its subset), the teacher, a seeded student and
   * the method; a resumed job restores the method and the runner's state.
   */
  async #setUp(resumed: Resumed | undefined): Promise<ImageSplit> {
    const { toolkit } = this.#options;
    const config = this.#config;
    const shape = config.imageShape;
    const dataset = await toolkit.loadDataset(config.dataset, {
      dataRoot: this.#options.dataRoot,
      log: this.#log,
    });
    const test = evaluationSubset(dataset.test, config.evaluation.subset);
    this.#teacher = await toolkit.loadTeacher(config.teacher, {
      inputShape: shape,
      classes: config.classes,
    });
    this.#student = toolkit.buildStudent(config.student, {
      inputShape: shape,
      classes: config.classes,
      seed: this.#rng.fork("student").seed(),
    });
    this.#method = toolkit.getMethod(config.method).create({
      teacher: this.#teacher,
      student: this.#student,
      imageShape: shape,
      classes: config.classes,
      ...(dataset.normalisation !== undefined ? { normalisation: dataset.normalisation } : {}),
      budget: config.budget,
      hyper: config.hyperparameters,
      rng: this.#rng.fork("method"),
      log: this.#log,
    });
    if (resumed !== undefined) {
      try {
        await this.#method.restoreState(resumed.checkpoint.method);
        this.#rng = Rng.fromState(resumed.runner.rng);
      } catch (error) {
        await this.#setAside(resumed, error);
        throw new CheckpointMisfit();
      }
    }
    this.#images = resumed?.runner.images ?? 0;
    this.#trainSeconds = resumed?.runner.trainSeconds ?? 0;
    this.#carriedTrainSeconds = resumed?.runner.partialTrainSeconds ?? 0;
    this.#lastCheckpoint = performance.now();
    return test;
  }

  /**
   * A checkpoint whose hash checks out but whose state does not fit the job
   * (shapes or tensors of another code version): renamed `<name>.damaged`
   * like a damaged one, with a warning naming the mismatch; the job's state
   * goes back to before it was chosen.
   */
  async #setAside(resumed: Resumed, error: unknown): Promise<void> {
    this.#log.warn(
      `${this.#options.jobId}: checkpoint ${resumed.path} does not fit this job (${
        errorMessage(error)
      }); set aside as ${resumed.path}.damaged, trying the previous one or a fresh start`,
    );
    await Deno.rename(resumed.path, `${resumed.path}.damaged`);
    this.#method?.dispose();
    this.#student?.model.dispose();
    this.#teacher?.model.dispose();
    this.#method = undefined;
    this.#student = undefined;
    this.#teacher = undefined;
    this.#record.resumes?.pop();
    if (this.#record.resumes?.length === 0) delete this.#record.resumes;
    this.#rng = new Rng(this.#record.seed);
  }

  /** Trains, evaluates and records epochs `start`.. until the budget, an interrupt or a divergence. */
  async #trainEpochs(start: number, test: ImageSplit): Promise<JobStatus> {
    const epochs = this.#config.budget.epochs;
    let baselineTensors: number | undefined;
    let warnedLeak = false;
    for (let epoch = start; epoch < epochs; epoch++) {
      const ended = await this.#epoch(epoch, test);
      if (ended !== undefined && ended !== "stop") return ended;
      const tensors = tf.memory().numTensors;
      baselineTensors ??= tensors;
      if (!warnedLeak && tensors > baselineTensors + 100) {
        warnedLeak = true;
        this.#log.warn(
          `${this.#options.jobId}: live tensors grew from ${baselineTensors} to ${tensors} since epoch 1 (a leak?)`,
        );
      }
      if (ended === "stop") return await this.#interrupted(epoch + 1);
    }
    return await this.#finish("completed");
  }

  /**
   * One epoch: train, check the losses, evaluate, record, checkpoint when due.
   * Returns the job's end status when the epoch ended it, `"stop"` when an
   * interrupt asks to stop after it, else undefined.
   */
  async #epoch(epoch: number, test: ImageSplit): Promise<JobStatus | "stop" | undefined> {
    const { toolkit, emit, runDir } = this.#options;
    const config = this.#config;
    const record = this.#record;
    const method = this.#method as MethodInstance;
    const t0 = performance.now();
    let lastStep = 0;
    const report = await method.runEpoch(epoch, (done, total) => {
      const now = performance.now();
      if (now - lastStep < 250 && done < total) return;
      lastStep = now;
      emit({ type: "step", epoch, done, total });
    }, { shouldStop: () => this.#stopRequested() });
    const t1 = performance.now();
    const epochTrainSeconds = this.#carriedTrainSeconds + (t1 - t0) / 1000;
    this.#carriedTrainSeconds = 0;
    if (report.stoppedAfterIteration !== undefined) {
      return await this.#interrupted(epoch, {
        iterations: report.stoppedAfterIteration,
        seconds: epochTrainSeconds,
      });
    }
    const badLoss = Object.entries(report.losses).find(([, v]) => !Number.isFinite(v));
    if (badLoss !== undefined) {
      record.divergedAtEpoch = epoch;
      record.replayBytes = report.replayBytes;
      return await this.#finish(
        "diverged",
        `Loss "${badLoss[0]}" became ${badLoss[1]} in epoch ${epoch + 1}`,
      );
    }
    const accuracy = await toolkit.evaluate(this.#student as Classifier, test, {
      dataset: config.dataset,
      batchSize: config.evaluation.batchSize,
    });
    const t2 = performance.now();
    if (!Number.isFinite(accuracy)) {
      record.divergedAtEpoch = epoch;
      return await this.#finish(
        "diverged",
        `Test accuracy became ${accuracy} in epoch ${epoch + 1}`,
      );
    }
    const entry: EpochRecord = {
      epoch,
      accuracy,
      losses: report.losses,
      replayBytes: report.replayBytes,
      counters: report.counters,
      trainSeconds: epochTrainSeconds,
      evalSeconds: (t2 - t1) / 1000,
    };
    record.epochs.push(entry);
    this.#images += report.studentImages;
    this.#trainSeconds += entry.trainSeconds;
    record.replayBytes = report.replayBytes;
    record.wallSeconds = this.#wall();
    record.imagesPerSecond = this.#trainSeconds > 0 ? this.#images / record.wallSeconds : 0;
    const stop = this.#stopRequested() && epoch + 1 < config.budget.epochs;
    if (
      !stop && checkpointDue({
        epoch,
        epochs: config.budget.epochs,
        ...(config.checkpointEveryEpochs !== undefined
          ? { everyEpochs: config.checkpointEveryEpochs }
          : {}),
        secondsSinceLast: (performance.now() - this.#lastCheckpoint) / 1000,
      })
    ) {
      await this.#save(epoch + 1);
    }
    await writeJobFiles(runDir, record);
    emit({ type: "epoch", epoch, accuracy, seconds: entry.trainSeconds + entry.evalSeconds });
    return stop ? "stop" : undefined;
  }

  /** Saves a checkpoint after `epochsDone` epochs (and `partial` of the next) and notes it in the record. */
  async #save(epochsDone: number, partial?: PartialEpoch): Promise<string> {
    const record = this.#record;
    const state: RunnerState = {
      images: this.#images,
      trainSeconds: this.#trainSeconds,
      wallSeconds: this.#wall(),
      ...(partial !== undefined ? { partialTrainSeconds: partial.seconds } : {}),
      rng: this.#rng.state(),
    };
    const path = await saveCheckpoint(this.#checkpoints, {
      jobId: this.#options.jobId,
      configHash: record.configHash,
      seed: record.seed,
      epochsDone,
      ...(partial !== undefined ? { partialIterations: partial.iterations } : {}),
      epochs: record.epochs,
      runner: state,
      method: await (this.#method as MethodInstance).saveState(),
      savedAt: new Date().toISOString(),
    });
    this.#lastCheckpoint = performance.now();
    record.checkpoint = {
      epochsDone,
      ...(partial !== undefined ? { iterations: partial.iterations } : {}),
      savedAt: new Date().toISOString(),
    };
    return path;
  }

  /** Saves a checkpoint and ends the job as `interrupted`. */
  async #interrupted(epochsDone: number, partial?: PartialEpoch): Promise<JobStatus> {
    const path = await this.#save(epochsDone, partial);
    const where = partial !== undefined
      ? `in epoch ${epochsDone + 1} after iteration ${partial.iterations}`
      : `after epoch ${epochsDone}`;
    return await this.#finish("interrupted", `Interrupted ${where}; checkpoint ${path}`);
  }

  /** Writes the final record (a completed job's checkpoints go) and announces the end. */
  async #finish(status: JobStatus, error?: string): Promise<JobStatus> {
    const record = this.#record;
    record.status = status;
    if (error !== undefined) record.error = error;
    if (status === "completed") delete record.checkpoint; // Deleted below: nothing to resume.
    record.finishedAt = new Date().toISOString();
    record.wallSeconds = this.#wall();
    await writeJobFiles(this.#options.runDir, record);
    if (status === "completed") await removeCheckpoints(this.#checkpoints);
    this.#options.emit({ type: "finished", status, ...(error !== undefined ? { error } : {}) });
    return status;
  }
}

/** A checkpoint must be this job's: same configuration hash and seed. */
function checkCheckpointFits(resumed: Resumed, record: JobRecord): void {
  const c = resumed.checkpoint;
  if (c.configHash !== record.configHash || c.seed !== record.seed) {
    throw new Error(
      `Checkpoint ${resumed.path} belongs to another configuration or seed ` +
        `(hash ${c.configHash.slice(0, 12)}, seed ${c.seed}; the job has ` +
        `${record.configHash.slice(0, 12)}, seed ${record.seed})`,
    );
  }
}
