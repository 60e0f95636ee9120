/**
 * Expanding a benchmark into jobs (pairs x seeds x methods) and the resolved
 * configuration each job records, with its hash.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { UserError } from "../util/errors.ts";
import type { JobConfig } from "../results/records.ts";
import type { ResolvedBenchmark, ResolvedMethod, ResolvedPair } from "./spec.ts";

/** One job to run: a pair, a method and a seed. */
export interface JobPlan {
  /** Job id `<pair>__<method>__s<seed>` (also its file name). */
  id: string;
  /** The pair. */
  pair: ResolvedPair;
  /** The method with resolved hyperparameters. */
  method: ResolvedMethod;
  /** The seed. */
  seed: number;
}

/** Which jobs to keep (`--methods`, `--seeds`). */
export interface JobFilter {
  /** Only these methods (each must be in the file). */
  methods?: readonly string[];
  /** These seeds instead of the file's. */
  seeds?: readonly number[];
}

/**
 * The job id of a pair, method and seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jobId } from "./job_plan.ts";
 * assert.equal(jobId("lenet5-lenet5-half", "pre-dfkd", 0), "lenet5-lenet5-half__pre-dfkd__s0");
 * ```
 */
export function jobId(pair: string, method: string, seed: number): string {
  return `${pair}__${method}__s${seed}`;
}

/**
 * Expands a benchmark into jobs, ordered pair, then seed, then method, so the
 * methods of one seed finish close together and a partial run still compares
 * them. `--methods` must name methods of the file (a `UserError` otherwise).
 *
 * @example
 * ```ts
 * import { expandJobs } from "./job_plan.ts";
 * import type { ResolvedBenchmark } from "./spec.ts";
 * declare const benchmark: ResolvedBenchmark;
 * // const jobs = expandJobs(benchmark, { seeds: [0] });
 * ```
 */
export function expandJobs(benchmark: ResolvedBenchmark, filter: JobFilter = {}): JobPlan[] {
  let methods = benchmark.methods;
  if (filter.methods !== undefined) {
    const names = benchmark.methods.map((m) => m.method);
    const unknown = filter.methods.filter((m) => !names.includes(m));
    if (unknown.length > 0) {
      throw new UserError(
        `--methods: ${unknown.map((m) => `"${m}"`).join(", ")} ${
          unknown.length === 1 ? "is" : "are"
        } not in ${benchmark.file} (it runs ${names.join(", ")})`,
      );
    }
    methods = methods.filter((m) => filter.methods!.includes(m.method));
  }
  const seeds = filter.seeds ?? benchmark.seeds;
  const jobs: JobPlan[] = [];
  for (const pair of benchmark.pairs) {
    for (const seed of seeds) {
      for (const method of methods) {
        jobs.push({ id: jobId(pair.id, method.method, seed), pair, method, seed });
      }
    }
  }
  return jobs;
}

/**
 * JSON with object keys sorted at every level: equal values give equal text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "./job_plan.ts";
 * assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>).sort().map((
        k,
      ) => [k, (v as Record<string, unknown>)[k]]),
    );
  });
}

/**
 * SHA-256 (hex) of what decides a job's numbers: dataset, pair, teacher
 * identity, student, method, hyperparameters, budget, evaluation and smoke
 * flag. Machine-local paths, labels and the checkpoint period are left out, so
 * the same configuration hashes the same on every machine; the seed is left
 * out too, so the seeds of one configuration share a hash.
 *
 * @example
 * ```ts
 * import { configHash } from "./job_plan.ts";
 * import type { JobConfig } from "../results/records.ts";
 * declare const config: JobConfig;
 * // console.log(configHash(config).length); // 64
 * ```
 */
export function configHash(config: JobConfig): string {
  const identity = {
    dataset: config.dataset,
    imageShape: config.imageShape,
    classes: config.classes,
    pair: config.pair,
    teacher: {
      arch: config.teacher.arch,
      source: config.teacher.source,
      hash: config.teacher.hash,
    },
    student: config.student,
    method: config.method,
    hyperparameters: config.hyperparameters,
    budget: config.budget,
    evaluation: config.evaluation,
    smoke: config.smoke,
  };
  return createHash("sha256").update(canonicalJson(identity)).digest("hex");
}
