/**
 * Noise-aware comparison of two runs of one benchmark (a baseline and a
 * candidate), per teacher/student pair x method.
 *
 * Metrics and directions: expected accuracy `mu`, `peak` and `final` are
 * higher-is-better; `drop` (peak - final) and `wallPerEpoch` (wall seconds per
 * epoch) are lower-is-better. Each metric is compared on its per-seed values
 * (completed seeds only):
 *
 * - with at least 2 seeds on both sides, a one-sided Welch t-test at `alpha`
 *   (default 0.05) in the "worse" direction, and the observed effect must be
 *   at least the minimum effect: `minEffect` accuracy points (default 1) for
 *   accuracy metrics, `minTimeEffect` percent of the baseline (default 10) for
 *   time. Both must hold for a regression; the mirrored test names an
 *   improvement;
 * - with one seed on either side, the plain threshold: the effect alone.
 *
 * Only "gated" metrics (default `mu` and `wallPerEpoch`) make a regression;
 * the others are tested and shown for information. A seed that completed in
 * the baseline but failed or diverged in the candidate is a regression too.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";
import {
  comparabilityKey,
  type PairMethodSummary,
  type RunSummary,
  type SeedSummary,
} from "./run_summary.ts";
import { SPEC_DEFAULTS } from "../bench/spec.ts";
import { welchTest } from "./welch.ts";

/** A compared metric. */
export type MetricName = "mu" | "peak" | "final" | "drop" | "wallPerEpoch";

/** Every compared metric, in table order. */
export const COMPARED_METRICS: readonly MetricName[] = [
  "mu",
  "peak",
  "final",
  "drop",
  "wallPerEpoch",
];

/** Which way is better for each metric, and whether it is an accuracy or a time. */
export const METRIC_INFO: Record<
  MetricName,
  { better: "higher" | "lower"; kind: "accuracy" | "time"; label: string }
> = {
  mu: { better: "higher", kind: "accuracy", label: "mu" },
  peak: { better: "higher", kind: "accuracy", label: "peak" },
  final: { better: "higher", kind: "accuracy", label: "final" },
  drop: { better: "lower", kind: "accuracy", label: "drop" },
  wallPerEpoch: { better: "lower", kind: "time", label: "s/epoch" },
};

/** Defaults of {@linkcode CompareSettings}. */
export const DEFAULT_COMPARE_SETTINGS: CompareSettings = {
  ...SPEC_DEFAULTS.regression,
  gate: ["mu", "wallPerEpoch"],
  allowDifferentEnv: false,
  allowEmpty: false,
};

/** How a comparison decides. */
export interface CompareSettings {
  /** Significance level of the one-sided Welch test. */
  alpha: number;
  /** Minimum accuracy effect in accuracy points (1 = one point, 0.01 in [0, 1] units). */
  minEffect: number;
  /** Minimum time effect in percent of the baseline's mean. */
  minTimeEffect: number;
  /** Metrics whose regressions count (exit code 1); the others are informational. */
  gate: MetricName[];
  /** Compare runs of different machines or backends (with a warning) instead of refusing. */
  allowDifferentEnv: boolean;
  /**
   * Accept a comparison that compared nothing (no pair x method with a
   * compared metric on both sides) as a pass; by default it is an error
   * (exit 2), so a gate never passes by comparing nothing.
   */
  allowEmpty: boolean;
}

/** Where each setting came from. */
export type SettingSource = "flag" | "benchmark" | "default";

/** Per-side statistics of one metric. */
export interface SideStats {
  /** Completed seeds with a value. */
  n: number;
  /** Mean (NaN when n is 0). */
  mean: number;
  /** Sample standard deviation (0 when n < 2). */
  std: number;
  /** The per-seed values, by ascending seed. */
  values: number[];
}

/** Outcome of one metric. */
export type Verdict = "regression" | "improved" | "unchanged" | "not-compared";

