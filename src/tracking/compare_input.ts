/**
 * Turns what a user names on the command line (a results folder or a
 * `history:<benchmark>@<ref>` reference) into a {@linkcode RunSummary}, and
 * decides a run's machine label.
 *
 * Machine label: an explicit `--machine` wins; otherwise, when the run's host
 * name is this host's and `DFKD_MACHINE` is set, that label (so CI runners
 * whose host names change every run can share one history key); otherwise the
 * run's host name.
 *
 * @module
 */
import type { Environment } from "../util/environment.ts";
import { UserError } from "../util/errors.ts";
import {
  DEFAULT_HISTORY_DIR,
  type HistoryFilter,
  historyPath,
  parseHistoryRef,
  readHistory,
  resolveHistoryRef,
} from "./history.ts";
import { comparabilityKey, type RunSummary, summariseResults } from "./run_summary.ts";

/**
 * The machine label of a run (see the module documentation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineLabel } from "./compare_input.ts";
 * import type { Environment } from "../util/environment.ts";
 * declare const env: Environment;
 * assert.equal(machineLabel(env, "ci-pool"), "ci-pool");
 * ```
 */
export function machineLabel(env: Pick<Environment, "hostname">, explicit?: string): string {
  if (explicit !== undefined) {
    if (explicit.trim() === "") throw new UserError("--machine must not be empty");
    return explicit;
  }
  const label = Deno.env.get("DFKD_MACHINE");
  if (label !== undefined && label !== "" && env.hostname === Deno.hostname()) return label;
  return env.hostname;
}

/** Options of {@linkcode loadComparisonInputs}. */
export interface InputOptions {
  /** History folder (default `results/history`). */
  historyDir?: string;
  /** Restrict history references to this machine label. */
  machine?: string;
  /** Restrict history references to this backend. */
  backend?: string;
}

/**
 * Loads the baseline and candidate. Results folders load first; a history
 * reference then resolves among entries of `--machine`/`--backend` when given,
 * otherwise of the other side's machine/backend when that side is a results
 * folder, otherwise among all entries.
 *
 * @example
 * ```ts
 * import { loadComparisonInputs } from "./compare_input.ts";
 * const [base, cand] = await loadComparisonInputs(
 *   "history:mnist-lenet5-quick@latest",
 *   "results/mnist-lenet5-quick/20261129T051500Z-9bfd833",
 * );
 * console.log(base.runId, cand.runId);
 * ```
 */
export async function loadComparisonInputs(
  baseline: string,
  candidate: string,
  options: InputOptions = {},
): Promise<[RunSummary, RunSummary]> {
  const dir = options.historyDir ?? DEFAULT_HISTORY_DIR;
  const args = [baseline, candidate] as const;
  const refs = args.map(parseHistoryRef);
  const loaded: (RunSummary | undefined)[] = [undefined, undefined];
  for (const i of [0, 1] as const) {
    if (refs[i] !== undefined) continue;
    const s = await summariseResults(args[i]);
    loaded[i] = { ...s, machine: machineLabel(s.environment) };
  }
  const explicit: HistoryFilter = {
    ...(options.machine === undefined ? {} : { machine: options.machine }),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  };
  const hasExplicit = options.machine !== undefined || options.backend !== undefined;
  for (const i of [0, 1] as const) {
    const ref = refs[i];
    if (ref === undefined) continue;
    const other = loaded[1 - i];
    const filter: HistoryFilter = hasExplicit
      ? explicit
      : other !== undefined
      ? { machine: other.machine, backend: other.backend }
      : {};
    const path = historyPath(dir, ref.benchmark);
    const entries = await readHistory(path);
    if (entries.length === 0) {
      throw new UserError(
        `${args[i]}: no history for benchmark "${ref.benchmark}" (${path} is missing or empty; ` +
          `add runs with "deno task dfkd history add <results-dir>")`,
      );
    }
    loaded[i] = resolveHistoryRef(entries, ref, filter, path);
  }
  return loaded as [RunSummary, RunSummary];
}

/**
 * A short description of a summary for messages: run id, commit and key.
 *
 * @example
 * ```ts
 * import { describeSummary } from "./compare_input.ts";
 * import type { RunSummary } from "./run_summary.ts";
 * declare const s: RunSummary;
 * console.log(describeSummary(s));
 * ```
 */
export function describeSummary(s: RunSummary): string {
  return `${s.benchmark} run ${s.runId} (commit ${s.commit.slice(0, 7)}, ${comparabilityKey(s)})`;
}
