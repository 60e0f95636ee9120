/**
 * The regression history: one JSON Lines file per benchmark,
 * `results/history/<benchmark>.jsonl`, one {@linkcode HistoryEntry} (a
 * {@linkcode RunSummary} plus `addedAt`) per line, ordered by run date.
 *
 * - Entries are identified by run id, machine and backend: adding the same run
 *   again changes nothing (idempotent).
 * - Each add rewrites the whole file to a temporary file and renames it over
 *   the old one under a lock, so a crash never leaves a half line and two
 *   concurrent adds do not lose each other.
 * - Entries of every machine and backend share the file; the comparability
 *   key (`machine/backend`) keeps them apart: trends and "previous entry"
 *   look-ups only ever use entries of one key.
 *
 * History references (`compare` accepts them where it accepts a results
 * folder): `history:<benchmark>@<ref>` where `<ref>` is
 * - an index into the benchmark's entries of one machine/backend in date
 *   order: `0` the oldest, `-1` (or `latest`) the newest, `-2` the one before
 *   (a non-negative index has at most 3 digits, or is written `#1234`: longer
 *   digit strings are commit prefixes);
 * - a run id; or
 * - a commit (full or a prefix of at least 4 hex digits): the newest entry of
 *   that commit.
 * `history:<benchmark>` alone means `@latest`.
 *
 * @module
 */
import { z } from "zod";
import { join } from "node:path";
import { describeIssues } from "../util/zod_issues.ts";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { FileReadError, READ_LIMITS, readBoundedText } from "../util/bounded_read.ts";
import { UserError } from "../util/errors.ts";
import { withFileLock } from "../util/file_lock.ts";
import { comparabilityKey, RUN_SUMMARY_SCHEMA, type RunSummary } from "./run_summary.ts";

/** Default history folder, relative to the repository root. */
export const DEFAULT_HISTORY_DIR = "results/history";

/** One line of a history file. */
export interface HistoryEntry extends RunSummary {
  /** ISO time the entry was added. */
  addedAt: string;
}

/** Picks entries of one machine and/or backend. */
export interface HistoryFilter {
  /** Machine label. */
  machine?: string;
  /** Backend name. */
  backend?: string;
}

/**
 * Path of a benchmark's history file; a `UserError` for a benchmark name that
 * cannot be a file name.
 *
 * @example
 * ```ts
 * import { historyPath } from "./history.ts";
 * console.log(historyPath("results/history", "mnist-lenet5-quick"));
 * // results/history/mnist-lenet5-quick.jsonl
 * ```
 */
export function historyPath(dir: string, benchmark: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(benchmark)) {
    throw new UserError(
      `Benchmark name ${JSON.stringify(benchmark)} cannot name a history file ` +
        `(use letters, digits, ".", "_" and "-")`,
    );
  }
  return join(dir, `${benchmark}.jsonl`);
}

/**
 * The identity of an entry: run id, machine and backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryIdentity } from "./history.ts";
 * assert.equal(entryIdentity({ runId: "r1", machine: "m", backend: "wasm" }), "r1@m/wasm");
 * ```
 */
export function entryIdentity(e: { runId: string; machine: string; backend: string }): string {
  return `${e.runId}@${comparabilityKey(e)}`;
}

function order(a: HistoryEntry, b: HistoryEntry): number {
  return a.date.localeCompare(b.date) || a.runId.localeCompare(b.runId) ||
    comparabilityKey(a).localeCompare(comparabilityKey(b));
}

/** The fields of a history line that readers use, with their types (other fields pass). */
const number = z.number().nullable().optional();
const HISTORY_LINE = z.looseObject({
  benchmark: z.string(),
  runId: z.string(),
  date: z.string(),
  machine: z.string(),
  backend: z.string(),
  commit: z.string().optional(),
  smoke: z.boolean().optional(),
  entries: z.array(z.looseObject({
    pair: z.string(),
    method: z.string(),
    status: z.string().optional(),
    configHashes: z.array(z.string()).optional(),
    seeds: z.array(z.looseObject({
      seed: z.number(),
      status: z.string(),
      epochs: z.number().optional(),
      mu: number,
      peak: number,
      final: number,
      drop: number,
      wallSeconds: number,
      wallPerEpoch: number,
    })),
  })),
});

