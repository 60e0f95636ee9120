/**
 * Small hand-made result records for regression-tracking tests: valid
 * JobRecords and RunRecords, and results folders written in the runner's
 * layout (`run.json`, `jobs/<job-id>.json`).
 */
import { join } from "node:path";
import {
  JOB_RECORD_SCHEMA,
  type JobRecord,
  type JobStatus,
  RUN_RECORD_SCHEMA,
  type RunRecord,
} from "../../src/results/records.ts";
import type { Environment } from "../../src/util/environment.ts";

/** An environment record for tests (host "test-host", wasm). */
export function testEnvironment(over: Partial<Environment> = {}): Environment {
  return {
    deno: "2.9.6",
    tfjs: "4.22.0",
    tfjsBackendWasm: "4.22.0",
    backend: "wasm",
    threads: 1,
    simd: true,
    cpuModel: "Test CPU",
    cpus: 2,
    hostname: "test-host",
    os: "linux-x86_64",
    gitCommit: "0123456789abcdef0123456789abcdef01234567",
    gitDirty: false,
    ...over,
  };
}

/** What a test states about one job. */
export interface JobSpec {
  pair?: string;
  method: string;
  seed: number;
  /** Per-epoch accuracies in [0, 1]. */
  accuracies: number[];
  /** Wall seconds of the job (default 2 per epoch). */
  wallSeconds?: number;
  status?: JobStatus;
}

/** A valid JobRecord for `spec`. */
export function makeJob(
  benchmark: string,
  runId: string,
  spec: JobSpec,
  env: Environment = testEnvironment(),
): JobRecord {
  const pair = spec.pair ?? "lenet5-lenet5half";
  const wall = spec.wallSeconds ?? 2 * spec.accuracies.length;
  const perEpoch = spec.accuracies.length === 0 ? 0 : wall / spec.accuracies.length;
  return {
    schema: JOB_RECORD_SCHEMA,
    benchmark,
    runId,
    id: `${pair}__${spec.method}__s${spec.seed}`,
    pair,
    teacherArch: "lenet5",
    studentArch: "lenet5-half",
    dataset: "mnist",
    method: spec.method,
    seed: spec.seed,
    config: { budget: { epochs: spec.accuracies.length }, seed: spec.seed },
    configHash: `hash-${spec.method}-${spec.seed}`,
    scaled: true,
    teacherAccuracy: 0.99,
    status: spec.status ?? "completed",
    epochs: spec.accuracies.map((accuracy, epoch) => ({
      epoch,
      accuracy,
      losses: { kd: 0.1 },
      replayBytes: 0,
      counters: {},
      trainSeconds: perEpoch * 0.9,
      evalSeconds: perEpoch * 0.1,
    })),
    replayBytes: 0,
    wallSeconds: wall,
    imagesPerSecond: 100,
    environment: env,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:01:00.000Z",
  };
}

/** What a test states about one run. */
export interface RunSpec {
  benchmark?: string;
  runId: string;
  startedAt?: string;
  env?: Environment;
  smoke?: boolean;
  benchmarkSource?: unknown;
  jobs: JobSpec[];
}

/** A valid RunRecord and its JobRecords for `spec`. */
export function makeRun(spec: RunSpec): { run: RunRecord; jobs: JobRecord[] } {
  const benchmark = spec.benchmark ?? "mnist-quick";
  const env = spec.env ?? testEnvironment();
  const jobs = spec.jobs.map((j) => makeJob(benchmark, spec.runId, j, env));
  const run: RunRecord = {
    schema: RUN_RECORD_SCHEMA,
    benchmark,
    runId: spec.runId,
    benchmarkFile: `benchmarks/${benchmark}.json`,
    benchmarkSource: spec.benchmarkSource ?? { name: benchmark, tags: ["nightly"] },
    tags: ["nightly"],
    jobs: jobs.map((j) => j.id),
    smoke: spec.smoke ?? false,
    environment: env,
    startedAt: spec.startedAt ?? "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:10:00.000Z",
  };
  return { run, jobs };
}

/** Writes `spec` as a results folder under `root` and returns its path. */
export async function writeResults(root: string, spec: RunSpec): Promise<string> {
  const { run, jobs } = makeRun(spec);
  const dir = join(root, run.benchmark, run.runId);
  await Deno.mkdir(join(dir, "jobs"), { recursive: true });
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(run, null, 2));
  for (const job of jobs) {
    await Deno.writeTextFile(join(dir, "jobs", `${job.id}.json`), JSON.stringify(job, null, 2));
  }
  return dir;
}

/**
 * A 5-epoch curve whose mean is exactly `mu` (a rise then a small decay, as
 * DFKD students do).
 */
export function curve(mu: number): number[] {
  const shape = [-0.04, 0.0, 0.03, 0.01, 0.0];
  return shape.map((d) => mu + d);
}

/** Jobs for `methods` x `seeds` with per-seed mu `mus[i]` and wall seconds `walls[i]`. */
export function jobs(
  methods: string[],
  mus: number[],
  walls?: number[],
): JobSpec[] {
  return methods.flatMap((method) =>
    mus.map((mu, i) => ({
      method,
      seed: i + 1,
      accuracies: curve(mu),
      ...(walls === undefined ? {} : { wallSeconds: walls[i] as number }),
    }))
  );
}
