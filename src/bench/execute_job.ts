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
import type { EpochReport, MethodInstance } from "../methods/method.ts";
import type { Classifier } from "../models/classifier.ts";
import { collectEnvironment } from "../util/environment.ts";
import type { Logger } from "../util/logger.ts";
import { Rng, type RngState } from "../util/rng.ts";
import { loadLatestCheckpoint, removeCheckpoints, saveCheckpoint } from "./checkpoint.ts";
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
 * import { evaluationSubset } from "./execute_job.ts";
 * const split = { size: 4, images: new Uint8Array([0, 1, 2, 3]), labels: new Uint8Array([0, 1, 0, 1]) };
 * console.log(evaluationSubset(split, 2).size); // 2
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

/** Student images trained on in an epoch, from the method's counters (or the budget). */
export function studentImages(report: EpochReport, config: JobConfig): number {
  const c = report.counters;
  if (typeof c.studentImages === "number") return c.studentImages;
  const counted = (c.novelImages ?? 0) + (c.replayImages ?? 0);
  if (counted > 0) return counted;
  const b = config.budget;
  return b.batchSize * b.studentStepsPerIteration * b.iterationsPerEpoch;
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
 * import { DEFAULT_CHECKPOINT_SECONDS } from "./execute_job.ts";
 * console.log(DEFAULT_CHECKPOINT_SECONDS); // 60
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
 * import { checkpointDue } from "./execute_job.ts";
 * console.log(checkpointDue({ epoch: 1, epochs: 10, everyEpochs: 2, secondsSinceLast: 0 })); // true
 * console.log(checkpointDue({ epoch: 1, epochs: 10, secondsSinceLast: 75 })); // true
 * console.log(checkpointDue({ epoch: 1, epochs: 10, secondsSinceLast: 5 })); // false
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
  const { runDir, jobId, toolkit, emit } = options;
  const started = performance.now();
  const record: JobRecord = await readJobRecord(runDir, jobId);
  const config = record.config as JobConfig;
  const log = jobLogger(emit);
  const checkpoints = checkpointDir(runDir, jobId);
  let wallBefore = 0;
  const wall = () => wallBefore + (performance.now() - started) / 1000;
  const finish = async (status: JobStatus, error?: string) => {
    record.status = status;
    if (error !== undefined) record.error = error;
    if (status === "completed") delete record.checkpoint; // Deleted below: nothing to resume.
    record.finishedAt = new Date().toISOString();
    record.wallSeconds = wall();
    await writeJobFiles(runDir, record);
    if (status === "completed") await removeCheckpoints(checkpoints);
    emit({ type: "finished", status, ...(error !== undefined ? { error } : {}) });
    return status;
  };
  const stopRequested = () => options.shouldStop?.() === true;

  let teacher: Classifier | undefined;
  let student: Classifier | undefined;
  let method: MethodInstance | undefined;
  try {
    const backend = await toolkit.initBackend(options.backend);
    record.environment = await collectEnvironment(backend);
    const found = await loadLatestCheckpoint(checkpoints, (path, reason) => {
      log.warn(`${jobId}: skipping checkpoint ${path}: ${reason}; trying the previous one`);
    });
    const resumed = found?.checkpoint;
    if (resumed !== undefined) {
      if (resumed.configHash !== record.configHash || resumed.seed !== record.seed) {
        throw new Error(
          `Checkpoint ${found?.path} belongs to another configuration or seed ` +
            `(hash ${resumed.configHash.slice(0, 12)}, seed ${resumed.seed}; the job has ` +
            `${record.configHash.slice(0, 12)}, seed ${record.seed})`,
        );
      }
    }
    const runner = resumed?.runner as RunnerState | undefined;
    wallBefore = runner?.wallSeconds ?? 0;
    record.status = "running";
    if (resumed === undefined) record.startedAt = new Date().toISOString();
    delete record.finishedAt;
    delete record.error;
    delete record.divergedAtEpoch;
    record.epochs = resumed?.epochs ?? [];
    if (resumed !== undefined) {
      record.resumes = [
        ...(record.resumes ?? []),
        {
          at: new Date().toISOString(),
          fromEpoch: resumed.epochsDone,
          ...(resumed.partialIterations !== undefined
            ? { fromIteration: resumed.partialIterations }
            : {}),
        },
      ];
    }
    await writeJobFiles(runDir, record);
    const startEpoch = resumed?.epochsDone ?? 0;
    emit({ type: "started", epochs: config.budget.epochs, startEpoch });
    if (resumed !== undefined) {
      log.info(
        `${jobId}: resuming from ${found?.path} (epoch ${startEpoch + 1}${
          resumed.partialIterations !== undefined
            ? `, after iteration ${resumed.partialIterations}`
            : ""
        })`,
      );
    }

    const shape = config.imageShape;
    const test = evaluationSubset(
      (await toolkit.loadDataset(config.dataset, { dataRoot: options.dataRoot, log })).test,
      config.evaluation.subset,
    );
    teacher = await toolkit.loadTeacher(config.teacher, {
      inputShape: shape,
      classes: config.classes,
    });
    let rng = new Rng(record.seed);
    student = toolkit.buildStudent(config.student, {
      inputShape: shape,
      classes: config.classes,
      seed: rng.fork("student").seed(),
    });
    const plugin = toolkit.getMethod(config.method);
    method = plugin.create({
      teacher,
      student,
      imageShape: shape,
      classes: config.classes,
      budget: config.budget,
      hyper: config.hyperparameters,
      rng: rng.fork("method"),
      log,
    });
    if (resumed !== undefined && runner !== undefined) {
      await method.restoreState(resumed.method);
      rng = Rng.fromState(runner.rng);
    }

    let images = runner?.images ?? 0;
    let trainSeconds = runner?.trainSeconds ?? 0;
    let carriedTrainSeconds = runner?.partialTrainSeconds ?? 0;
    let lastCheckpoint = performance.now();
    const save = async (epochsDone: number, partial?: { iterations: number; seconds: number }) => {
      const instance = method as MethodInstance;
      const state: RunnerState = {
        images,
        trainSeconds,
        wallSeconds: wall(),
        ...(partial !== undefined ? { partialTrainSeconds: partial.seconds } : {}),
        rng: rng.state(),
      };
      const path = await saveCheckpoint(checkpoints, {
        jobId,
        configHash: record.configHash,
        seed: record.seed,
        epochsDone,
        ...(partial !== undefined ? { partialIterations: partial.iterations } : {}),
        epochs: record.epochs,
        runner: state,
        method: await instance.saveState(),
        savedAt: new Date().toISOString(),
      });
      lastCheckpoint = performance.now();
      record.checkpoint = {
        epochsDone,
        ...(partial !== undefined ? { iterations: partial.iterations } : {}),
        savedAt: new Date().toISOString(),
      };
      return path;
    };
    const interrupted = async (
      epochsDone: number,
      partial?: { iterations: number; seconds: number },
    ) => {
      const path = await save(epochsDone, partial);
      const where = partial !== undefined
        ? `in epoch ${epochsDone + 1} after iteration ${partial.iterations}`
        : `after epoch ${epochsDone}`;
      return await finish("interrupted", `Interrupted ${where}; checkpoint ${path}`);
    };

    let baselineTensors: number | undefined;
    let warnedLeak = false;
    if (stopRequested()) {
      // Stopped while loading: nothing new to save (a resumed job keeps its checkpoint).
      return await finish(
        "interrupted",
        `Interrupted before epoch ${startEpoch + 1} started${
          found ? `; checkpoint ${found.path}` : ""
        }`,
      );
    }
    for (let epoch = startEpoch; epoch < config.budget.epochs; epoch++) {
      const t0 = performance.now();
      let lastStep = 0;
      const report = await method.runEpoch(epoch, (done, total) => {
        const now = performance.now();
        if (now - lastStep < 250 && done < total) return;
        lastStep = now;
        emit({ type: "step", epoch, done, total });
      }, { shouldStop: stopRequested });
      const t1 = performance.now();
      const epochTrainSeconds = carriedTrainSeconds + (t1 - t0) / 1000;
      carriedTrainSeconds = 0;
      if (report.stoppedAfterIteration !== undefined) {
        return await interrupted(epoch, {
          iterations: report.stoppedAfterIteration,
          seconds: epochTrainSeconds,
        });
      }
      const badLoss = Object.entries(report.losses).find(([, v]) => !Number.isFinite(v));
      if (badLoss !== undefined) {
        record.divergedAtEpoch = epoch;
        record.replayBytes = report.replayBytes;
        return await finish(
          "diverged",
          `Loss "${badLoss[0]}" became ${badLoss[1]} in epoch ${epoch + 1}`,
        );
      }
      const accuracy = await toolkit.evaluate(student, test, {
        dataset: config.dataset,
        batchSize: config.evaluation.batchSize,
      });
      const t2 = performance.now();
      if (!Number.isFinite(accuracy)) {
        record.divergedAtEpoch = epoch;
        return await finish("diverged", `Test accuracy became ${accuracy} in epoch ${epoch + 1}`);
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
      images += studentImages(report, config);
      trainSeconds += entry.trainSeconds;
      record.replayBytes = report.replayBytes;
      record.wallSeconds = wall();
      record.imagesPerSecond = trainSeconds > 0 ? images / record.wallSeconds : 0;
      const stop = stopRequested() && epoch + 1 < config.budget.epochs;
      if (
        !stop && checkpointDue({
          epoch,
          epochs: config.budget.epochs,
          ...(config.checkpointEveryEpochs !== undefined
            ? { everyEpochs: config.checkpointEveryEpochs }
            : {}),
          secondsSinceLast: (performance.now() - lastCheckpoint) / 1000,
        })
      ) {
        await save(epoch + 1);
      }
      await writeJobFiles(runDir, record);
      emit({ type: "epoch", epoch, accuracy, seconds: entry.trainSeconds + entry.evalSeconds });

      const tensors = tf.memory().numTensors;
      baselineTensors ??= tensors;
      if (!warnedLeak && tensors > baselineTensors + 100) {
        warnedLeak = true;
        log.warn(
          `${jobId}: live tensors grew from ${baselineTensors} to ${tensors} since epoch 1 (a leak?)`,
        );
      }
      if (stop) return await interrupted(epoch + 1);
    }
    return await finish("completed");
  } catch (error) {
    if (isDivergence(error)) {
      record.divergedAtEpoch = error.epoch;
      return await finish("diverged", error.message);
    }
    if (error instanceof Error && error.stack) console.error(error.stack);
    return await finish("failed", errorMessage(error));
  } finally {
    method?.dispose();
    student?.model.dispose();
    teacher?.model.dispose();
  }
}
