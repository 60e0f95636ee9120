/**
 * The run summary: per pair and method, each curve metric across seeds
 * (mean, std, 95% CI), replay memory, wall time and throughput; written as
 * `summary.csv` with csv-stringify.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import type { JobRecord } from "../results/records.ts";
import {
  type CurveMetrics,
  curveMetrics,
  SeedStats,
  seedStats,
  SUMMARISED_METRICS,
  summariseSeeds,
} from "../results/metrics.ts";
import type { RunResults } from "../results/load_run.ts";
import { numberText } from "../results/epochs_csv.ts";

/** One pair and method of a run, summarised across its seeds. */
export interface MethodSummary {
  /** Pair id. */
  pair: string;
  /** Method name. */
  method: string;
  /** Teacher architecture. */
  teacherArch: string;
  /** Student architecture. */
  studentArch: string;
  /** Teacher test accuracy in [0, 1]. */
  teacherAccuracy: number;
  /** Every job of the group (any status), in run order. */
  jobs: JobRecord[];
  /** The completed jobs (the ones the statistics use). */
  completed: JobRecord[];
  /** Curve metrics of each completed job. */
  perSeed: { seed: number; metrics: CurveMetrics }[];
  /** Each curve metric across completed seeds (absent when none completed). */
  stats?: ReturnType<typeof summariseSeeds>;
  /** Replay bytes at the end, across completed seeds. */
  replayBytes?: SeedStats;
  /** Wall seconds per job, across completed seeds. */
  wallSeconds?: SeedStats;
  /** Student images per wall second, across completed seeds. */
  imagesPerSecond?: SeedStats;
  /** Configuration hash shared by the group's jobs (the first job's). */
  configHash: string;
}

/** The pairs of a run in order, each with its methods' summaries. */
export interface PairSummary {
  /** Pair id. */
  pair: string;
  /** Teacher architecture. */
  teacherArch: string;
  /** Student architecture. */
  studentArch: string;
  /** Teacher test accuracy in [0, 1]. */
  teacherAccuracy: number;
  /** One entry per method, in run order. */
  methods: MethodSummary[];
}

/**
 * Groups a run's job records by pair and method and summarises each group
 * across seeds. Only completed jobs enter the statistics; the others are kept
 * in `jobs` so reports can list them with their status.
 *
 * @example
 * ```ts
 * import { summarisePairs } from "./summary.ts";
 * import type { RunResults } from "../results/load_run.ts";
 * declare const results: RunResults;
 * // for (const p of summarisePairs(results)) console.log(p.pair, p.methods.length);
 * ```
 */
export function summarisePairs(results: RunResults): PairSummary[] {
  const pairs = new Map<string, PairSummary>();
  const groups = new Map<string, MethodSummary>();
  for (const job of results.jobs) {
    let pair = pairs.get(job.pair);
    if (pair === undefined) {
      pair = {
        pair: job.pair,
        teacherArch: job.teacherArch,
        studentArch: job.studentArch,
        teacherAccuracy: job.teacherAccuracy,
        methods: [],
      };
      pairs.set(job.pair, pair);
    }
    const key = `${job.pair}\u0000${job.method}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        pair: job.pair,
        method: job.method,
        teacherArch: job.teacherArch,
        studentArch: job.studentArch,
        teacherAccuracy: job.teacherAccuracy,
        jobs: [],
        completed: [],
        perSeed: [],
        configHash: job.configHash,
      };
      groups.set(key, group);
      pair.methods.push(group);
    }
    group.jobs.push(job);
    if (job.status === "completed" && job.epochs.length > 0) {
      group.completed.push(job);
      group.perSeed.push({
        seed: job.seed,
        metrics: curveMetrics(job.epochs.map((e) => e.accuracy)),
      });
    }
  }
  for (const group of groups.values()) {
    if (group.completed.length === 0) continue;
    group.stats = summariseSeeds(group.perSeed.map((s) => s.metrics));
    group.replayBytes = seedStats(group.completed.map((j) => j.replayBytes));
    group.wallSeconds = seedStats(group.completed.map((j) => j.wallSeconds));
    group.imagesPerSecond = seedStats(group.completed.map((j) => j.imagesPerSecond));
  }
  return [...pairs.values()];
}

/** Metrics given in accuracy percent (sigma2 in percent squared). */
const PERCENT = new Set(["mu", "sigma", "peak", "final", "drop"]);

function metricColumn(metric: string): string {
  if (metric === "sigma2") return "sigma2_pct2";
  if (metric === "monotoneShare") return "monotone_share";
  return PERCENT.has(metric) ? `${metric}_pct` : metric;
}

function metricScale(metric: string): number {
  if (metric === "sigma2") return 1e4;
  return PERCENT.has(metric) ? 100 : 1;
}

/** The columns of `summary.csv`, in order. */
export const SUMMARY_COLUMNS: readonly string[] = [
  "benchmark",
  "run_id",
  "pair",
  "teacher",
  "student",
  "method",
  "teacher_accuracy_pct",
  "jobs",
  "completed",
  "epochs",
  ...SUMMARISED_METRICS.flatMap((m) =>
    ["mean", "std", "ci_low", "ci_high"].map((s) => `${metricColumn(m)}_${s}`)
  ),
  "replay_bytes_mean",
  "wall_seconds_mean",
  "images_per_second_mean",
  "scaled",
  "smoke",
  "config_hash",
];

/**
 * `summary.csv`: one row per pair and method. Accuracy metrics are in percent
 * (`_pct`; sigma^2 in percent squared, `_pct2`), each with its mean, sample
 * std and 95% CI across completed seeds; empty cells when no seed completed.
 *
 * @example
 * ```ts
 * import { summaryCsv } from "./summary.ts";
 * import type { RunResults } from "../results/load_run.ts";
 * declare const results: RunResults;
 * // await Deno.writeTextFile("summary.csv", summaryCsv(results));
 * ```
 */
export function summaryCsv(results: RunResults): string {
  const rows: (string | number)[][] = [];
  for (const pair of summarisePairs(results)) {
    for (const g of pair.methods) {
      const row: (string | number)[] = [
        results.run.benchmark,
        results.run.runId,
        g.pair,
        g.teacherArch,
        g.studentArch,
        g.method,
        g.teacherAccuracy * 100,
        g.jobs.length,
        g.completed.length,
        g.perSeed[0]?.metrics.epochs ?? "",
      ];
      for (const m of SUMMARISED_METRICS) {
        const s = g.stats?.[m];
        const k = metricScale(m);
        row.push(
          ...(s === undefined
            ? ["", "", "", ""]
            : [s.mean * k, s.std * k, s.ciLow * k, s.ciHigh * k]),
        );
      }
      row.push(
        g.replayBytes?.mean ?? "",
        g.wallSeconds?.mean ?? "",
        g.imagesPerSecond?.mean ?? "",
        String(g.jobs.some((j) => j.scaled)),
        String(results.run.smoke),
        g.configHash,
      );
      rows.push(row);
    }
  }
  return stringify([SUMMARY_COLUMNS as string[], ...rows], { cast: { number: numberText } });
}
