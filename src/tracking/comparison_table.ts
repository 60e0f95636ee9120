/**
 * Renders a {@linkcode Comparison} as a terminal table or as Markdown.
 *
 * @module
 */
import {
  type Comparison,
  formatP,
  METRIC_INFO,
  type MetricComparison,
  type SideInfo,
  type SideStats,
} from "./compare.ts";

/** One rendered row: pair, method, metric, baseline, candidate, delta, p, verdict. */
type Cells = [string, string, string, string, string, string, string, string];

const HEADER: Cells = [
  "pair",
  "method",
  "metric",
  "baseline",
  "candidate",
  "delta",
  "p",
  "verdict",
];

function side(s: SideStats, kind: "accuracy" | "time"): string {
  if (s.n === 0) return "-";
  const scale = kind === "time" ? 1 : 100;
  const digits = kind === "time" ? 3 : 2;
  const unit = kind === "time" ? " s" : "";
  const spread = s.n >= 2 ? ` ±${(s.std * scale).toFixed(digits)}` : "";
  return `${(s.mean * scale).toFixed(digits)}${unit}${spread} (n=${s.n})`;
}

function delta(m: MetricComparison): string {
  if (m.verdict === "not-compared") return "-";
  if (METRIC_INFO[m.metric].kind === "time") {
    const rel = m.baseline.mean > 0 ? m.delta / m.baseline.mean * 100 : NaN;
    return `${m.delta >= 0 ? "+" : ""}${m.delta.toFixed(3)} s (${rel >= 0 ? "+" : ""}${
      rel.toFixed(1)
    }%)`;
  }
  const pts = m.delta * 100;
  return `${pts >= 0 ? "+" : ""}${pts.toFixed(2)} pt`;
}

function verdict(m: MetricComparison): string {
  switch (m.verdict) {
    case "regression":
      return m.gated ? "REGRESSION" : "worse (not gated)";
    case "improved":
      return m.gated ? "improved" : "better (not gated)";
    case "unchanged":
      return "within noise";
    case "not-compared":
      return "not compared";
  }
}

function rows(c: Comparison): Cells[] {
  const out: Cells[] = [];
  for (const row of c.rows) {
    for (const m of row.metrics) {
      const kind = METRIC_INFO[m.metric].kind;
      out.push([
        row.pair,
        row.method,
        METRIC_INFO[m.metric].label,
        side(m.baseline, kind),
        side(m.candidate, kind),
        delta(m),
        m.test === "welch" ? formatP(m.pWorse) : m.test === "threshold" ? "thr" : "-",
        verdict(m),
      ]);
    }
    if (row.statusRegressions.length > 0) {
      out.push([
        row.pair,
        row.method,
        "status",
        "",
        "",
        "",
        "",
        `REGRESSION: ${row.statusRegressions.join("; ")}`,
      ]);
    }
  }
  return out;
}

function sideLine(name: string, s: SideInfo): string {
  return `${name}: ${s.label} (run ${s.runId}, commit ${s.commit.slice(0, 12)}${
    s.dirty ? " dirty" : ""
  }, ${s.date}, ${s.machine}/${s.backend})`;
}

function settingsLine(c: Comparison): string {
  const s = c.settings;
  const src = c.settingSources;
  return `Decision: a gated metric (${
    s.gate.map((m) => m === "wallPerEpoch" ? "time" : m).join(", ")
  }) regresses when it is worse by at least ` +
    `${s.minEffect} accuracy point(s) [${src.minEffect}] or ${s.minTimeEffect}% of wall time ` +
    `[${src.minTimeEffect}], and, with 2+ seeds on both sides, a one-sided Welch t-test gives ` +
    `p < ${s.alpha} [${src.alpha}]; with 1 seed, the threshold alone ("thr"). ` +
    `mu, peak, final: higher is better; drop, s/epoch: lower is better.`;
}

