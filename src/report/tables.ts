/**
 * The content of a run report as plain tables, rendered by both the Markdown
 * and the HTML report (so the two always say the same thing).
 *
 * @module
 */
import { dirname } from "node:path";
import { curveMetrics } from "../results/metrics.ts";
import type { JobConfig, JobRecord } from "../results/records.ts";
import {
  formatBytes,
  formatDuration,
  formatPercent,
  formatStat,
  formatTeacherPasses,
} from "./format.ts";
import { publishedFor, publishedRowsBeside } from "./published.ts";
import type { RunResults } from "../results/load_run.ts";
import { type PairSummary, summarisePairs } from "./summary.ts";

/** A table: a header row and body rows of cell text. */
export interface Table {
  /** Column titles. */
  header: string[];
  /** Rows of cells. */
  rows: string[][];
}

/** One pair's section of the report. */
export interface PairSection {
  /** The pair's summary. */
  summary: PairSummary;
  /** Heading, e.g. `resnet34 → resnet18 (teacher 95.12%)`. */
  heading: string;
  /** The paper-style results table. */
  results: Table;
  /** Published numbers for the same configuration, when known. */
  published?: { source: string; table: Table };
  /** File name of the curves SVG (`curves-<pair>.svg`), when any job completed. */
  chartFile?: string;
}

/** Everything a report shows. */
export interface ReportModel {
  /** Title line. */
  title: string;
  /** Warnings shown at the top (scaled, smoke, failed jobs). */
  notices: string[];
  /** Free text of the benchmark. */
  description: string;
  /** Key facts (dataset, budget, seeds, status, times) as label/value pairs. */
  facts: [string, string][];
  /** One section per pair. */
  pairs: PairSection[];
  /** What the columns mean. */
  legend: string;
  /** Every job with its status and metrics. */
  jobs: Table;
  /** Error messages of jobs that did not complete, by job id. */
  errors: [string, string][];
  /** The run's environment, label/value. */
  environment: [string, string][];
}

/** File name of a pair's curves chart. */
export function chartFileName(pair: string): string {
  return `curves-${pair.replace(/[^A-Za-z0-9._-]/g, "_")}.svg`;
}

/** The note shown with charts and headings when a run is scaled. */
export function scaledNote(results: RunResults): string | undefined {
  if (results.run.smoke) return "smoke run";
  const scaled = results.run.scaled ?? results.jobs.some((j) => j.scaled);
  return scaled ? "scaled" : undefined;
}

/**
 * Builds the {@linkcode ReportModel} of a run.
 *
 * @example
 * ```ts
 * import { buildReportModel } from "./tables.ts";
 * import type { RunResults } from "../results/load_run.ts";
 * declare const results: RunResults;
 * // const model = buildReportModel(results);
 * ```
 */
/**
 * The command that resumes an unfinished run: its benchmark file and the
 * flags that decide where and how it ran (results folder, data root, teacher
 * cache, backend, jobs), so it resumes the same folder with the same data.
 *
 * @example
 * ```ts
 * import { resumeHint } from "./tables.ts";
 * import type { RunResults } from "../results/load_run.ts";
 * declare const results: RunResults;
 * // resumeHint(results) === "deno task dfkd run b.json --out results --resume <id>"
 * ```
 */
