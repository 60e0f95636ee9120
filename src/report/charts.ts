/**
 * Accuracy-curve charts: a Vega-Lite specification per pair (one line per
 * method, the mean across seeds, with a band from the lowest to the highest
 * seed, and the teacher's accuracy as a dashed rule), compiled by `vega-lite`
 * and rendered to SVG by `vega` without a browser.
 *
 * @module
 */
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { PairSummary } from "./summary.ts";

/** One point of a method's curve across seeds. */
export interface CurvePoint {
  /** Method name. */
  method: string;
  /** Epoch, from 1 (as people count). */
  epoch: number;
  /** Mean accuracy across seeds, in percent. */
  mean: number;
  /** Lowest seed's accuracy, in percent. */
  low: number;
  /** Highest seed's accuracy, in percent. */
  high: number;
  /** Seeds at this epoch. */
  seeds: number;
}

/**
 * The curve points of a pair: for each method and epoch, the mean, lowest and
 * highest accuracy of its completed seeds.
 *
 * @example
 * ```ts
 * import { curvePoints } from "./charts.ts";
 * import type { PairSummary } from "./summary.ts";
 * declare const pair: PairSummary;
 * // const points = curvePoints(pair);
 * ```
 */
export function curvePoints(pair: PairSummary): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const g of pair.methods) {
    const epochs = Math.max(0, ...g.completed.map((j) => j.epochs.length));
    for (let e = 0; e < epochs; e++) {
      const values = g.completed.flatMap((j) => {
        const a = j.epochs[e]?.accuracy;
        return a === undefined ? [] : [a * 100];
      });
      if (values.length === 0) continue;
      points.push({
        method: g.method,
        epoch: e + 1,
        mean: values.reduce((s, v) => s + v, 0) / values.length,
        low: Math.min(...values),
        high: Math.max(...values),
        seeds: values.length,
      });
    }
  }
  return points;
}

/**
 * The Vega-Lite specification of a pair's accuracy curves.
 *
 * @example
 * ```ts
 * import { curveSpec } from "./charts.ts";
 * import type { PairSummary } from "./summary.ts";
 * declare const pair: PairSummary;
 * // const spec = curveSpec(pair, "scaled");
 * ```
 */
export function curveSpec(pair: PairSummary, note?: string): TopLevelSpec {
  const points = curvePoints(pair);
  const methods = pair.methods.map((m) => m.method);
  const color = { field: "method", type: "nominal", title: "method", sort: methods } as const;
  const x = {
    field: "epoch",
    type: "quantitative",
    title: "epoch",
    axis: { tickMinStep: 1 },
    scale: { domainMin: 1 },
  } as const;
  const title = `${pair.teacherArch} → ${pair.studentArch}: student test accuracy${
    note ? ` (${note})` : ""
  }`;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, fontSize: 13 },
    width: 560,
    height: 300,
    background: "white",
    layer: [
      {
        data: { values: points as unknown as Record<string, unknown>[] },
        mark: { type: "area", opacity: 0.18 },
        encoding: {
          x,
          y: { field: "low", type: "quantitative", title: "accuracy (%)", scale: { zero: false } },
          y2: { field: "high" },
          color,
        },
      },
      {
        data: { values: points as unknown as Record<string, unknown>[] },
        mark: { type: "line", point: points.length <= 200, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: "mean", type: "quantitative" },
          color,
          tooltip: [
            { field: "method" },
            { field: "epoch" },
            { field: "mean", format: ".2f" },
            { field: "seeds" },
          ],
        },
      },
      {
        data: { values: [{ teacher: pair.teacherAccuracy * 100, label: "teacher" }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "#555" },
        encoding: { y: { field: "teacher", type: "quantitative" } },
      },
      {
        data: { values: [{ teacher: pair.teacherAccuracy * 100 }] },
        mark: { type: "text", align: "left", dx: 4, dy: -7, color: "#555" },
        encoding: {
          x: { datum: 1, type: "quantitative" },
          y: { field: "teacher", type: "quantitative" },
          text: { value: `teacher ${(pair.teacherAccuracy * 100).toFixed(2)}%` },
        },
      },
    ],
  };
}

/**
 * Compiles a Vega-Lite specification and renders it to an SVG string (no
 * browser, no canvas: text is measured by estimate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderSvg } from "./charts.ts";
 * const svg = await renderSvg({
 *   data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
 *   mark: "line",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * assert.equal(svg.startsWith("<svg"), true);
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = compile(spec).spec;
  const view = new View(parse(vega), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