/** One metric of one pair x method. */
export interface MetricComparison {
  /** Metric. */
  metric: MetricName;
  /** Better direction. */
  better: "higher" | "lower";
  /** Whether a regression of this metric counts. */
  gated: boolean;
  /** Baseline statistics. */
  baseline: SideStats;
  /** Candidate statistics. */
  candidate: SideStats;
  /** candidate mean - baseline mean, in the metric's units ([0, 1] accuracy or seconds). */
  delta: number;
  /**
   * How much worse the candidate is, in effect units: accuracy points for
   * accuracy metrics, percent of the baseline for time. Negative when better.
   */
  worsening: number;
  /** Minimum effect applied, in the same units as `worsening`. */
  minEffect: number;
  /** `welch` with 2+ seeds on both sides, `threshold` otherwise, `none` when a side has no value. */
  test: "welch" | "threshold" | "none";
  /** One-sided p-value that the candidate is worse (Welch only). */
  pWorse: number | null;
  /** One-sided p-value that the candidate is better (Welch only). */
  pBetter: number | null;
  /** Welch t statistic (baseline - candidate, oriented so positive is worse), or null. */
  t: number | null;
  /** Welch degrees of freedom, or null. */
  df: number | null;
  /** The decision. */
  verdict: Verdict;
}

/** One pair x method present on both sides. */
export interface PairMethodComparison {
  /** Pair id. */
  pair: string;
  /** Method. */
  method: string;
  /** Per metric, in {@linkcode COMPARED_METRICS} order. */
  metrics: MetricComparison[];
  /** Seeds that completed in the baseline but failed or diverged in the candidate. */
  statusRegressions: string[];
  /** Other observations (seed sets, configuration or budget differences, incomplete seeds). */
  notes: string[];
  /** True when a gated metric regressed or a seed newly failed. */
  regression: boolean;
}

/** Identity of one side of a comparison: the summary's identity fields and what the user gave. */
export interface SideInfo
  extends Pick<RunSummary, "runId" | "commit" | "dirty" | "date" | "machine" | "backend"> {
  /** What the user gave (folder path or history reference). */
  label: string;
}

/** One regression, for the summary. */
export interface RegressionItem {
  /** Pair id. */
  pair: string;
  /** Method. */
  method: string;
  /** Metric, or `status` for seeds that newly failed. */
  metric: MetricName | "status";
  /** A sentence describing it. */
  detail: string;
}

/** A whole comparison. */
export interface Comparison {
  /** Benchmark name. */
  benchmark: string;
  /** Baseline identity. */
  baseline: SideInfo;
  /** Candidate identity. */
  candidate: SideInfo;
  /** Settings used. */
  settings: CompareSettings;
  /** Where each numeric setting came from. */
  settingSources: { alpha: SettingSource; minEffect: SettingSource; minTimeEffect: SettingSource };
  /** Loud warnings (different environments, dirty trees, ...). */
  warnings: string[];
  /** Informational notes (dependency versions, ...). */
  notes: string[];
  /** Pairs x methods present on both sides. */
  rows: PairMethodComparison[];
  /** Pairs x methods only in the baseline (not compared). */
  onlyInBaseline: { pair: string; method: string }[];
  /** Pairs x methods only in the candidate (not compared). */
  onlyInCandidate: { pair: string; method: string }[];
  /** Every regression found. */
  regressions: RegressionItem[];
  /** True when any regression was found. */
  regression: boolean;
  /** Pairs x methods with at least one metric compared on both sides. */
  compared: number;
}

/**
 * Why `c` compared nothing (a sentence naming what each side had), or
 * undefined when it compared at least one pair x method. A gate treats a
 * comparison of nothing as an error unless `settings.allowEmpty`.
 *
 * @example
 * ```ts
 * import { nothingCompared, type Comparison } from "./compare.ts";
 * declare const c: Comparison;
 * // if (nothingCompared(c) !== undefined && !c.settings.allowEmpty) Deno.exit(2);
 * ```
 */
