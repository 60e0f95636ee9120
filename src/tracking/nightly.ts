/**
 * The nightly regression check: for every benchmark tagged `nightly`, run it
 * (through the runner), add the run to the history, compare it with the
 * previous comparable entry (same machine, backend and smoke flag), write a
 * report with trend charts, and say whether anything regressed.
 *
 * The run step is a function ({@linkcode RunStep}) so the CLI can run the
 * runner as a subprocess, and callers that already have results folders (a CI
 * job that ran `dfkd run` itself, or tests) can pass them in.
 *
 * @module
 */
import { basename, join } from "node:path";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { readBenchmarkHead } from "../bench/spec.ts";
import { UserError } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { formatComparisonMarkdown } from "./comparison_table.ts";
import { renderTrend } from "./trend_chart.ts";
import { type CompareOverrides, compareRuns, type Comparison, nothingCompared } from "./compare.ts";
import { machineLabel } from "./compare_input.ts";
import { addToHistory, type HistoryEntry, previousComparable } from "./history.ts";
import { comparabilityKey, type RunSummary, summariseResults } from "./run_summary.ts";

/** Default folder of nightly reports. */
export const DEFAULT_NIGHTLY_DIR = "results/nightly";

/** A benchmark file selected for the nightly run. */
export interface NightlyBenchmark {
  /** Path of the benchmark file. */
  file: string;
  /** Its `name` (the results folder's name). */
  name: string;
}

/**
 * Lists the benchmark files in `dir` whose `tags` include `nightly`, sorted by
 * file name. A file that is not JSON is a `UserError` naming it; the runner
 * validates the rest when it runs the file.
 *
 * @example
 * ```ts
 * import { findNightlyBenchmarks } from "./nightly.ts";
 * console.log(await findNightlyBenchmarks("benchmarks"));
 * ```
 */
export async function findNightlyBenchmarks(dir = "benchmarks"): Promise<NightlyBenchmark[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json") && e.name !== "schema.json") names.push(e.name);
    }
  } catch {
    throw new UserError(`Benchmark folder not found: ${dir}`);
  }
  names.sort();
  const out: NightlyBenchmark[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const b = await readBenchmarkHead(file);
    if (b.tags.includes("nightly")) out.push({ file, name: b.name });
  }
  return out;
}

/** What a run step returns. */
export interface RunStepResult {
  /** The results folder the run wrote, or undefined when it wrote none. */
  resultsDir?: string;
  /** The runner's exit code (0: every job completed). */
  exitCode: number;
}

/** Runs one benchmark and says where its results went. */
export type RunStep = (benchmark: NightlyBenchmark) => Promise<RunStepResult>;

/** Options of {@linkcode runNightly}. */
export interface NightlyOptions {
  /** The benchmarks to run with `runStep`. */
  benchmarks: NightlyBenchmark[];
  /** Runs a benchmark (the CLI spawns `dfkd run`). */
  runStep: RunStep;
  /** History folder. */
  historyDir: string;
  /** Where the report goes: `<outDir>/<stamp>/report.md` and `<outDir>/latest.md`. */
  outDir: string;
  /** Machine label (default: `DFKD_MACHINE` for runs of this host, else the host name). */
  machine?: string;
  /** Comparison settings from flags. */
  overrides?: CompareOverrides;
  /** Progress messages. */
  log: Logger;
  /** The report folder's time stamp (default now). */
  now?: Date;
}

/** The outcome for one benchmark. */
export interface NightlyBenchmarkResult {
  /** Benchmark name. */
  benchmark: string;
  /** Benchmark file. */
  file: string;
  /** Runner exit code. */
  runExitCode: number;
  /** Results folder (absent when the run wrote none). */
  resultsDir?: string;
  /** The run's summary (absent when the run wrote no results). */
  summary?: RunSummary;
  /** What the history add did. */
  history?: "added" | "unchanged" | "replaced";
  /** The previous comparable entry compared with. */
  previous?: HistoryEntry;
  /** The comparison (absent for a first entry or a run without results). */
  comparison?: Comparison;
  /** Trend chart files written. */
  charts: string[];
  /** Why something is missing or failed, one sentence each. */
  problems: string[];
  /** True when a regression was found. */
  regression: boolean;
  /** True when the run failed (no results, runner error or jobs not completed). */
  failed: boolean;
  /** True when the comparison compared nothing (an error unless `allowEmpty`). */
  nothingCompared?: boolean;
}

