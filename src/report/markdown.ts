/**
 * `report.md`: the run's results as Markdown tables (paper-style mu / sigma^2 /
 * best per method and pair, across seeds), links to the curve charts, every
 * job and the environment.
 *
 * @module
 */
import type { ReportModel, Table } from "./tables.ts";

/**
 * Renders a table as Markdown (pipes in cells escaped).
 *
 * @example
 * ```ts
 * import { markdownTable } from "./markdown.ts";
 * console.log(markdownTable({ header: ["a", "b"], rows: [["1", "2"]] }));
 * ```
 */
export function markdownTable(table: Table): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const widths = table.header.map((h, i) =>
    Math.max(3, h.length, ...table.rows.map((r) => esc(r[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => esc(c).padEnd(widths[i] ?? 3)).join(" | ")} |`;
  return [
    line(table.header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...table.rows.map((r) => line(table.header.map((_, i) => r[i] ?? ""))),
  ].join("\n");
}

/**
 * The results part of the report (one table per pair): what `dfkd run`
 * prints when it finishes.
 *
 * @example
 * ```ts
 * import { resultsMarkdown } from "./markdown.ts";
 * import type { ReportModel } from "./tables.ts";
 * declare const model: ReportModel;
 * // console.log(resultsMarkdown(model));
 * ```
 */
export function resultsMarkdown(model: ReportModel): string {
  const parts: string[] = [];
  for (const n of model.notices) parts.push(`> **${n}**`);
  for (const p of model.pairs) parts.push(`### ${p.heading}`, markdownTable(p.results));
  return parts.join("\n\n");
}

/**
 * The whole `report.md`.
 *
 * @example
 * ```ts
 * import { reportMarkdown } from "./markdown.ts";
 * import type { ReportModel } from "./tables.ts";
 * declare const model: ReportModel;
 * // await Deno.writeTextFile("report.md", reportMarkdown(model));
 * ```
 */
export function reportMarkdown(model: ReportModel): string {
  const out: string[] = [`# ${model.title}`];
  for (const n of model.notices) out.push(`> **${n}**`);
  if (model.description) out.push(model.description);
  out.push(model.facts.map(([k, v]) => `- **${k}:** ${v}`).join("\n"));
  out.push("## Results", model.legend);
  for (const p of model.pairs) {
    out.push(`### ${p.heading}`, markdownTable(p.results));
    if (p.chartFile) {
      out.push(
        `![Accuracy curves of ${p.summary.pair}: mean across seeds, band from lowest to highest seed, dashed line the teacher](${p.chartFile})`,
      );
    }
    if (p.published) {
      out.push(`Published numbers (${p.published.source}):`, markdownTable(p.published.table));
    }
  }
  out.push("## Jobs", markdownTable(model.jobs));
  if (model.errors.length > 0) {
    out.push(
      "### Errors",
      model.errors.map(([id, e]) => `- \`${id}\`: ${e.replace(/\n/g, " ")}`).join("\n"),
    );
  }
  out.push(
    "## Environment",
    markdownTable({ header: ["", ""], rows: model.environment.map(([k, v]) => [k, v]) }),
  );
  return out.join("\n\n") + "\n";
}