export function nothingCompared(c: Comparison): string | undefined {
  if (c.compared > 0) return undefined;
  const list = (l: { pair: string; method: string }[]) =>
    l.length === 0 ? "none" : l.map((x) => `${x.pair} / ${x.method}`).join(", ");
  const why = c.rows.length > 0
    ? `the ${c.rows.length} pair x method on both sides have no completed seeds to compare`
    : `no pair x method is on both sides (only in the baseline: ${
      list(c.onlyInBaseline)
    }; only in the candidate: ${list(c.onlyInCandidate)})`;
  return `Nothing was compared between ${c.baseline.label} and ${c.candidate.label}: ${why}; ` +
    `a gate that compares nothing fails (pass --allow-empty to accept it)`;
}

/** Setting overrides (from flags). */
export type CompareOverrides = Partial<CompareSettings>;

/**
 * Compares `candidate` against `baseline`. Throws a `UserError` (exit code 2)
 * for mismatched benchmarks, a smoke run against a full one, or runs of
 * different machines/backends unless `allowDifferentEnv`.
 *
 * @example
 * ```ts
 * import { compareRuns } from "./compare.ts";
 * import { summariseResults } from "./run_summary.ts";
 * const base = await summariseResults("results/mnist-lenet5-quick/run-a");
 * const cand = await summariseResults("results/mnist-lenet5-quick/run-b");
 * const c = compareRuns(base, cand, { labels: ["run-a", "run-b"] });
 * console.log(c.regression ? "regression" : "clean");
 * ```
 */
export function compareRuns(
  baseline: RunSummary,
  candidate: RunSummary,
  options: { overrides?: CompareOverrides; labels?: [string, string] } = {},
): Comparison {
  const overrides = options.overrides ?? {};
  const [baseLabel, candLabel] = options.labels ?? [baseline.runId, candidate.runId];
  if (baseline.benchmark !== candidate.benchmark) {
    throw new UserError(
      `Mismatched benchmarks: the baseline (${baseLabel}) is "${baseline.benchmark}" but the ` +
        `candidate (${candLabel}) is "${candidate.benchmark}"; compare two runs of one benchmark`,
    );
  }
  if (baseline.smoke !== candidate.smoke) {
    const smoky = baseline.smoke ? baseLabel : candLabel;
    throw new UserError(
      `Mismatched budgets: ${smoky} is a --smoke run and the other is not; ` +
        `compare two smoke runs or two full runs`,
    );
  }
  const { settings, sources } = resolveSettings(baseline, candidate, overrides);
  const warnings: string[] = [];
  const notes: string[] = [];
  environmentChecks(baseline, candidate, [baseLabel, candLabel], settings, warnings, notes);

  const { rows, onlyInBaseline, onlyInCandidate } = matchEntries(baseline, candidate, settings);
  warnings.push(...unfinishedWarnings(baseline, candidate));
  const regressions = collectRegressions(rows);
  return {
    benchmark: baseline.benchmark,
    baseline: sideInfo(baseline, baseLabel),
    candidate: sideInfo(candidate, candLabel),
    settings,
    settingSources: sources,
    warnings,
    notes,
    rows,
    onlyInBaseline,
    onlyInCandidate,
    regressions,
    regression: regressions.length > 0,
    compared: rows.filter((r) => r.metrics.some((m) => m.verdict !== "not-compared")).length,
  };
}

/** Pairs the two runs' pair x method entries and compares each pair (sorted by pair, method). */
function matchEntries(baseline: RunSummary, candidate: RunSummary, settings: CompareSettings): {
  rows: PairMethodComparison[];
  onlyInBaseline: { pair: string; method: string }[];
  onlyInCandidate: { pair: string; method: string }[];
} {
  const byKey = (s: RunSummary) =>
    new Map(s.entries.map((e) => [`${e.pair}\u0000${e.method}`, e] as const));
  const baseMap = byKey(baseline);
  const candMap = byKey(candidate);
  const rows: PairMethodComparison[] = [];
  const onlyInBaseline: { pair: string; method: string }[] = [];
  const onlyInCandidate: { pair: string; method: string }[] = [];
  for (const [key, b] of baseMap) {
    const c = candMap.get(key);
    if (c === undefined) onlyInBaseline.push({ pair: b.pair, method: b.method });
    else rows.push(comparePairMethod(b, c, settings));
  }
  for (const [key, c] of candMap) {
    if (!baseMap.has(key)) onlyInCandidate.push({ pair: c.pair, method: c.method });
  }
  rows.sort((a, b) => a.pair.localeCompare(b.pair) || a.method.localeCompare(b.method));
  return { rows, onlyInBaseline, onlyInCandidate };
}