export function resumeHint(results: RunResults): string {
  const { run } = results;
  // <out>/<benchmark>/<run-id>
  const out = dirname(dirname(results.dir));
  const o = run.options;
  const words = ["deno", "task", "dfkd", "run", run.benchmarkFile];
  if (run.smoke) words.push("--smoke");
  words.push("--out", out);
  if (o !== undefined) {
    words.push("--data-root", o.dataRoot);
    if (o.cacheDir !== undefined) words.push("--cache-dir", o.cacheDir);
    if (o.backend !== "auto") words.push("--backend", o.backend);
    if (o.jobs !== 1) words.push("--jobs", String(o.jobs));
  }
  words.push("--resume", run.runId);
  return words.map((w) =>
    /^[A-Za-z0-9_.,:\/=@+-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`
  )
    .join(" ");
}

export function buildReportModel(results: RunResults): ReportModel {
  const { run, jobs } = results;
  const config = jobs[0]?.config as Partial<JobConfig> | undefined;
  const jobRows = jobs.map((j) => jobRow(j));
  for (const id of results.missing) jobRows.push([id, "no record", "", "", "", "", "", "", "", ""]);
  return {
    title: `${run.benchmark}: run ${run.runId}`,
    notices: reportNotices(results),
    description: typeof (run.benchmarkSource as { description?: unknown })?.description === "string"
      ? (run.benchmarkSource as { description: string }).description
      : "",
    facts: reportFacts(results, config),
    pairs: summarisePairs(results).map((p) => pairSection(p, run, config)),
    legend: LEGEND,
    jobs: { header: JOB_HEADER, rows: jobRows },
    errors: jobs.filter((j) => j.error !== undefined).map((j) => [j.id, j.error as string]),
    environment: environmentFacts(results),
  };
}

/** What the report's columns mean. */
const LEGEND = "Accuracies in percent. mu: expected accuracy, the mean of the per-epoch test " +
  "accuracy; sigma^2: its variance over epochs (percent squared, as the PRE-DFKD paper " +
  "reports); best: the peak; drop: best - final; monotone: share of epochs not below the " +
  "previous one. Each cell is the mean across completed seeds ± the half-width of its " +
  "95% confidence interval (Student t). Replay memory: bytes held for replay at the end " +
  "(VAE parameters for pre-dfkd, stored images for memory-bank). Teacher / epoch: images x " +
  "passes through the teacher per epoch, forward + backward (k = 10^3, M = 10^6), to read a " +
  "comparison per unit of teacher compute as well as per epoch.";

/** Columns of the jobs table. */
const JOB_HEADER = [
  "job",
  "status",
  "epochs",
  "mu (%)",
  "sigma^2",
  "best (%) @ epoch",
  "final (%)",
  "replay memory",
  "wall",
  "images/s",
];

/** Columns of a pair's results table. */
const RESULTS_HEADER = [
  "method",
  "mu (%)",
  "sigma^2",
  "best (%)",
  "final (%)",
  "drop",
  "monotone",
  "replay memory",
  "wall / job",
  "images/s",
  "teacher / epoch",
  "seeds",
];

/** Warnings at the top: smoke or scaled, jobs that did not complete, an unfinished run. */
function reportNotices(results: RunResults): string[] {
  const { run, jobs } = results;
  const notices: string[] = [];
  const scaled = run.scaled ?? jobs.some((j) => j.scaled);
  if (run.smoke) {
    notices.push(
      `Smoke run: ${
        run.scaledLabel ?? "tiny budget"
      }. These numbers prove the wiring, not the methods.`,
    );
  } else if (scaled) {
    notices.push(
      `Scaled configuration: ${
        run.scaledLabel ?? "budget or networks scaled down from the paper's"
      }. Not comparable with the paper's numbers.`,
    );
  }
  const unfinished = jobs.filter((j) => j.status !== "completed");
  if (unfinished.length > 0 || results.missing.length > 0) {
    notices.push(
      `${
        unfinished.length + results.missing.length
      } of ${run.jobs.length} jobs did not complete; ` +
        "statistics use completed jobs only.",
    );
  }
  if (run.finishedAt === undefined) {
    const open = [
      ...jobs.filter((j) => !["completed", "diverged", "failed"].includes(j.status)).map((j) =>
        `${j.id} (${j.status}${
          j.checkpoint ? `, checkpoint after epoch ${j.checkpoint.epochsDone}` : ""
        })`
      ),
      ...results.missing.map((id) => `${id} (no record)`),
    ];
    notices.push(
      `Unfinished run${
        run.interruptedAt ? ` (interrupted ${run.interruptedAt})` : " (still running, or stopped)"
      }${open.length > 0 ? `; unfinished jobs: ${open.join(", ")}` : ""}. Resume it with ` +
        `\`${resumeHint(results)}\`.`,
    );
  }
  return notices;
}

/** Key facts: benchmark, run, dataset, budget, evaluation, seeds, jobs, times, teachers. */
function reportFacts(
  results: RunResults,
  config: Partial<JobConfig> | undefined,
): [string, string][] {
  const { run, jobs } = results;
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(j.status, (counts.get(j.status) ?? 0) + 1);
  const facts: [string, string][] = [];
  facts.push(["Benchmark", `${run.benchmark} (${run.benchmarkFile})`]);
  facts.push(["Run", run.runId]);
  if (config?.dataset) {
    const shape = config.imageShape ? ` ${config.imageShape.join("x")}` : "";
    facts.push(["Dataset", `${config.dataset} (${config.classes ?? "?"} classes,${shape})`]);
  }
  if (config?.budget) {
    const b = config.budget;
    facts.push([
      "Budget",
      `${b.epochs} epochs x ${b.iterationsPerEpoch} iterations, batch ${b.batchSize}, ` +
      `${b.studentStepsPerIteration} student steps per iteration`,
    ]);
  }
  if (config?.evaluation) {
    facts.push([
      "Evaluation",
      config.evaluation.subset === undefined
        ? "full test split after every epoch"
        : `${config.evaluation.subset} test images (fixed subset) after every epoch`,
    ]);
  }
  const seeds = [...new Set(jobs.map((j) => j.seed))];
  facts.push(["Seeds", `${seeds.join(", ")} (${seeds.length})`]);
  facts.push([
    "Jobs",
    `${run.jobs.length}: ${
      [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(", ") || "none recorded"
    }${results.missing.length ? `, ${results.missing.length} without a record` : ""}`,
  ]);
  if (run.tags.length) facts.push(["Tags", run.tags.join(", ")]);
  facts.push(["Started", run.startedAt]);
  if (run.finishedAt) {
    const wall = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
    facts.push(["Finished", `${run.finishedAt} (${formatDuration(wall)})`]);
  }
  for (const t of run.teachers ?? []) {
    facts.push([
      `Teacher (${t.pair})`,
      t.source === "pytorch"
        ? `${t.file ?? "PyTorch checkpoint"} sha256 ${t.hash}, ${t.arch}, ${
          formatPercent(t.testAccuracy)
        }% test accuracy, imported from PyTorch`
        : `${t.arch}, ${formatPercent(t.testAccuracy)}% test accuracy, ${
          t.source === "recipe" ? "trained by recipe" : "loaded from file"
        }, hash ${t.hash.slice(0, 12)}`,
    ]);
  }

  return facts;
}