/** The outcome of a whole nightly run. */
export interface NightlyResult {
  /** Per benchmark. */
  results: NightlyBenchmarkResult[];
  /** The report folder. */
  reportDir: string;
  /** `report.md` path. */
  reportPath: string;
  /** 0 clean, 1 a regression or a failed run, 2 a comparison that compared nothing. */
  exitCode: number;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/**
 * Runs the nightly check (see the module documentation) and writes
 * `<outDir>/<stamp>/report.md`, `report.json`, `<benchmark>-trend.svg/.html`
 * and a copy of the report at `<outDir>/latest.md`.
 *
 * @example
 * ```ts
 * import { runNightly } from "./nightly.ts";
 * import { lineLogger } from "../util/logger.ts";
 * const r = await runNightly({
 *   benchmarks: [{ file: "benchmarks/mnist-lenet5-quick.json", name: "mnist-lenet5-quick" }],
 *   runStep: () => Promise.resolve({ resultsDir: "results/mnist-lenet5-quick/run-1", exitCode: 0 }),
 *   historyDir: "results/history",
 *   outDir: "results/nightly",
 *   log: lineLogger(),
 * });
 * Deno.exitCode = r.exitCode;
 * ```
 */
export async function runNightly(options: NightlyOptions): Promise<NightlyResult> {
  const now = options.now ?? new Date();
  const reportDir = join(options.outDir, stamp(now));
  const results: NightlyBenchmarkResult[] = [];
  for (const b of options.benchmarks) {
    options.log.info(`nightly: running ${b.name} (${b.file})`);
    results.push(await nightlyBenchmark(b, options, reportDir));
  }
  const reportPath = await writeNightlyReport(results, now, reportDir, options.outDir);
  const exitCode = results.some((r) => r.nothingCompared)
    ? 2
    : results.some((r) => r.regression || r.failed)
    ? 1
    : 0;
  return { results, reportDir, reportPath, exitCode };
}

/**
 * One benchmark of the nightly: run it, summarise its folder, add it to the
 * history, compare with the previous comparable entry, write its trend chart.
 */
async function nightlyBenchmark(
  b: NightlyBenchmark,
  options: NightlyOptions,
  reportDir: string,
): Promise<NightlyBenchmarkResult> {
  const r: NightlyBenchmarkResult = {
    benchmark: b.name,
    file: b.file,
    runExitCode: 0,
    charts: [],
    problems: [],
    regression: false,
    failed: false,
  };
  const step = await runStepOf(b, options, r);
  if (step.resultsDir === undefined) {
    r.failed = true;
    r.problems.push("the run wrote no results folder; nothing was added or compared");
    return r;
  }
  r.resultsDir = step.resultsDir;
  const raw = await summariseResults(step.resultsDir);
  const summary: RunSummary = { ...raw, machine: machineLabel(raw.environment, options.machine) };
  r.summary = summary;
  if (summary.entries.length === 0) {
    r.failed = true;
    r.nothingCompared = !options.overrides?.allowEmpty;
    r.problems.push(
      `${step.resultsDir} holds no job record (jobs/*.json): nothing was added to the history ` +
        `or compared`,
    );
    return r;
  }
  checkSummary(summary, b, r);
  const added = await addToHistory(options.historyDir, summary);
  r.history = added.status;
  options.log.info(
    `nightly: ${summary.benchmark} run ${summary.runId} ${added.status} in ${added.path}`,
  );
  const previous = previousComparable(added.entries, summary);
  if (previous === undefined) {
    r.problems.push(
      `first ${summary.smoke ? "smoke " : ""}entry for ${
        comparabilityKey(summary)
      } in the history: nothing to compare with yet`,
    );
  } else {
    r.previous = previous;
    r.comparison = compareRuns(previous, summary, {
      overrides: options.overrides ?? {},
      labels: [`history:${previous.benchmark}@${previous.runId}`, step.resultsDir],
    });
    r.regression = r.comparison.regression;
    const empty = nothingCompared(r.comparison);
    if (empty !== undefined && !r.comparison.settings.allowEmpty) {
      r.failed = true;
      r.nothingCompared = true;
      r.problems.push(empty);
    }
  }
  r.charts.push(...await writeTrend(added.entries, summary, reportDir));
  return r;
}

/** Runs the benchmark's step; its user errors and a non-zero exit are problems of `r`. */
async function runStepOf(
  b: NightlyBenchmark,
  options: NightlyOptions,
  r: NightlyBenchmarkResult,
): Promise<RunStepResult> {
  let step: RunStepResult;
  try {
    step = await options.runStep(b);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    step = { exitCode: error.exitCode };
    r.problems.push(error.message);
  }
  r.runExitCode = step.exitCode;
  if (step.exitCode !== 0) {
    r.failed = true;
    r.problems.push(`the runner exited with code ${step.exitCode}`);
  }
  return step;
}

/** A run of another benchmark, or one that did not complete, is a problem of `r`. */
function checkSummary(summary: RunSummary, b: NightlyBenchmark, r: NightlyBenchmarkResult): void {
  if (summary.benchmark !== b.name) {
    r.problems.push(
      `the results folder is of benchmark "${summary.benchmark}", not "${b.name}" (${b.file})`,
    );
  }
  const incomplete = summary.entries.filter((e) => e.status !== "completed");
  if (incomplete.length > 0 || !summary.finished) {
    r.failed = true;
    r.problems.push(
      summary.finished
        ? `jobs did not all complete: ${
          incomplete.map((e) => `${e.pair} / ${e.method} (${e.status})`).join(", ")
        }`
        : "the run has not finished (no end time in run.json)",
    );
  }
}

/** Writes the mu trend of the summary's comparable history entries (SVG and HTML). */
async function writeTrend(
  entries: readonly HistoryEntry[],
  summary: RunSummary,
  reportDir: string,
): Promise<string[]> {
  const sameKey = entries.filter((e) =>
    comparabilityKey(e) === comparabilityKey(summary) && e.smoke === summary.smoke
  );
  const trend = await renderTrend(
    sameKey,
    "mu",
    `${summary.benchmark}: mu on ${comparabilityKey(summary)}${
      summary.smoke ? " (smoke runs)" : ""
    }`,
  );
  const svg = join(reportDir, `${summary.benchmark}-trend.svg`);
  const html = join(reportDir, `${summary.benchmark}-trend.html`);
  await Deno.mkdir(reportDir, { recursive: true });
  await writeTextFileAtomic(svg, trend.svg);
  await writeTextFileAtomic(html, trend.html);
  return [svg, html];
}

/** Writes `report.md`, `report.json` and `<outDir>/latest.md`; returns the report's path. */
async function writeNightlyReport(
  results: NightlyBenchmarkResult[],
  now: Date,
  reportDir: string,
  outDir: string,
): Promise<string> {
  const markdown = nightlyMarkdown(results, now);
  const reportPath = join(reportDir, "report.md");
  await Deno.mkdir(reportDir, { recursive: true });
  await writeTextFileAtomic(reportPath, markdown);
  await writeTextFileAtomic(
    join(reportDir, "report.json"),
    JSON.stringify(
      {
        date: now.toISOString(),
        results: results.map(({ summary: _s, previous, ...rest }) => ({
          ...rest,
          ...(previous === undefined ? {} : { previousRunId: previous.runId }),
        })),
      },
      null,
      2,
    ) + "\n",
  );
  await writeTextFileAtomic(
    join(outDir, "latest.md"),
    markdown.replaceAll(
      /\]\(([^)/]+-trend\.(svg|html))\)/g,
      (_m, file) => `](${basename(reportDir)}/${file})`,
    ),
  );
  return reportPath;
}

