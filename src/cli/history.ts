/**
 * `dfkd history add|show`: the per-benchmark regression history.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { COMPARED_METRICS, type MetricName } from "../tracking/compare.ts";
import { machineLabel } from "../tracking/compare_input.ts";
import {
  addToHistory,
  DEFAULT_HISTORY_DIR,
  filterEntries,
  type HistoryEntry,
  historyKeys,
  historyPath,
  readHistory,
} from "../tracking/history.ts";
import { comparabilityKey, summariseResults } from "../tracking/run_summary.ts";
import { renderTrend } from "../tracking/trend_chart.ts";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";

/** Default folder of trend charts written by `history show`. */
export const DEFAULT_TREND_DIR = "results/trends";

const USAGE = `history add <results-dir>... [--machine <label>] [--replace] [--allow-unfinished]
                    [--history-dir <dir>]
       history show <benchmark> [--machine <label>] [--backend <name>] [--metric <m>] [--smoke]
                    [--svg <file>] [--html <file>] [--no-chart] [--json] [--history-dir <dir>]

  add    appends each run's summary to <history-dir>/<benchmark>.jsonl (atomic; adding a run
         already there changes nothing; --replace overwrites it; a run without an end time
         is refused unless --allow-unfinished). The machine label is --machine, else
         $DFKD_MACHINE (for runs of this host), else the run's host name.
  show   prints the trend of one machine/backend (default: the newest entry's) and writes a
         chart (default ${DEFAULT_TREND_DIR}/<benchmark>.svg and .html). --metric: mu (default),
         peak, final, drop, time. --smoke shows --smoke runs instead of full ones.`;

const ADD_USAGE = USAGE.split("\n")[0] as string;

async function add(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    machine: { type: "string" },
    replace: { type: "boolean" },
    "allow-unfinished": { type: "boolean" },
    "history-dir": { type: "string" },
  }, USAGE);
  if (positionals.length === 0) {
    throw new UserError(`history add needs a results folder\nUsage: deno task dfkd ${ADD_USAGE}`);
  }
  const dir = values["history-dir"] ?? DEFAULT_HISTORY_DIR;
  for (const resultsDir of positionals) {
    const s = await summariseResults(resultsDir);
    if (!s.finished && !values["allow-unfinished"]) {
      throw new UserError(
        `${resultsDir}: run ${s.runId} has not finished (run.json has no finishedAt): it is ` +
          `still running or it died. Resume it, or pass --allow-unfinished to record it as it is`,
      );
    }
    const summary = { ...s, machine: machineLabel(s.environment, values.machine) };
    const r = await addToHistory(dir, summary, { replace: values.replace ?? false });
    const what = r.status === "unchanged"
      ? "already in"
      : r.status === "replaced"
      ? "replaced in"
      : "added to";
    const incomplete = summary.entries.filter((e) => e.status !== "completed").length;
    console.log(
      `${summary.benchmark} run ${summary.runId} (commit ${summary.commit.slice(0, 7)}, ` +
        `${comparabilityKey(summary)}): ${what} ${r.path}` +
        (incomplete > 0 ? ` (${incomplete} pair x method not fully completed)` : ""),
    );
  }
  return 0;
}

function parseMetric(value: string | undefined): MetricName {
  if (value === undefined) return "mu";
  const m = value === "time" ? "wallPerEpoch" : value;
  if (!(COMPARED_METRICS as readonly string[]).includes(m)) {
    throw new UserError(
      `--metric: unknown metric ${JSON.stringify(value)} (valid: mu, peak, final, drop, time)`,
    );
  }
  return m as MetricName;
}

/**
 * Chooses the entries of one machine/backend (and smoke flag) for a trend:
 * the given machine/backend, else the newest entry's. Returns the entries and
 * notes about other keys left out.
 *
 * @example
 * ```ts
 * import { trendSelection } from "./history.ts";
 * import type { HistoryEntry } from "../tracking/history.ts";
 * declare const all: HistoryEntry[];
 * const { entries, key } = trendSelection(all, {}, false, "results/history/b.jsonl");
 * console.log(key, entries.length);
 * ```
 */