/** A pair's section: heading, results table, chart and published numbers. */
function pairSection(
  p: PairSummary,
  run: RunResults["run"],
  config: Partial<JobConfig> | undefined,
): PairSection {
  const rows = p.methods.map((g) => [
    g.method,
    formatStat(g.stats?.mu, 100),
    formatStat(g.stats?.sigma2, 1e4),
    formatStat(g.stats?.peak, 100),
    formatStat(g.stats?.final, 100),
    formatStat(g.stats?.drop, 100),
    formatStat(g.stats?.monotoneShare, 1, 2),
    formatBytes(g.replayBytes?.mean),
    formatDuration(g.wallSeconds?.mean),
    g.imagesPerSecond === undefined ? "–" : g.imagesPerSecond.mean.toFixed(0),
    formatTeacherPasses(
      g.teacherImagesPerEpoch?.forward.mean,
      g.teacherImagesPerEpoch?.backward.mean,
    ),
    `${g.completed.length}/${g.jobs.length}`,
  ]);
  const section: PairSection = {
    summary: p,
    heading: `${p.pair}: ${p.teacherArch} → ${p.studentArch} (teacher ${
      formatPercent(p.teacherAccuracy)
    }%)`,
    results: { header: RESULTS_HEADER, rows },
  };
  if (p.methods.some((g) => g.completed.length > 0)) section.chartFile = chartFileName(p.pair);
  const published = config?.dataset
    ? publishedFor(config.dataset, p.teacherArch, p.studentArch)
    : undefined;
  if (published && !run.smoke) {
    section.published = {
      source: published.source,
      table: {
        header: ["method (paper)", "here", "mu (%)", "sigma^2", "best (%)"],
        rows: publishedRowsBeside(published.rows, p.methods.map((g) => g.method)),
      },
    };
  }
  return section;
}

/** The run's environment as label/value pairs. */
function environmentFacts(results: RunResults): [string, string][] {
  const { run, jobs } = results;
  const env = run.environment;
  const backends = [...new Set(jobs.map((j) => j.environment.backend))];
  return [
    ["Deno", env.deno],
    ["TensorFlow.js", `${env.tfjs} (wasm backend ${env.tfjsBackendWasm})`],
    [
      "Backend",
      `${backends.length ? backends.join(", ") : env.backend} (${
        jobs[0]?.environment.threads ?? env.threads
      } thread(s) per job${jobs[0]?.environment.simd === true ? ", SIMD" : ""}), ${
        run.options?.jobs ?? "?"
      } parallel job(s)`,
    ],
    ["CPU", `${env.cpuModel} (${env.cpus} logical)`],
    ["Host", `${env.hostname}, ${env.os}`],
    ["Git", `${env.gitCommit}${env.gitDirty ? " (uncommitted changes)" : ""}`],
  ];
}

function jobRow(j: JobRecord): string[] {
  const accuracies = j.epochs.map((e) => e.accuracy);
  const m = accuracies.length ? curveMetrics(accuracies) : undefined;
  const epochs = (j.config as Partial<JobConfig>)?.budget?.epochs;
  return [
    j.id,
    j.status === "diverged" && j.divergedAtEpoch !== undefined
      ? `diverged at epoch ${j.divergedAtEpoch + 1}`
      : j.status,
    `${j.epochs.length}${epochs === undefined ? "" : `/${epochs}`}`,
    formatPercent(m?.mu),
    m === undefined ? "–" : (m.sigma2 * 1e4).toFixed(2),
    m === undefined ? "–" : `${formatPercent(m.peak)} @ ${m.peakEpoch + 1}`,
    formatPercent(m?.final),
    formatBytes(j.replayBytes),
    formatDuration(j.wallSeconds),
    j.imagesPerSecond.toFixed(0),
  ];
}
