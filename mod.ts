/**
 * dfkd-bench: reproduce and compare data-free knowledge distillation methods
 * (PRE-DFKD, no-replay, memory-bank) with TensorFlow.js under Deno.
 *
 * The `tf` namespace re-exported here is the one TensorFlow.js instance the
 * project uses, so user code and plug-ins share its backend and kernels.
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "./mod.ts";
 * await initBackend("auto");
 * console.log(tf.getBackend());
 * ```
 *
 * @module
 */
export * as tf from "@tensorflow/tfjs";
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type BackendProbe,
  type BackendRequest,
  BackendUnavailableError,
  initBackend,
  type InitBackendOptions,
} from "./src/backends/init_backend.ts";
export { registerTrainingKernels, trainingKernelConfigs } from "./src/backends/training_kernels.ts";
export { Rng, type RngState } from "./src/util/rng.ts";
export {
  collectEnvironment,
  type Environment,
  PINNED_DENO_VERSION,
} from "./src/util/environment.ts";
export { UserError } from "./src/util/errors.ts";
export type {
  ArchiveSource,
  Dataset,
  DatasetInfo,
  DatasetSpec,
  ImageSplit,
  LoadOptions,
  Normalisation,
} from "./src/data/dataset.ts";
export { DATASETS, getDataset } from "./src/data/registry.ts";
export { DATA_ROOT_ENV, resolveDataRoot } from "./src/data/data_root.ts";
export {
  type AugmentOptions,
  type Batch,
  batchCount,
  type BatchOptions,
  iterateBatches,
  normalisationTable,
} from "./src/data/batches.ts";
export {
  checkDataset,
  type DatasetReport,
  type SplitReport,
  summariseDataset,
} from "./src/data/check.ts";
export { fetchDataset, type FetchOptions, type FetchResult } from "./src/data/fetch.ts";
export { resizeBilinearPil } from "./src/data/resize.ts";