/**
 * Reads a history file (missing file: no entries), in date order; a run that
 * appears twice (a union merge of two branches that both added it) counts
 * once, as last added. A malformed line is a `UserError` naming the file and
 * line.
 *
 * @example
 * ```ts
 * import { readHistory } from "./history.ts";
 * const entries = await readHistory("results/history/mnist-lenet5-quick.jsonl");
 * console.log(entries.length);
 * ```
 */
export async function readHistory(path: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readBoundedText(path, READ_LIMITS.history, { exitCode: 2 });
  } catch (error) {
    if (error instanceof FileReadError && error.refusal === "not-found") return [];
    throw error;
  }
  const entries: HistoryEntry[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UserError(
        `${path}:${i + 1}: not a JSON line (a history file holds one JSON object per line; ` +
          `fix or remove that line)`,
      );
    }
    const e = value as Partial<HistoryEntry> | null;
    if (e !== null && typeof e === "object" && e.schema === RUN_SUMMARY_SCHEMA) {
      const checked = HISTORY_LINE.safeParse(e, { reportInput: true });
      if (!checked.success) {
        const problems = describeIssues(checked.error.issues).slice(0, 3).map((p) =>
          `${p.path === "" ? "" : `${p.path}: `}${p.message}`
        );
        throw new UserError(
          `${path}:${i + 1}: not a history entry of this version (${problems.join("; ")}); ` +
            `fix or remove that line`,
          2,
        );
      }
    }
    if (e?.schema !== RUN_SUMMARY_SCHEMA) {
      throw new UserError(
        `${path}:${i + 1}: schema: expected "${RUN_SUMMARY_SCHEMA}" (got ${
          JSON.stringify(e?.schema)
        })`,
      );
    }
    for (const field of ["benchmark", "runId", "date", "machine", "backend", "entries"] as const) {
      if (e[field] === undefined) throw new UserError(`${path}:${i + 1}: ${field}: missing`);
    }
    entries.push(e as HistoryEntry);
  }
  // The same run twice (e.g. after a union merge of two branches that both
  // added it): keep the one added last.
  const byId = new Map<string, HistoryEntry>();
  for (const e of entries) {
    const id = entryIdentity(e);
    const seen = byId.get(id);
    if (seen === undefined || (e.addedAt ?? "") >= (seen.addedAt ?? "")) byId.set(id, e);
  }
  return [...byId.values()].sort(order);
}

/** Result of {@linkcode addToHistory}. */
export interface AddResult {
  /** `added`, `unchanged` (already there: idempotent) or `replaced` (with `replace`). */
  status: "added" | "unchanged" | "replaced";
  /** The history file. */
  path: string;
  /** The entry as stored. */
  entry: HistoryEntry;
  /** Every entry of the file after the add, in date order. */
  entries: HistoryEntry[];
}

