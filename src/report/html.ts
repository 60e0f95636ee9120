/**
 * `report.html`: a self-contained page (no external files or scripts) with
 * the results tables, the accuracy curves as inline SVG, every job and the
 * environment.
 *
 * @module
 */
import type { ReportModel, Table } from "./tables.ts";

/**
 * Escapes text for HTML.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./html.ts";
 * assert.equal(escapeHtml("a < b & c"), "a &lt; b &amp; c");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

function htmlTable(table: Table, className = ""): string {
  const head = table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = table.rows.map((r) =>
    `<tr>${table.header.map((_, i) => `<td>${escapeHtml(r[i] ?? "")}</td>`).join("")}</tr>`
  ).join("\n");
  return `<table${
    className ? ` class="${className}"` : ""
  }><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.5em 0.8em; margin: 0.5em 0; }
.legend { color: #555; max-width: 60em; } dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; }
dt { font-weight: 600; } dd { margin: 0; } .chart svg { max-width: 100%; height: auto; }
`;

/**
 * The whole `report.html`; `charts` maps a section's chart file name to its SVG.
 *
 * @example
 * ```ts
 * import { reportHtml } from "./html.ts";
 * import type { ReportModel } from "./tables.ts";
 * declare const model: ReportModel;
 * // await Deno.writeTextFile("report.html", reportHtml(model, new Map()));
 * ```
 */
export function reportHtml(model: ReportModel, charts: ReadonlyMap<string, string>): string {
  const out: string[] = [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(model.title)}</title>`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(model.title)}</h1>`,
  ];
  for (const n of model.notices) out.push(`<p class="notice">${escapeHtml(n)}</p>`);
  if (model.description) out.push(`<p>${escapeHtml(model.description)}</p>`);
  out.push(
    `<dl>${
      model.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")
    }</dl>`,
  );
  out.push(`<h2>Results</h2>`, `<p class="legend">${escapeHtml(model.legend)}</p>`);
  for (const p of model.pairs) {
    out.push(`<h3>${escapeHtml(p.heading)}</h3>`, htmlTable(p.results));
    const svg = p.chartFile === undefined ? undefined : charts.get(p.chartFile);
    if (svg !== undefined) {
      out.push(
        `<figure class="chart">${svg}<figcaption>Student test accuracy per epoch: the mean across seeds (line), the lowest to highest seed (band), the teacher (dashed).</figcaption></figure>`,
      );
    }
    if (p.published) {
      out.push(
        `<p>Published numbers (${escapeHtml(p.published.source)}):</p>`,
        htmlTable(p.published.table),
      );
    }
  }
  out.push(`<h2>Jobs</h2>`, htmlTable(model.jobs));
  if (model.errors.length > 0) {
    out.push(
      `<h3>Errors</h3><ul>${
        model.errors.map(([id, e]) => `<li><code>${escapeHtml(id)}</code>: ${escapeHtml(e)}</li>`)
          .join("")
      }</ul>`,
    );
  }
  out.push(
    `<h2>Environment</h2>`,
    `<dl>${
      model.environment.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
        .join("")
    }</dl>`,
    "</body></html>",
  );
  return out.join("\n") + "\n";
}