/** Warnings for a side that has not finished or lists jobs without a record. */
function unfinishedWarnings(baseline: RunSummary, candidate: RunSummary): string[] {
  const warnings: string[] = [];
  for (const [side, s] of [["baseline", baseline], ["candidate", candidate]] as const) {
    if (s.finished === false) {
      warnings.push(
        `The ${side} run ${s.runId} has not finished (no end time in run.json): it is still ` +
          `running or it died; its missing or incomplete jobs are not compared`,
      );
    }
    if (s.missingJobs.length > 0) {
      warnings.push(
        `The ${side} lists jobs without a record (not compared): ${s.missingJobs.join(", ")}`,
      );
    }
  }
  return warnings;
}

/** The status regressions and the gated metric regressions of every row. */
function collectRegressions(rows: readonly PairMethodComparison[]): RegressionItem[] {
  const regressions: RegressionItem[] = [];
  for (const row of rows) {
    for (const detail of row.statusRegressions) {
      regressions.push({ pair: row.pair, method: row.method, metric: "status", detail });
    }
    for (const m of row.metrics) {
      if (m.gated && m.verdict === "regression") {
        regressions.push({
          pair: row.pair,
          method: row.method,
          metric: m.metric,
          detail: describeRegression(m),
        });
      }
    }
  }
  return regressions;
}

function sideInfo(s: RunSummary, label: string): SideInfo {
  return {
    label,
    runId: s.runId,
    commit: s.commit,
    dirty: s.dirty,
    date: s.date,
    machine: s.machine,
    backend: s.backend,
  };
}

function resolveSettings(
  baseline: RunSummary,
  candidate: RunSummary,
  overrides: CompareOverrides,
): { settings: CompareSettings; sources: Comparison["settingSources"] } {
  // The candidate's benchmark file (the newer code's) states the thresholds;
  // the baseline's is the fallback.
  const fromFile = { ...baseline.regression, ...candidate.regression };
  const pick = (name: "alpha" | "minEffect" | "minTimeEffect"): [number, SettingSource] => {
    const o = overrides[name];
    if (o !== undefined) return [o, "flag"];
    const f = fromFile[name];
    if (f !== undefined) return [f, "benchmark"];
    return [DEFAULT_COMPARE_SETTINGS[name], "default"];
  };
  const [alpha, alphaSrc] = pick("alpha");
  const [minEffect, minEffectSrc] = pick("minEffect");
  const [minTimeEffect, minTimeSrc] = pick("minTimeEffect");
  return {
    settings: {
      alpha,
      minEffect,
      minTimeEffect,
      gate: overrides.gate ?? [...DEFAULT_COMPARE_SETTINGS.gate],
      allowDifferentEnv: overrides.allowDifferentEnv ?? false,
      allowEmpty: overrides.allowEmpty ?? false,
    },
    sources: { alpha: alphaSrc, minEffect: minEffectSrc, minTimeEffect: minTimeSrc },
  };
}

