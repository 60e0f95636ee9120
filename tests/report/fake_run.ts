/**
 * Hand-made run folders for report tests: a run record and job records with
 * curves the test chooses.
 *
 * @module
 */
import { join } from "node:path";
import type { JobConfig } from "../../src/results/records.ts";
import {
  type EpochRecord,
  JOB_RECORD_SCHEMA,
  type JobRecord,
  RUN_RECORD_SCHEMA,
  type RunRecord,
} from "../../src/results/records.ts";
import type { Environment } from "../../src/util/environment.ts";
import { testEnvironment } from "../bench/results_fixture.ts";

/** A fixed environment (no machine facts, so outputs are reproducible). */
export const FIXED_ENVIRONMENT: Environment = testEnvironment({ hostname: "testhost" });

/** One hand-made job: its method, seed, curve and status. */
export interface FakeJob {
  method: string;
  seed: number;
  accuracies: number[];
  status?: JobRecord["status"];
  error?: string;
  replayBytes?: number;
  pair?: string;
}

/** Writes a run folder with the given jobs under `dir` and returns the run folder. */
export async function writeFakeRun(
  dir: string,
  jobs: FakeJob[],
  options: { smoke?: boolean; scaled?: boolean } = {},
): Promise<string> {
  const runId = "20260101T000000Z-0123456";
  const runDir = join(dir, "fake", runId);
  await Deno.mkdir(join(runDir, "jobs"), { recursive: true });
  const records: JobRecord[] = jobs.map((j) => {
    const pair = j.pair ?? "lenet5-lenet5-half";
    const id = `${pair}__${j.method}__s${j.seed}`;
    const epochs: EpochRecord[] = j.accuracies.map((accuracy, epoch) => ({
      epoch,
      accuracy,
      losses: { student: 1 / (epoch + 1), generator: 0.5 },
      replayBytes: j.replayBytes ?? 0,
      counters: { novelImages: 100 },
      trainSeconds: 2,
      evalSeconds: 0.5,
    }));
    const config: JobConfig = {
      benchmark: "fake",
      dataset: "mnist",
      imageShape: [32, 32, 1],
      classes: 10,
      pair,
      teacher: { arch: "lenet5", source: "recipe", hash: "abc", path: "/tmp/teacher" },
      student: "lenet5-half",
      method: j.method,
      hyperparameters: {},
      budget: {
        epochs: j.accuracies.length,
        iterationsPerEpoch: 2,
        batchSize: 8,
        studentStepsPerIteration: 1,
      },
      evaluation: { batchSize: 100 },
      scaled: options.scaled ?? false,
      smoke: options.smoke ?? false,
    };
    const record: JobRecord = {
      schema: JOB_RECORD_SCHEMA,
      benchmark: "fake",
      runId,
      id,
      pair,
      teacherArch: "lenet5",
      studentArch: "lenet5-half",
      dataset: "mnist",
      method: j.method,
      seed: j.seed,
      config,
      configHash: `hash-${j.method}`,
      scaled: options.scaled ?? false,
      teacherAccuracy: 0.98,
      status: j.status ?? "completed",
      epochs,
      replayBytes: j.replayBytes ?? 0,
      wallSeconds: 2.5 * j.accuracies.length,
      imagesPerSecond: 40,
      environment: FIXED_ENVIRONMENT,
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:01:00.000Z",
    };
    if (j.error !== undefined) record.error = j.error;
    return record;
  });
  const run: RunRecord = {
    schema: RUN_RECORD_SCHEMA,
    benchmark: "fake",
    runId,
    benchmarkFile: "benchmarks/fake.json",
    benchmarkSource: { name: "fake", description: "A hand-made run." },
    tags: ["quick"],
    jobs: records.map((r) => r.id),
    smoke: options.smoke ?? false,
    scaled: options.scaled ?? false,
    environment: FIXED_ENVIRONMENT,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:02:00.000Z",
    options: { backend: "wasm", jobs: 2, dataRoot: "/data" },
  };
  await Deno.writeTextFile(join(runDir, "run.json"), JSON.stringify(run, null, 2));
  for (const r of records) {
    await Deno.writeTextFile(join(runDir, "jobs", `${r.id}.json`), JSON.stringify(r, null, 2));
  }
  return runDir;
}
