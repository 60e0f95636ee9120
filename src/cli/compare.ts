/**
 * `dfkd compare <baseline> <candidate>`: noise-aware comparison of two runs.
 *
 * @module
 */
import {
  COMPARED_METRICS,
  type CompareOverrides,
  compareRuns,
  type MetricName,
  nothingCompared,
} from "../tracking/compare.ts";
import { loadComparisonInputs } from "../tracking/compare_input.ts";
import { DEFAULT_HISTORY_DIR } from "../tracking/history.ts";
import { formatComparisonMarkdown, formatComparisonText } from "../tracking/comparison_table.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";

const USAGE = `compare <baseline> <candidate> [options]

  <baseline>, <candidate>   a results folder (results/<benchmark>/<run-id>) or a history
                            entry history:<benchmark>@<ref>, <ref> = index (0 oldest,
                            -1 newest), latest, a run id or a commit (prefix)
  --json                    print the comparison as JSON
  --markdown                print the comparison as Markdown
  --min-effect <points>     minimum accuracy effect in points (default: the benchmark's
                            regression.minEffect, else 1)
  --min-time-effect <pct>   minimum wall-time effect in percent (default: regression.minTimeEffect,
                            else 10)
  --alpha <a>               significance level of the one-sided Welch test (default 0.05)
  --gate <metrics>          comma list of metrics whose regressions count: mu, peak, final,
                            drop, time (default mu,time)
  --allow-different-env     compare runs of different machines or backends (with a warning)
  --allow-empty             accept a comparison that compares nothing (default: exit 2)
  --history-dir <dir>       history folder (default ${DEFAULT_HISTORY_DIR})
  --machine <label>         resolve history references among this machine's entries
  --backend <name>          resolve history references among this backend's entries

Exit code: 0 no regression, 1 regression found, 2 unusable input or nothing compared.`;

/**
 * Parses a number flag within bounds, or throws a `UserError` naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNumberFlag } from "./compare.ts";
 * assert.equal(parseNumberFlag("--alpha", "0.01", (v) => v > 0 && v < 1, "between 0 and 1"), 0.01);
 * ```
 */
export function parseNumberFlag(
  flag: string,
  value: string | undefined,
  ok: (v: number) => boolean,
  what: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !ok(n)) {
    throw new UserError(`${flag} must be ${what} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/**
 * Parses a `--gate` list (`time` stands for `wallPerEpoch`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGate } from "./compare.ts";
 * assert.deepEqual(parseGate("mu,time"), ["mu", "wallPerEpoch"]);
 * ```
 */
export function parseGate(value: string): MetricName[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) {
    throw new UserError(
      `--gate needs at least one metric (mu, peak, final, drop, time; got ${
        JSON.stringify(value)
      }): an empty gate would pass every comparison`,
      2,
    );
  }
  const out: MetricName[] = [];
  for (const name of names) {
    const m = name === "time" ? "wallPerEpoch" : name;
    if (!(COMPARED_METRICS as readonly string[]).includes(m)) {
      throw new UserError(
        `--gate: unknown metric ${JSON.stringify(name)} (valid: mu, peak, final, drop, time)`,
      );
    }
    out.push(m as MetricName);
  }
  return out;
}

/**
 * Reads the comparison flags shared by `compare` and `nightly`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareOverrides } from "./compare.ts";
 * assert.deepEqual(compareOverrides({ "min-effect": "2" }), { minEffect: 2 });
 * ```
 */
export function compareOverrides(values: {
  "min-effect"?: string | undefined;
  "min-time-effect"?: string | undefined;
  alpha?: string | undefined;
  gate?: string | undefined;
  "allow-different-env"?: boolean | undefined;
  "allow-empty"?: boolean | undefined;
}): CompareOverrides {
  const o: CompareOverrides = {};
  const minEffect = parseNumberFlag(
    "--min-effect",
    values["min-effect"],
    (v) => v >= 0,
    "a number of accuracy points, at least 0",
  );
  if (minEffect !== undefined) o.minEffect = minEffect;
  const minTime = parseNumberFlag(
    "--min-time-effect",
    values["min-time-effect"],
    (v) => v >= 0,
    "a percentage, at least 0",
  );
  if (minTime !== undefined) o.minTimeEffect = minTime;
  const alpha = parseNumberFlag(
    "--alpha",
    values.alpha,
    (v) => v > 0 && v < 1,
    "a significance level between 0 and 1",
  );
  if (alpha !== undefined) o.alpha = alpha;
  if (values.gate !== undefined) o.gate = parseGate(values.gate);
  if (values["allow-different-env"]) o.allowDifferentEnv = true;
  if (values["allow-empty"]) o.allowEmpty = true;
  return o;
}

/** Flag declarations shared by `compare` and `nightly`. */
export const COMPARE_FLAGS = {
  "min-effect": { type: "string" },
  "min-time-effect": { type: "string" },
  alpha: { type: "string" },
  gate: { type: "string" },
  "allow-different-env": { type: "boolean" },
  "allow-empty": { type: "boolean" },
  "history-dir": { type: "string" },
} as const;

/**
 * Compares two runs and prints a table (or Markdown, or JSON); exit code 1
 * when a regression is found.
 *
 * @example
 * ```ts
 * import { compareCommand } from "./compare.ts";
 * const code = await compareCommand.run(["results/b/run-a", "results/b/run-b", "--json"]);
 * ```
 */
export const compareCommand: Command = {
  summary: "Compare two runs (results folders or history entries); exit 1 on regression",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      json: { type: "boolean" },
      markdown: { type: "boolean" },
      machine: { type: "string" },
      backend: { type: "string" },
      ...COMPARE_FLAGS,
    }, USAGE);
    if (positionals.length !== 2) {
      throw new UserError(
        `compare takes a baseline and a candidate (got ${positionals.length} argument${
          positionals.length === 1 ? "" : "s"
        })\nUsage: deno task dfkd ${USAGE.split("\n")[0]}`,
      );
    }
    if (values.json && values.markdown) {
      throw new UserError("Choose one of --json and --markdown");
    }
    const overrides = compareOverrides(values);
    const [baseArg, candArg] = positionals as [string, string];
    const [baseline, candidate] = await loadComparisonInputs(baseArg, candArg, {
      historyDir: values["history-dir"] ?? DEFAULT_HISTORY_DIR,
      ...(values.machine === undefined ? {} : { machine: values.machine }),
      ...(values.backend === undefined ? {} : { backend: values.backend }),
    });
    const comparison = compareRuns(baseline, candidate, {
      overrides,
      labels: [baseArg, candArg],
    });
    if (values.json) console.log(JSON.stringify(comparison, null, 2));
    else if (values.markdown) console.log(formatComparisonMarkdown(comparison));
    else {
      console.log(formatComparisonText(comparison));
      for (const w of comparison.warnings) console.error(`warning: ${w}`);
    }
    const empty = nothingCompared(comparison);
    if (empty !== undefined && !comparison.settings.allowEmpty) throw new UserError(empty, 2);
    return comparison.regression ? 1 : 0;
  },
};
