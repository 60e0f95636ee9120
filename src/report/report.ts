/**
 * Writes a run's reports from its records: `summary.csv`, `report.md`,
 * `report.html` and one `curves-<pair>.svg` per pair. The same records always
 * give the same files (no timestamps of their own), so `dfkd report` rebuilds
 * exactly what the run wrote.
 *
 * @module
 */
import { join } from "node:path";
import { RUN_LAYOUT } from "../results/records.ts";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { curveSpec, renderSvg } from "./charts.ts";
import { reportHtml } from "./html.ts";
import { reportMarkdown, resultsMarkdown } from "./markdown.ts";
import { loadRunResults, type RunResults } from "../results/load_run.ts";
import { epochsCsv } from "../results/epochs_csv.ts";
import { summaryCsv } from "./summary.ts";
import { buildReportModel, scaledNote } from "./tables.ts";

/** What {@linkcode writeReports} wrote. */
export interface WrittenReports {
  /** Paths written. */
  files: string[];
  /** The results tables as Markdown (for the terminal). */
  summary: string;
}

/**
 * Writes the reports of `results` into its folder (atomically).
 *
 * @example
 * ```ts
 * import { loadRunResults } from "../results/load_run.ts";
 * import { writeReports } from "./report.ts";
 * // const written = await writeReports(await loadRunResults("results/smoke/<run-id>"));
 * ```
 */
export async function writeReports(results: RunResults): Promise<WrittenReports> {
  const model = buildReportModel(results);
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    const path = join(results.dir, name);
    await writeTextFileAtomic(path, text);
    files.push(path);
  };
  await write(RUN_LAYOUT.summaryCsv, summaryCsv(results));
  // Per-epoch CSVs that are missing (deleted, or never written) are rebuilt from the records
  // (data files, not reports: not in `files`).
  for (const job of results.jobs) {
    const path = join(results.dir, RUN_LAYOUT.jobsDir, `${job.id}.csv`);
    try {
      await Deno.stat(path);
    } catch {
      await writeTextFileAtomic(path, epochsCsv(job));
    }
  }
  const charts = new Map<string, string>();
  const note = scaledNote(results);
  for (const section of model.pairs) {
    if (section.chartFile === undefined) continue;
    const svg = await renderSvg(curveSpec(section.summary, note));
    charts.set(section.chartFile, svg);
    await write(section.chartFile, svg);
  }
  await write(RUN_LAYOUT.reportMd, reportMarkdown(model));
  await write(RUN_LAYOUT.reportHtml, reportHtml(model, charts));
  return { files, summary: resultsMarkdown(model) };
}

/**
 * Reads a run folder and (re)writes its reports.
 *
 * @example
 * ```ts
 * import { rebuildReports } from "./report.ts";
 * // await rebuildReports("results/smoke/20260101T000000Z-abc1234");
 * ```
 */
export async function rebuildReports(dir: string): Promise<WrittenReports> {
  return writeReports(await loadRunResults(dir));
}