function environmentChecks(
  b: RunSummary,
  c: RunSummary,
  [bl, cl]: [string, string],
  settings: CompareSettings,
  warnings: string[],
  notes: string[],
): void {
  const bk = comparabilityKey(b);
  const ck = comparabilityKey(c);
  if (bk !== ck) {
    const what = b.machine !== c.machine && b.backend !== c.backend
      ? "machines and backends"
      : b.machine !== c.machine
      ? "machines"
      : "backends";
    if (!settings.allowDifferentEnv) {
      throw new UserError(
        `Runs of different ${what} are not comparable: the baseline (${bl}) ran on ${bk} and ` +
          `the candidate (${cl}) on ${ck} (machine/backend). Compare runs of one machine and ` +
          `backend, or pass --allow-different-env to compare anyway`,
      );
    }
    warnings.push(
      `DIFFERENT ${what.toUpperCase()}: the baseline ran on ${bk}, the candidate on ${ck}. ` +
        `Wall times are not comparable across machines, and accuracies can differ by backend; ` +
        `a "regression" here may be the environment, not the code`,
    );
  }
  const eb = b.environment;
  const ec = c.environment;
  if (eb.hostname !== ec.hostname && b.machine === c.machine) {
    warnings.push(
      `Host names differ (${eb.hostname}, ${ec.hostname}) but both runs are labelled machine ` +
        `"${b.machine}": wall times are only comparable if those hosts are alike`,
    );
  }
  if (eb.cpuModel !== ec.cpuModel) {
    warnings.push(`CPU models differ: "${eb.cpuModel}" vs "${ec.cpuModel}"`);
  }
  if (eb.threads !== ec.threads) {
    warnings.push(`Backend threads differ: ${eb.threads} vs ${ec.threads}`);
  }
  if (eb.simd !== ec.simd) warnings.push(`SIMD differs: ${eb.simd} vs ${ec.simd}`);
  for (const [side, s] of [["baseline", b], ["candidate", c]] as const) {
    if (s.dirty) {
      warnings.push(
        `The ${side} ran on a tree with uncommitted changes (commit ${
          s.commit.slice(0, 12)
        } is not the whole story)`,
      );
    }
  }
  for (const field of ["deno", "tfjs", "tfjsBackendWasm", "os"] as const) {
    if (eb[field] !== ec[field]) notes.push(`${field} changed: ${eb[field]} -> ${ec[field]}`);
  }
  if (b.runId === c.runId && bk === ck) notes.push(`Both sides are the same run (${b.runId})`);
}

function comparePairMethod(
  b: PairMethodSummary,
  c: PairMethodSummary,
  settings: CompareSettings,
): PairMethodComparison {
  const notes: string[] = [];
  const statusRegressions: string[] = [];
  const bySeed = new Map(b.seeds.map((s) => [s.seed, s] as const));
  for (const s of c.seeds) {
    const before = bySeed.get(s.seed);
    const baseOk = before === undefined ? b.status === "completed" : before.status === "completed";
    if (s.status === "failed" || s.status === "diverged") {
      const what = s.status === "diverged" ? "diverged" : "failed";
      if (baseOk) {
        statusRegressions.push(
          `seed ${s.seed} ${what} in the candidate but completed in the baseline`,
        );
      } else notes.push(`seed ${s.seed} ${what} on both sides`);
    } else if (s.status !== "completed") {
      notes.push(`seed ${s.seed} is ${s.status} in the candidate (not compared)`);
    }
  }
  for (const s of b.seeds) {
    if (s.status !== "completed") notes.push(`seed ${s.seed} is ${s.status} in the baseline`);
  }
  const seedList = (p: PairMethodSummary) => p.seeds.map((s) => s.seed).join(",");
  if (seedList(b) !== seedList(c)) {
    notes.push(`seeds differ: baseline ${seedList(b)}, candidate ${seedList(c)}`);
  } else if (b.configHashes.join() !== c.configHashes.join()) {
    notes.push("configuration differs (config hashes are not equal)");
  }
  const epochs = (p: PairMethodSummary) =>
    [...new Set(p.seeds.filter((s) => s.status === "completed").map((s) => s.epochs))].join("/");
  if (epochs(b) !== epochs(c) && epochs(b) !== "" && epochs(c) !== "") {
    notes.push(`epochs differ: baseline ${epochs(b)}, candidate ${epochs(c)}`);
  }
  if (b.scaled !== c.scaled) notes.push("one side ran a scaled budget, the other did not");
  const metrics = COMPARED_METRICS.map((m) => compareMetric(m, b.seeds, c.seeds, settings));
  const regression = statusRegressions.length > 0 ||
    metrics.some((m) => m.gated && m.verdict === "regression");
  return { pair: b.pair, method: b.method, metrics, statusRegressions, notes, regression };
}

function sideStats(seeds: readonly SeedSummary[], metric: MetricName): SideStats {
  const values = seeds
    .filter((s) => s.status === "completed")
    .map((s) => s[metric])
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  const n = values.length;
  const mean = n === 0 ? NaN : values.reduce((s, v) => s + v, 0) / n;
  const std = n < 2 ? 0 : Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { n, mean, std, values };
}

