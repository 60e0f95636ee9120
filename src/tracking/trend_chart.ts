/**
 * The trend of one benchmark over its history (one machine/backend): a
 * metric per method over commits, as a table, a Vega-Lite chart rendered to
 * SVG without a browser (`vega` + `vega-lite`), and a self-contained HTML page.
 *
 * @module
 */
import * as vega from "vega";
import type { TopLevelSpec } from "vega-lite";
import { compile } from "vega-lite";
import { METRIC_INFO, type MetricName } from "./compare.ts";
import type { HistoryEntry } from "./history.ts";
import { seedStats } from "../results/metrics.ts";

/** One point of the trend: one entry x pair x method. */
export interface TrendPoint {
  /** Position of the entry in the trend (0 oldest). */
  index: number;
  /** Axis label: `#index commit7`. */
  label: string;
  /** Run id. */
  runId: string;
  /** Full commit. */
  commit: string;
  /** ISO run date. */
  date: string;
  /** Pair id. */
  pair: string;
  /** Method. */
  method: string;
  /** Completed seeds contributing. */
  n: number;
  /** Mean across seeds, in display units (percent for accuracy, seconds for time). */
  mean: number;
  /** Lower end of the 95% confidence interval (the mean for one seed). */
  low: number;
  /** Upper end of the 95% confidence interval (the mean for one seed). */
  high: number;
}

/**
 * Flattens history entries (already of one machine/backend, in date order)
 * into trend points of `metric`. `indices` gives each entry's index as history
 * references count it (default: its position in `entries`).
 *
 * @example
 * ```ts
 * import { trendPoints } from "./trend_chart.ts";
 * import type { HistoryEntry } from "./history.ts";
 * declare const entries: HistoryEntry[];
 * for (const p of trendPoints(entries, "mu")) console.log(p.label, p.method, p.mean);
 * ```
 */
export function trendPoints(
  entries: readonly HistoryEntry[],
  metric: MetricName,
  indices?: readonly number[],
): TrendPoint[] {
  const scale = METRIC_INFO[metric].kind === "time" ? 1 : 100;
  const points: TrendPoint[] = [];
  for (const [i, e] of entries.entries()) {
    const index = indices?.[i] ?? i;
    for (const row of e.entries) {
      const values = row.seeds
        .filter((s) => s.status === "completed")
        .map((s) => s[metric])
        .filter((v): v is number => v !== undefined && Number.isFinite(v))
        .map((v) => v * scale);
      if (values.length === 0) continue;
      const s = seedStats(values);
      points.push({
        index,
        label: `#${index} ${e.commit.slice(0, 7)}`,
        runId: e.runId,
        commit: e.commit,
        date: e.date,
        pair: row.pair,
        method: row.method,
        n: s.n,
        mean: s.mean,
        low: s.ciLow,
        high: s.ciHigh,
      });
    }
  }
  return points;
}

function axisTitle(metric: MetricName): string {
  const info = METRIC_INFO[metric];
  return info.kind === "time"
    ? "wall seconds per epoch (lower is better)"
    : `${info.label}, accuracy % (${info.better} is better)`;
}

/**
 * The Vega-Lite specification of the trend chart: per pair a panel, per
 * method a line of the mean across seeds with 95% confidence bars.
 *
 * @example
 * ```ts
 * import { trendSpec } from "./trend_chart.ts";
 * const spec = trendSpec([], "mu", "mnist-lenet5-quick on lab-1/wasm");
 * console.log(JSON.stringify(spec).length > 0);
 * ```
 */
