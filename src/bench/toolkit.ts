/**
 * What the runner needs from the rest of dfkd-bench (datasets, models,
 * teachers, methods, backends), as one interface. The real one
 * (`default_toolkit.ts`) wires the registries; tests can pass small fakes to
 * check the runner's own logic (records, failures, progress) quickly.
 *
 * @module
 */
import type { BackendInfo, BackendRequest } from "../backends/init_backend.ts";
import type { Dataset, DatasetInfo, ImageSplit } from "../data/dataset.ts";
import type { MethodPlugin } from "../methods/method.ts";
import type { Classifier } from "../models/classifier.ts";
import type { Logger } from "../util/logger.ts";
import type { JobTeacher } from "../results/records.ts";
import type { Catalogue, TeacherSpec } from "./spec.ts";

/** A teacher ready for jobs: where its weights are and what it scores. */
export interface PreparedTeacher {
  /** Architecture. */
  arch: string;
  /** `recipe`, `path` (a saved TensorFlow.js model) or `pytorch` (an imported checkpoint). */
  source: "recipe" | "path" | "pytorch";
  /** Identity hash (for `pytorch`, the SHA-256 of the checkpoint file). */
  hash: string;
  /** The checkpoint's file name (`pytorch` teachers). */
  file?: string;
  /** Where the weights are (what jobs load). */
  path: string;
  /** Test accuracy in [0, 1]. */
  testAccuracy: number;
  /** Recipe overrides from the benchmark file (recipe teachers). */
  recipe?: Record<string, unknown>;
}

/** The runner's view of dfkd-bench's registries and loaders. */
export interface Toolkit {
  /** Names the benchmark files are checked against. */
  catalogue(): Catalogue;
  /** The data root: the flag, then `DFKD_DATA`, then the default folder. */
  resolveDataRoot(flag?: string): string;
  /** Initialises TensorFlow.js on a backend. */
  initBackend(request: BackendRequest): Promise<BackendInfo>;
  /** Static facts of a dataset (a `UserError` for an unknown name). */
  datasetInfo(name: string): DatasetInfo;
  /** Loads a dataset (a `UserError` naming the path when the data is missing). */
  loadDataset(name: string, options: { dataRoot: string; log: Logger }): Promise<Dataset>;
  /**
   * Makes a teacher available to jobs: trains it (or takes it from the cache)
   * by recipe, or loads and evaluates a saved one. Runs in the parent process
   * before any job starts, so parallel jobs never train the same teacher twice.
   */
  prepareTeacher(
    spec: TeacherSpec,
    dataset: string,
    options: { dataRoot: string; data: Dataset; cacheDir?: string; log: Logger },
  ): Promise<PreparedTeacher>;
  /** Loads a prepared teacher in a job. */
  loadTeacher(
    teacher: JobTeacher,
    options: { inputShape: readonly [number, number, number]; classes: number },
  ): Promise<Classifier>;
  /** Builds a freshly initialised student. */
  buildStudent(
    arch: string,
    options: { inputShape: readonly [number, number, number]; classes: number; seed: number },
  ): Classifier;
  /** Test accuracy of a classifier in [0, 1]. */
  evaluate(
    classifier: Classifier,
    split: ImageSplit,
    options: { dataset: string; batchSize: number },
  ): Promise<number>;
  /** The method plug-in registered as `name`. */
  getMethod(name: string): MethodPlugin;
}