function verdictLine(c: Comparison): string {
  if (!c.regression) {
    return c.compared === 0
      ? "Result: NOTHING COMPARED (no pair x method has results on both sides)."
      : `Result: no regression (${c.compared} pair x method compared).`;
  }
  return `Result: ${c.regressions.length} REGRESSION(S):\n` +
    c.regressions.map((r) => `  - ${r.pair} / ${r.method}: ${r.detail}`).join("\n");
}

function listOneSided(c: Comparison): string[] {
  const lines: string[] = [];
  const fmt = (l: { pair: string; method: string }[]) =>
    l.map((x) => `${x.pair} / ${x.method}`).join(", ");
  if (c.onlyInBaseline.length > 0) {
    lines.push(`Only in the baseline (not compared): ${fmt(c.onlyInBaseline)}`);
  }
  if (c.onlyInCandidate.length > 0) {
    lines.push(`Only in the candidate (not compared): ${fmt(c.onlyInCandidate)}`);
  }
  return lines;
}

function rowNotes(c: Comparison): string[] {
  return c.rows.flatMap((r) => r.notes.map((n) => `${r.pair} / ${r.method}: ${n}`));
}

/**
 * The comparison as an aligned plain-text table with a header, warnings and
 * the verdict, for the terminal.
 *
 * @example
 * ```ts
 * import { formatComparisonText } from "./comparison_table.ts";
 * import type { Comparison } from "./compare.ts";
 * declare const c: Comparison;
 * console.log(formatComparisonText(c));
 * ```
 */
export function formatComparisonText(c: Comparison): string {
  const table = [HEADER, ...rows(c)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i]?.length ?? 0)));
  const line = (r: Cells) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  const out = [
    `Comparison of benchmark ${c.benchmark}`,
    sideLine("  baseline ", c.baseline),
    sideLine("  candidate", c.candidate),
    "",
  ];
  for (const w of c.warnings) out.push(`WARNING: ${w}`);
  if (c.warnings.length > 0) out.push("");
  out.push(line(HEADER), widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of table.slice(1)) out.push(line(r));
  out.push("");
  for (const l of [...listOneSided(c), ...rowNotes(c), ...c.notes]) out.push(`note: ${l}`);
  out.push(settingsLine(c), verdictLine(c));
  return out.join("\n");
}

function md(cell: string): string {
  return cell.replaceAll("|", "\\|");
}

/**
 * The comparison as Markdown: identity of both sides, warnings, one table
 * row per pair x method x metric, notes and the verdict.
 *
 * @example
 * ```ts
 * import { formatComparisonMarkdown } from "./comparison_table.ts";
 * import type { Comparison } from "./compare.ts";
 * declare const c: Comparison;
 * await Deno.writeTextFile("compare.md", formatComparisonMarkdown(c));
 * ```
 */
export function formatComparisonMarkdown(c: Comparison, heading = "##"): string {
  const out = [
    `${heading} Comparison: ${c.benchmark}`,
    "",
    `- ${sideLine("Baseline", c.baseline)}`,
    `- ${sideLine("Candidate", c.candidate)}`,
    "",
  ];
  for (const w of c.warnings) out.push(`> **Warning:** ${w}`, ">");
  if (c.warnings.length > 0) out.splice(out.length - 1, 1, "");
  out.push(
    `| ${HEADER.join(" | ")} |`,
    `| ${
      HEADER.map((h) => (h === "pair" || h === "method" || h === "metric" ? "---" : "---:"))
        .join(" | ")
    } |`,
  );
  for (const r of rows(c)) {
    const cells = r.map(md);
    cells[7] = cells[7]?.startsWith("REGRESSION") ? `**${cells[7]}**` : cells[7] ?? "";
    out.push(`| ${cells.join(" | ")} |`);
  }
  out.push("");
  const notes = [...listOneSided(c), ...rowNotes(c), ...c.notes];
  for (const n of notes) out.push(`- ${n}`);
  if (notes.length > 0) out.push("");
  out.push(settingsLine(c), "", `**${verdictLine(c).split("\n")[0]}**`);
  for (const r of c.regressions) out.push(`- ${r.pair} / ${r.method}: ${r.detail}`);
  return out.join("\n") + "\n";
}