/** Floating-point slack when comparing an effect with its minimum. */
const EPS = 1e-9;

function compareMetric(
  metric: MetricName,
  baseSeeds: readonly SeedSummary[],
  candSeeds: readonly SeedSummary[],
  settings: CompareSettings,
): MetricComparison {
  const info = METRIC_INFO[metric];
  const baseline = sideStats(baseSeeds, metric);
  const candidate = sideStats(candSeeds, metric);
  const gated = settings.gate.includes(metric);
  const minEffect = info.kind === "time" ? settings.minTimeEffect : settings.minEffect;
  const base = {
    metric,
    better: info.better,
    gated,
    baseline,
    candidate,
    minEffect,
  };
  if (baseline.n === 0 || candidate.n === 0) {
    return {
      ...base,
      delta: NaN,
      worsening: NaN,
      test: "none",
      pWorse: null,
      pBetter: null,
      t: null,
      df: null,
      verdict: "not-compared",
    };
  }
  const delta = candidate.mean - baseline.mean;
  const sign = info.better === "higher" ? -1 : 1; // worsening has this sign of delta
  const worsening = info.kind === "time"
    ? (baseline.mean > 0 ? sign * delta / baseline.mean * 100 : sign * delta === 0 ? 0 : Infinity)
    : sign * delta * 100;
  const bigWorse = worsening >= minEffect - EPS;
  const bigBetter = -worsening >= minEffect - EPS && worsening < 0;
  if (baseline.n >= 2 && candidate.n >= 2) {
    // "Worse" means baseline > candidate for higher-is-better metrics.
    const worseAlt = info.better === "higher" ? "greater" : "less";
    const betterAlt = worseAlt === "greater" ? "less" : "greater";
    const worse = welchTest(baseline.values, candidate.values, worseAlt);
    const better = welchTest(baseline.values, candidate.values, betterAlt);
    const verdict: Verdict = worse.p < settings.alpha && bigWorse
      ? "regression"
      : better.p < settings.alpha && bigBetter
      ? "improved"
      : "unchanged";
    return {
      ...base,
      delta,
      worsening,
      test: "welch",
      pWorse: worse.p,
      pBetter: better.p,
      t: info.better === "higher" ? worse.t : -worse.t,
      df: Number.isNaN(worse.df) ? null : worse.df,
      verdict,
    };
  }
  return {
    ...base,
    delta,
    worsening,
    test: "threshold",
    pWorse: null,
    pBetter: null,
    t: null,
    df: null,
    verdict: bigWorse && worsening > 0 ? "regression" : bigBetter ? "improved" : "unchanged",
  };
}

function describeRegression(m: MetricComparison): string {
  const info = METRIC_INFO[m.metric];
  const fmt = (v: number) =>
    info.kind === "time" ? `${v.toFixed(3)} s` : `${(v * 100).toFixed(2)}%`;
  const effect = info.kind === "time"
    ? `${m.worsening.toFixed(1)}% slower (minimum ${m.minEffect}%)`
    : `${m.worsening.toFixed(2)} points worse (minimum ${m.minEffect})`;
  const test = m.test === "welch"
    ? `Welch p = ${formatP(m.pWorse)} with ${m.baseline.n} vs ${m.candidate.n} seeds`
    : `threshold test, ${m.baseline.n} vs ${m.candidate.n} seed(s)`;
  return `${info.label} ${fmt(m.baseline.mean)} -> ${fmt(m.candidate.mean)}: ${effect}; ${test}`;
}

/**
 * Formats a p-value for tables: 3 significant digits, `<1e-6` below that.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatP } from "./compare.ts";
 * assert.equal(formatP(0.035242), "0.0352");
 * ```
 */
export function formatP(p: number | null): string {
  if (p === null) return "-";
  if (p < 1e-6) return "<1e-6";
  return p >= 0.001 ? p.toPrecision(3).replace(/0+$/, "").replace(/\.$/, "") : p.toExponential(1);
}