/**
 * The nightly report in Markdown: a summary table, then per benchmark the
 * comparison, problems and trend chart.
 *
 * @example
 * ```ts
 * import { nightlyMarkdown } from "./nightly.ts";
 * console.log(nightlyMarkdown([], new Date()));
 * ```
 */
export function nightlyMarkdown(results: readonly NightlyBenchmarkResult[], now: Date): string {
  const regressions = results.filter((r) => r.regression).length;
  const failed = results.filter((r) => r.failed).length;
  const verdict = regressions === 0 && failed === 0 ? "no regression" : [
    regressions > 0 ? `${regressions} benchmark(s) REGRESSED` : "",
    failed > 0 ? `${failed} run(s) FAILED` : "",
  ].filter((s) => s !== "").join(", ");
  const out = [
    `# Nightly regression check, ${now.toISOString()}`,
    "",
    `**Result: ${verdict}.**`,
    "",
    "| benchmark | run | commit | machine/backend | compared with | result |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    const s = r.summary;
    const result = r.regression
      ? `**REGRESSION** (${r.comparison?.regressions.length ?? 0})`
      : r.failed
      ? "**FAILED**"
      : r.comparison
      ? "ok"
      : "first entry";
    out.push(
      `| ${r.benchmark} | ${s?.runId ?? "-"} | ${s ? s.commit.slice(0, 7) : "-"} | ${
        s ? comparabilityKey(s) : "-"
      } | ${
        r.previous ? `${r.previous.runId} (${r.previous.commit.slice(0, 7)})` : "-"
      } | ${result} |`,
    );
  }
  for (const r of results) {
    out.push("", `## ${r.benchmark}`, "");
    if (r.resultsDir) out.push(`Results: \`${r.resultsDir}\``, "");
    for (const p of r.problems) out.push(`- ${p}`);
    if (r.problems.length > 0) out.push("");
    if (r.comparison) out.push(formatComparisonMarkdown(r.comparison, "###"));
    const svg = r.charts.find((c) => c.endsWith(".svg"));
    if (svg) out.push(`![trend of ${r.benchmark}](${basename(svg)})`, "");
  }
  return out.join("\n") + "\n";
}
