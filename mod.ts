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
export { type WelchResult, welchTest } from "./src/tracking/welch.ts";
export {
  buildRunSummary,
  type PairMethodSummary,
  type RegressionSettings,
  regressionSettings,
  type RunSummary,
  type SeedSummary,
  summariseResults,
} from "./src/tracking/run_summary.ts";
export {
  type CompareOverrides,
  compareRuns,
  type CompareSettings,
  type Comparison,
  DEFAULT_COMPARE_SETTINGS,
  type MetricComparison,
  type MetricName,
  type PairMethodComparison,
} from "./src/tracking/compare.ts";
export { loadComparisonInputs, machineLabel } from "./src/tracking/compare_input.ts";
export {
  addToHistory,
  DEFAULT_HISTORY_DIR,
  type HistoryEntry,
  parseHistoryRef,
  previousComparable,
  readHistory,
  resolveHistoryRef,
} from "./src/tracking/history.ts";
export {
  findNightlyBenchmarks,
  type NightlyOptions,
  type NightlyResult,
  runNightly,
} from "./src/tracking/nightly.ts";
export { formatComparisonMarkdown, formatComparisonText } from "./src/tracking/comparison_table.ts";
export { renderTrend, type TrendOutput } from "./src/tracking/trend_chart.ts";
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
export {
  applySmoke,
  type BenchmarkFile,
  benchmarkJsonSchema,
  benchmarkSchema,
  type Catalogue,
  DEFAULT_METHODS,
  loadBenchmark,
  readBenchmark,
  resolveBenchmark,
  type ResolvedBenchmark,
  SMOKE_DEFAULTS,
  SPEC_DEFAULTS,
  validateBenchmark,
} from "./src/bench/spec.ts";
export { configHash, expandJobs, jobId, type JobPlan } from "./src/bench/job_plan.ts";
export { runBenchmark, type RunOptions, type RunOutcome } from "./src/bench/runner.ts";
export type { PreparedTeacher, Toolkit } from "./src/bench/toolkit.ts";
export {
  type EpochRecord,
  epochRecordSchema,
  type EvaluationSpec,
  JOB_RECORD_SCHEMA,
  type JobConfig,
  type JobRecord,
  jobRecordSchema,
  type JobStatus,
  type JobTeacher,
  RUN_LAYOUT,
  RUN_RECORD_SCHEMA,
  type RunRecord,
  runRecordSchema,
} from "./src/results/records.ts";
export { epochsCsv } from "./src/results/epochs_csv.ts";
export { curveMetrics, seedStats, summariseSeeds } from "./src/results/metrics.ts";
export { loadRunResults, type RunResults } from "./src/results/load_run.ts";
export { rebuildReports, writeReports } from "./src/report/report.ts";
export { summaryCsv } from "./src/report/summary.ts";
export { writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "./src/util/atomic_write.ts";
export { cliLogger, terminalLogger } from "./src/util/terminal_logger.ts";
export { type Classifier, forward } from "./src/models/classifier.ts";
export type { ArchitectureSpec, BuildContext, BuiltModel } from "./src/models/architecture.ts";
export {
  ARCHITECTURES,
  buildClassifier,
  type BuildOptions,
  datasetsFor,
  getArchitecture,
} from "./src/models/registry.ts";
export { trainableParameterCount } from "./src/models/layers.ts";
export { evaluateAccuracy, type EvaluateOptions } from "./src/models/evaluate.ts";
export {
  type ClassifierMetadata,
  denoFileHandler,
  loadClassifier,
  saveClassifier,
} from "./src/models/io.ts";
export * from "./src/models/teacher/mod.ts";
export {
  type ImportedPytorchTeacher,
  type ImportPytorchOptions,
  importPytorchTeacher,
  importPytorchTeacherFile,
  type ObtainedPytorchTeacher,
  obtainPytorchTeacher,
  type PytorchTeacherMeta,
} from "./src/models/pytorch/mod.ts";
export {
  type Budget,
  DivergenceError,
  type EpochReport,
  type Hyperparameters,
  type HyperValue,
  type MethodContext,
  type MethodInstance,
  type MethodPlugin,
  type MethodState,
  type StepProgress,
  type TensorData,
} from "./src/methods/method.ts";
export { getMethod, METHODS } from "./src/methods/registry.ts";
export { PRE_DFKD_HYPERPARAMETERS, preDfkd, VaeReplay } from "./src/methods/pre_dfkd.ts";
export { noReplay } from "./src/methods/no_replay.ts";
export { dafl, DAFL_HYPERPARAMETERS } from "./src/methods/dafl.ts";
export { dfad, DFAD_HYPERPARAMETERS } from "./src/methods/dfad.ts";
export { GeneratorStudentLoop } from "./src/methods/generator_student_loop.ts";
export {
  daflGeneratorLoss,
  type DaflWeights,
  dfadGeneratorLoss,
  kdKlLoss,
} from "./src/methods/blocks/generative_losses.ts";
export { BatchBank, MEMORY_BANK_HYPERPARAMETERS, memoryBank } from "./src/methods/memory_bank.ts";
export { deepInversion, DEEPINVERSION_HYPERPARAMETERS } from "./src/methods/deepinversion.ts";
export { cmi, CMI_HYPERPARAMETERS } from "./src/methods/cmi.ts";
export {
  INVERSION_STUDENT_HYPERPARAMETERS,
  InversionLoop,
  type Synthesizer,
} from "./src/methods/inversion_loop.ts";
export {
  ADVERSARIAL_HYPERPARAMETERS,
  AdversarialLoop,
  type Replay,
  type StepInfo,
} from "./src/methods/adversarial.ts";
export {
  describeHyperRule,
  hyperDefaults,
  hyperProblem,
  HyperReader,
  type HyperSpec,
  type HyperTable,
  type HyperValues,
} from "./src/methods/hyper.ts";
export {
  activationLoss,
  adversarialJsLoss,
  generatorLoss,
  type GeneratorLossWeights,
  informationEntropyLoss,
  l1LogitLoss,
  oneHotLoss,
  vaeKlLoss,
} from "./src/methods/blocks/losses.ts";
export { stopGradient } from "./src/methods/blocks/ops.ts";
export { Generator, type GeneratorOptions } from "./src/methods/blocks/generator.ts";
export { Encoder, type EncoderOptions } from "./src/methods/blocks/encoder.ts";
export { SpectralNorm } from "./src/methods/blocks/spectral_norm.ts";
export { BatchNorm, type BatchNormOptions } from "./src/methods/blocks/batch_norm.ts";
export { acquireJobLock, type JobLock, jobLockPath, readJobLock } from "./src/results/job_lock.ts";
export { type PlannedJobOutcome, runPlannedJob } from "./src/cluster/run_job.ts";
export { markRunFinished, readRunStatus, type RunStatus } from "./src/cluster/status.ts";
export { type SlurmOptions, slurmScripts } from "./src/cluster/slurm.ts";