/** Options of {@linkcode addToHistory}. */
export interface AddOptions {
  /** Replace an entry of the same run id, machine and backend instead of keeping it. */
  replace?: boolean;
  /** The time to record as `addedAt` (default now). */
  now?: Date;
  /** Test hook: runs between writing the temporary file and renaming it. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Adds a run summary to `<dir>/<benchmark>.jsonl`, atomically and
 * idempotently (see the module documentation).
 *
 * @example
 * ```ts
 * import { addToHistory } from "./history.ts";
 * import { summariseResults } from "./run_summary.ts";
 * const s = await summariseResults("results/mnist-lenet5-quick/20261129T051500Z-9bfd833");
 * const r = await addToHistory("results/history", s);
 * console.log(r.status, r.path);
 * ```
 */
export async function addToHistory(
  dir: string,
  summary: RunSummary,
  options: AddOptions = {},
): Promise<AddResult> {
  const path = historyPath(dir, summary.benchmark);
  await Deno.mkdir(dir, { recursive: true });
  // Adds take milliseconds: a lock older than two minutes was left by a dead process.
  const lockOptions = { timeoutMs: 30_000, staleMs: 120_000, pollMs: 25, what: "history" };
  return await withFileLock(`${path}.lock.tmp`, async () => {
    const entries = await readHistory(path);
    const id = entryIdentity(summary);
    const at = entries.findIndex((e) => entryIdentity(e) === id);
    if (at >= 0 && !options.replace) {
      return { status: "unchanged", path, entry: entries[at] as HistoryEntry, entries };
    }
    const entry: HistoryEntry = { ...summary, addedAt: (options.now ?? new Date()).toISOString() };
    const next = entries.filter((_, i) => i !== at);
    next.push(entry);
    next.sort(order);
    const text = next.map((e) => JSON.stringify(e)).join("\n") + "\n";
    await writeTextFileAtomic(
      path,
      text,
      options.beforeRename ? { beforeRename: options.beforeRename } : {},
    );
    return { status: at >= 0 ? "replaced" : "added", path, entry, entries: next };
  }, lockOptions);
}

/**
 * Entries matching `filter` (all when it is empty), in date order.
 *
 * @example
 * ```ts
 * import { filterEntries, readHistory } from "./history.ts";
 * const all = await readHistory("results/history/mnist-lenet5-quick.jsonl");
 * console.log(filterEntries(all, { machine: "lab-1", backend: "wasm" }).length);
 * ```
 */
export function filterEntries(entries: readonly HistoryEntry[], filter: HistoryFilter) {
  return entries.filter((e) =>
    (filter.machine === undefined || e.machine === filter.machine) &&
    (filter.backend === undefined || e.backend === filter.backend)
  );
}

/**
 * Every distinct comparability key in `entries`, with its entry count, newest
 * key last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { historyKeys, readHistory } from "./history.ts";
 * const keys = historyKeys(await readHistory("results/history/mnist-lenet5-quick.jsonl"));
 * assert.deepEqual(keys, [{ key: "lab-1/wasm", machine: "lab-1", backend: "wasm", count: 12 }]);
 * ```
 */
export function historyKeys(
  entries: readonly HistoryEntry[],
): { key: string; machine: string; backend: string; count: number }[] {
  const map = new Map<string, { key: string; machine: string; backend: string; count: number }>();
  for (const e of entries) {
    const key = comparabilityKey(e);
    const k = map.get(key) ?? { key, machine: e.machine, backend: e.backend, count: 0 };
    k.count++;
    map.delete(key);
    map.set(key, k);
  }
  return [...map.values()];
}

/**
 * The newest entry before `entry` (by date) of the same machine, backend and
 * smoke flag, or undefined: what nightly compares a new run with.
 *
 * @example
 * ```ts
 * import { previousComparable, readHistory } from "./history.ts";
 * const all = await readHistory("results/history/mnist-lenet5-quick.jsonl");
 * const last = all[all.length - 1]!;
 * console.log(previousComparable(all, last)?.runId);
 * ```
 */
export function previousComparable(
  entries: readonly HistoryEntry[],
  entry: RunSummary,
): HistoryEntry | undefined {
  const key = comparabilityKey(entry);
  const id = entryIdentity(entry);
  const before = entries.filter((e) =>
    comparabilityKey(e) === key && e.smoke === entry.smoke && entryIdentity(e) !== id &&
    e.date <= entry.date
  );
  return before[before.length - 1];
}

/** A parsed `history:<benchmark>@<ref>` reference. */
export interface HistoryRef {
  /** Benchmark name. */
  benchmark: string;
  /** The part after `@` (`latest` when absent). */
  ref: string;
}

/**
 * Parses `history:<benchmark>[@<ref>]`; undefined when `text` does not start
 * with `history:`.
 *
 * @example
 * ```ts
 * import { parseHistoryRef } from "./history.ts";
 * console.log(parseHistoryRef("history:mnist-lenet5-quick@-2"));
 * // { benchmark: "mnist-lenet5-quick", ref: "-2" }
 * ```
 */
export function parseHistoryRef(text: string): HistoryRef | undefined {
  if (!text.startsWith("history:")) return undefined;
  const body = text.slice("history:".length);
  const at = body.lastIndexOf("@");
  const benchmark = at < 0 ? body : body.slice(0, at);
  const ref = at < 0 ? "latest" : body.slice(at + 1);
  if (benchmark === "" || ref === "") {
    throw new UserError(
      `Bad history reference ${JSON.stringify(text)}: expected history:<benchmark>@<ref> ` +
        `with <ref> an index (0 oldest, -1 newest), "latest", a run id or a commit`,
    );
  }
  return { benchmark, ref };
}

/**
 * Resolves a history reference against a benchmark's entries, restricted to
 * `filter`. When the filter leaves several machines/backends, an index is
 * refused (ambiguous); a run id or commit still resolves. Throws a
 * `UserError` (exit code 2) saying what exists when nothing matches.
 *
 * @example
 * ```ts
 * import { readHistory, resolveHistoryRef } from "./history.ts";
 * const all = await readHistory("results/history/mnist-lenet5-quick.jsonl");
 * const e = resolveHistoryRef(all, { benchmark: "mnist-lenet5-quick", ref: "latest" }, {
 *   machine: "lab-1",
 *   backend: "wasm",
 * });
 * console.log(e.runId);
 * ```
 */
export function resolveHistoryRef(
  entries: readonly HistoryEntry[],
  ref: HistoryRef,
  filter: HistoryFilter,
  path = `${DEFAULT_HISTORY_DIR}/${ref.benchmark}.jsonl`,
): HistoryEntry {
  const text = `history:${ref.benchmark}@${ref.ref}`;
  if (entries.length === 0) {
    throw new UserError(
      `${text}: the history ${path} has no entries (add runs with "deno task dfkd history add ` +
        `<results-dir>")`,
    );
  }
  const pool = filterEntries(entries, filter);
  const where = filter.machine === undefined && filter.backend === undefined
    ? ""
    : ` for ${filter.machine ?? "any machine"}/${filter.backend ?? "any backend"}`;
  const available = () => historyKeys(entries).map((k) => `${k.key} (${k.count})`).join(", ");
  if (pool.length === 0) {
    throw new UserError(
      `${text}: no entry${where} in ${path}; it holds entries of: ${available()} ` +
        `(choose with --machine and --backend)`,
    );
  }
  const r = ref.ref === "latest" ? "-1" : ref.ref.startsWith("#") ? ref.ref.slice(1) : ref.ref;
  const context = { text, path, where, available };
  // An index: negative, written #N, or at most 3 digits (longer digit strings are commits).
  if (/^-\d+$/.test(r) || /^\d{1,3}$/.test(r) || /^#\d+$/.test(ref.ref)) {
    return entryAtIndex(pool, Number(r), context);
  }
  const byRun = pool.filter((e) => e.runId === r);
  if (byRun.length === 1) return byRun[0] as HistoryEntry;
  if (byRun.length > 1) {
    throw new UserError(
      `${text}: run ${r} is in the history for several machines/backends ` +
        `(${byRun.map(comparabilityKey).join(", ")}); choose with --machine and --backend`,
    );
  }
  const byCommit = /^[0-9a-f]{4,40}$/i.test(r) ? entryOfCommit(pool, r, text) : undefined;
  if (byCommit !== undefined) return byCommit;
  throw new UserError(
    `${text}: no entry${where} with run id or commit "${r}" in ${path} ` +
      `(run "deno task dfkd history show ${ref.benchmark}" to list entries)`,
  );
}

/** What the messages of {@linkcode resolveHistoryRef}'s steps name. */
interface RefContext {
  text: string;
  path: string;
  where: string;
  available: () => string;
}

/** The entry at index `n` of `pool` (negative from the end); one machine/backend only. */
function entryAtIndex(pool: readonly HistoryEntry[], n: number, c: RefContext): HistoryEntry {
  const { text, path, where, available } = c;
  if (historyKeys(pool).length > 1) {
    throw new UserError(
      `${text}: an index is ambiguous when the history holds several machines/backends ` +
        `(${available()}); choose one with --machine and --backend`,
    );
  }
  const i = n < 0 ? pool.length + n : n;
  const e = pool[i];
  if (e === undefined) {
    throw new UserError(
      `${text}: index ${n} is out of range: ${path} has ${pool.length} entr${
        pool.length === 1 ? "y" : "ies"
      }${where} (0 to ${pool.length - 1}, or -1 to -${pool.length})`,
    );
  }
  return e;
}

/** The latest entry of the commit with prefix `r` (undefined when none); must be unambiguous. */
function entryOfCommit(
  pool: readonly HistoryEntry[],
  r: string,
  text: string,
): HistoryEntry | undefined {
  const byCommit = pool.filter((e) => e.commit.toLowerCase().startsWith(r.toLowerCase()));
  const keys = new Set(byCommit.map(comparabilityKey));
  if (keys.size > 1) {
    throw new UserError(
      `${text}: commit ${r} has entries on several machines/backends (${
        [...keys].join(", ")
      }); choose with --machine and --backend`,
    );
  }
  const commits = new Set(byCommit.map((e) => e.commit));
  if (commits.size > 1) {
    throw new UserError(
      `${text}: commit prefix ${r} is ambiguous (${[...commits].join(", ")}); give more digits`,
    );
  }
  return byCommit[byCommit.length - 1];
}