export function trendSelection(
  all: readonly HistoryEntry[],
  filter: { machine?: string; backend?: string },
  smoke: boolean,
  path: string,
): { entries: HistoryEntry[]; indices: number[]; key: string; notes: string[] } {
  const pool = filterEntries(all, filter).filter((e) => e.smoke === smoke);
  if (pool.length === 0) {
    const keys = historyKeys(all).map((k) => `${k.key} (${k.count})`).join(", ");
    const kind = smoke ? "--smoke" : "full (non-smoke)";
    throw new UserError(
      `No ${kind} entries${
        filter.machine || filter.backend
          ? ` for ${filter.machine ?? "any machine"}/${filter.backend ?? "any backend"}`
          : ""
      } in ${path}; it holds entries of: ${keys}${smoke ? "" : " (pass --smoke for smoke runs)"}`,
    );
  }
  const newest = pool[pool.length - 1] as HistoryEntry;
  const machine = filter.machine ?? newest.machine;
  const backend = filter.backend ?? newest.backend;
  const entries = pool.filter((e) => e.machine === machine && e.backend === backend);
  // Indices as history references count them: among this machine/backend's entries.
  const sameKey = all.filter((e) => e.machine === machine && e.backend === backend);
  const indices = entries.map((e) => sameKey.indexOf(e));
  const key = `${machine}/${backend}`;
  const others = historyKeys(all).filter((k) => k.key !== key);
  const notes = others.length === 0 ? [] : [
    `Other machines/backends in this history (not shown, not comparable): ${
      others.map((k) => `${k.key} (${k.count})`).join(", ")
    }; choose with --machine and --backend.`,
  ];
  return { entries, indices, key, notes };
}

async function show(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    machine: { type: "string" },
    backend: { type: "string" },
    metric: { type: "string" },
    smoke: { type: "boolean" },
    svg: { type: "string" },
    html: { type: "string" },
    "no-chart": { type: "boolean" },
    json: { type: "boolean" },
    "history-dir": { type: "string" },
  }, USAGE);
  if (positionals.length !== 1) {
    throw new UserError(
      `history show takes one benchmark name (got ${positionals.length})\n` +
        `Usage: deno task dfkd ${USAGE.split("\n")[2]?.trim()}`,
    );
  }
  const benchmark = positionals[0] as string;
  const metric = parseMetric(values.metric);
  const path = historyPath(values["history-dir"] ?? DEFAULT_HISTORY_DIR, benchmark);
  const all = await readHistory(path);
  if (all.length === 0) {
    throw new UserError(
      `No history for benchmark "${benchmark}": ${path} is missing or empty ` +
        `(add runs with "deno task dfkd history add <results-dir>")`,
    );
  }
  const filter = {
    ...(values.machine === undefined ? {} : { machine: values.machine }),
    ...(values.backend === undefined ? {} : { backend: values.backend }),
  };
  const { entries, indices, key, notes } = trendSelection(
    all,
    filter,
    values.smoke ?? false,
    path,
  );
  const title = `${benchmark}: ${metric === "wallPerEpoch" ? "wall time per epoch" : metric} ` +
    `on ${key}${values.smoke ? " (smoke runs)" : ""}`;
  const trend = await renderTrend(entries, metric, title, notes, indices);
  const written: string[] = [];
  if (!values["no-chart"]) {
    const svgPath = values.svg ?? join(DEFAULT_TREND_DIR, `${benchmark}.svg`);
    const htmlPath = values.html ?? join(DEFAULT_TREND_DIR, `${benchmark}.html`);
    const files: [string, string][] = [[svgPath, trend.svg], [htmlPath, trend.html]];
    for (const [path, text] of files) {
      await Deno.mkdir(dirname(path), { recursive: true });
      await writeTextFileAtomic(path, text);
    }
    written.push(svgPath, htmlPath);
  }
  if (values.json) {
    console.log(JSON.stringify({ benchmark, key, metric, points: trend.points, written }, null, 2));
    return 0;
  }
  console.log(`${title} (${entries.length} entr${entries.length === 1 ? "y" : "ies"})`);
  console.log(trend.table);
  for (const n of notes) console.log(`note: ${n}`);
  if (written.length > 0) console.log(`Chart: ${written.join(", ")}`);
  return 0;
}

/**
 * `history add <results-dir>...` and `history show <benchmark>`.
 *
 * @example
 * ```ts
 * import { historyCommand } from "./history.ts";
 * await historyCommand.run(["show", "mnist-lenet5-quick", "--no-chart"]);
 * ```
 */
export const historyCommand: Command = {
  summary: "Add runs to the per-benchmark history, or show a benchmark's trend",
  usage: USAGE,
  run(args) {
    const [verb, ...rest] = args;
    if (verb === "add") return add(rest);
    if (verb === "show") return show(rest);
    throw new UserError(
      `history: unknown action ${JSON.stringify(verb ?? "")} (use add or show)\n` +
        `Usage: deno task dfkd ${USAGE}`,
    );
  },
};
