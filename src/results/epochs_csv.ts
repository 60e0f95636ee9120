/**
 * A job's per-epoch CSV (`jobs/<job-id>.csv` in a run folder), written next
 * to its JSON record and checked against it when a run folder is read back.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import type { JobRecord } from "./records.ts";

/** Full-precision, locale-free number text for CSV cells. */
export function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : "";
}

/** The columns of a job's per-epoch CSV before its loss and counter columns. */
export const EPOCH_COLUMNS: readonly string[] = [
  "epoch",
  "accuracy",
  "replay_bytes",
  "train_seconds",
  "eval_seconds",
];

/**
 * A job's per-epoch CSV: epoch, accuracy (in [0, 1]), replay bytes, train and
 * eval seconds, then one `loss_<name>` column per loss and one
 * `count_<name>` column per counter (names sorted).
 *
 * @example
 * ```ts
 * import { epochsCsv } from "./epochs_csv.ts";
 * import type { JobRecord } from "./records.ts";
 * declare const job: JobRecord;
 * // await Deno.writeTextFile("job.csv", epochsCsv(job));
 * ```
 */
export function epochsCsv(job: Pick<JobRecord, "epochs">): string {
  const losses = [...new Set(job.epochs.flatMap((e) => Object.keys(e.losses)))].sort();
  const counters = [...new Set(job.epochs.flatMap((e) => Object.keys(e.counters)))].sort();
  const header = [
    ...EPOCH_COLUMNS,
    ...losses.map((l) => `loss_${l}`),
    ...counters.map((c) => `count_${c}`),
  ];
  const rows = job.epochs.map((e) => [
    e.epoch,
    e.accuracy,
    e.replayBytes,
    e.trainSeconds,
    e.evalSeconds,
    ...losses.map((l) => e.losses[l] ?? ""),
    ...counters.map((c) => e.counters[c] ?? ""),
  ]);
  return stringify([header, ...rows], { cast: { number: numberText } });
}
