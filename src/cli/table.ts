/**
 * Plain-text tables for CLI output.
 *
 * @module
 */

/**
 * Formats `rows` (the first is the header) as left-aligned columns; columns
 * whose index is in `right` are right-aligned.
 *
 * @example
 * ```ts
 * import { formatTable } from "./table.ts";
 * console.log(formatTable([["name", "params"], ["lenet5", "61,706"]], [1]));
 * ```
 */
export function formatTable(rows: string[][], right: number[] = []): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) =>
    r.map((c, i) => right.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)).join(
      "  ",
    ).trimEnd()
  ).join("\n");
}