export function trendSpec(points: readonly TrendPoint[], metric: MetricName, title: string) {
  const x = {
    field: "label",
    type: "ordinal",
    sort: { field: "index", op: "min" },
    title: "history entry (commit)",
    axis: { labelAngle: -40 },
  } as const;
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values: points.map((p) => ({ ...p })) },
    facet: { row: { field: "pair", type: "nominal", title: "pair" } },
    spec: {
      width: Math.max(320, Math.min(960, 48 * new Set(points.map((p) => p.index)).size)),
      height: 240,
      layer: [
        {
          mark: { type: "rule", opacity: 0.6 },
          encoding: {
            x,
            y: { field: "low", type: "quantitative", scale: { zero: false } },
            y2: { field: "high" },
            color: { field: "method", type: "nominal" },
          },
        },
        {
          mark: { type: "line", point: true },
          encoding: {
            x,
            y: {
              field: "mean",
              type: "quantitative",
              scale: { zero: false },
              title: axisTitle(metric),
            },
            color: { field: "method", type: "nominal", title: "method" },
            tooltip: [
              { field: "method" },
              { field: "runId" },
              { field: "commit" },
              { field: "date" },
              { field: "n", title: "seeds" },
              { field: "mean", format: ".3f" },
              { field: "low", format: ".3f", title: "95% CI low" },
              { field: "high", format: ".3f", title: "95% CI high" },
            ],
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
  return spec;
}

/**
 * Compiles a Vega-Lite spec and renders it to an SVG string (no browser, no canvas).
 *
 * @example
 * ```ts
 * import { renderSvg, trendSpec } from "./trend_chart.ts";
 * const svg = await renderSvg(trendSpec([], "mu", "empty"));
 * console.log(svg.startsWith("<svg"));
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The trend as a plain-text table: one row per entry, one column per
 * pair/method, `mean ±ci-half (n)`.
 *
 * @example
 * ```ts
 * import { trendTable, trendPoints } from "./trend_chart.ts";
 * import type { HistoryEntry } from "./history.ts";
 * declare const entries: HistoryEntry[];
 * console.log(trendTable(entries, trendPoints(entries, "mu"), "mu"));
 * ```
 */
export function trendTable(
  entries: readonly HistoryEntry[],
  points: readonly TrendPoint[],
  metric: MetricName,
  indices?: readonly number[],
): string {
  const rows = trendRows(entries, points, metric, indices);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)]
    .join("\n");
}

function trendRows(
  entries: readonly HistoryEntry[],
  points: readonly TrendPoint[],
  metric: MetricName,
  indices?: readonly number[],
): string[][] {
  const digits = METRIC_INFO[metric].kind === "time" ? 3 : 2;
  const columns = [...new Set(points.map((p) => `${p.pair} / ${p.method}`))].sort();
  const header = ["#", "date", "commit", "run", ...columns];
  const rows = [header];
  for (const [pos, e] of entries.entries()) {
    const i = indices?.[pos] ?? pos;
    const cells = columns.map((col) => {
      const p = points.find((q) => q.index === i && `${q.pair} / ${q.method}` === col);
      if (p === undefined) return "-";
      const half = (p.high - p.low) / 2;
      return `${p.mean.toFixed(digits)}${p.n > 1 ? ` ±${half.toFixed(digits)}` : ""} (${p.n})`;
    });
    rows.push([
      String(i),
      e.date.slice(0, 16).replace("T", " "),
      `${e.commit.slice(0, 7)}${e.dirty ? "+" : ""}`,
      e.runId,
      ...cells,
    ]);
  }
  return rows;
}

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * A self-contained HTML page: title, the SVG chart inline, and the table.
 *
 * @example
 * ```ts
 * import { trendHtml } from "./trend_chart.ts";
 * const html = trendHtml("Trend", "<svg></svg>", [["#", "date"], ["0", "2026-01-01"]]);
 * console.log(html.includes("<svg"));
 * ```
 */
export function trendHtml(title: string, svg: string, rows: string[][], notes: string[] = []) {
  const [head, ...body] = rows;
  const th = (head ?? []).map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const trs = body.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th{background:#f4f4f4}td:nth-child(-n+4){text-align:left}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${notes.map((n) => `<p>${escapeHtml(n)}</p>`).join("\n")}
${svg}
<h2>Values (mean ±95% CI half-width (seeds))</h2>
<table><thead><tr>${th}</tr></thead><tbody>
${trs}
</tbody></table>
</body></html>
`;
}

/** What {@linkcode renderTrend} produces. */
export interface TrendOutput {
  /** Trend points. */
  points: TrendPoint[];
  /** Plain-text table. */
  table: string;
  /** Vega-Lite specification. */
  spec: TopLevelSpec;
  /** Rendered SVG. */
  svg: string;
  /** Self-contained HTML page. */
  html: string;
}

/**
 * Builds the table, chart and page of a trend (entries of one machine/backend).
 *
 * @example
 * ```ts
 * import { renderTrend } from "./trend_chart.ts";
 * import type { HistoryEntry } from "./history.ts";
 * declare const entries: HistoryEntry[];
 * const t = await renderTrend(entries, "mu", "mnist-lenet5-quick on lab-1/wasm");
 * await Deno.writeTextFile("trend.svg", t.svg);
 * ```
 */
export async function renderTrend(
  entries: readonly HistoryEntry[],
  metric: MetricName,
  title: string,
  notes: string[] = [],
  indices?: readonly number[],
): Promise<TrendOutput> {
  const points = trendPoints(entries, metric, indices);
  const spec = trendSpec(points, metric, title);
  const svg = await renderSvg(spec);
  const table = trendTable(entries, points, metric, indices);
  const html = trendHtml(title, svg, trendRows(entries, points, metric, indices), notes);
  return { points, table, spec, svg, html };
}
