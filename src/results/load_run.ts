/**
 * Reading a run folder back (`run.json` and `jobs/*.json`), checking each
 * record against its schema in `records.ts`, so a damaged or foreign folder
 * gives a clear error (exit 2) instead of a crash halfway through a report.
 *
 * @module
 */
import type { z } from "zod";
import { join } from "node:path";
import {
  type JobRecord,
  jobRecordSchema,
  RUN_LAYOUT,
  type RunRecord,
  runRecordSchema,
} from "./records.ts";
import { describeIssues } from "../util/zod_issues.ts";
import { FileReadError, READ_LIMITS, readBoundedText } from "../util/bounded_read.ts";
import { UserError } from "../util/errors.ts";
import { epochsCsv } from "./epochs_csv.ts";

/** A run folder read back. */
export interface RunResults {
  /** The folder. */
  dir: string;
  /** Its manifest. */
  run: RunRecord;
  /** Its job records in run order (jobs whose record is missing are left out). */
  jobs: JobRecord[];
  /** Ids of jobs listed in `run.json` whose record file does not exist. */
  missing: string[];
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readBoundedText(path, READ_LIMITS.document, { exitCode: 2 });
  } catch (error) {
    if (error instanceof FileReadError && error.refusal === "not-found") {
      throw new UserError(`${path}: missing; ${what}`);
    }
    throw new UserError(`${path}: cannot read (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

function check<T>(schema: z.ZodType, value: unknown, path: string): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return value as T;
  const lines = describeIssues(result.error.issues).slice(0, 20).map((p) =>
    `${path}: ${p.path === "" ? "" : `${p.path}: `}${p.message}`
  );
  throw new UserError(lines.join("\n"));
}

/**
 * Reads `dir/run.json` and every job record it lists. A folder that is not a
 * run folder, or a record of the wrong shape, is a `UserError` naming the
 * file and the field.
 *
 * @example
 * ```ts
 * import { loadRunResults } from "./load_run.ts";
 * // const results = await loadRunResults("results/smoke/20260101T000000Z-abc1234");
 * ```
 */
export async function loadRunResults(dir: string): Promise<RunResults> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch {
    throw new UserError(`${dir}: no such results folder`);
  }
  if (!info.isDirectory) throw new UserError(`${dir}: not a folder (expected a run folder)`);
  const runPath = join(dir, RUN_LAYOUT.run);
  const run = check<RunRecord>(
    runRecordSchema,
    await readJson(
      runPath,
      "this is not a run folder (expected results/<benchmark>/<run-id>/ with run.json)",
    ),
    runPath,
  );
  const jobs: JobRecord[] = [];
  const missing: string[] = [];
  for (const id of run.jobs) {
    if (/[\/\\]|^\.\.?$/.test(id)) {
      throw new UserError(`${runPath}: jobs: invalid job id "${id}"`);
    }
    const path = join(dir, RUN_LAYOUT.jobsDir, `${id}.json`);
    let exists = true;
    try {
      await Deno.stat(path);
    } catch {
      exists = false;
    }
    if (!exists) {
      missing.push(id);
      continue;
    }
    const job = check<JobRecord>(jobRecordSchema, await readJson(path, "job record"), path);
    if (job.id !== id) {
      throw new UserError(`${path}: id: expected "${id}" (got ${JSON.stringify(job.id)})`);
    }
    await checkEpochsCsv(dir, job, path);
    jobs.push(job);
  }
  return { dir, run, jobs, missing };
}

/**
 * A finished job's per-epoch CSV (when present) must say what its record
 * says: the runner writes both from the same record, so a difference means
 * the CSV was truncated or edited. (A job that was running when its process
 * died may be one epoch apart; it is not checked.)
 */
async function checkEpochsCsv(dir: string, job: JobRecord, recordPath: string): Promise<void> {
  if (job.status === "running" || job.status === "pending") return;
  const path = join(dir, RUN_LAYOUT.jobsDir, `${job.id}.csv`);
  let text: string;
  try {
    text = await readBoundedText(path, READ_LIMITS.document, { exitCode: 2 });
  } catch (error) {
    if (!(error instanceof FileReadError && error.refusal === "not-found")) throw error;
    return; // Missing: the report rebuilds it.
  }
  if (text !== epochsCsv(job)) {
    throw new UserError(
      `${path} does not match its record ${recordPath} (truncated or edited?); delete the CSV ` +
        `and run "deno task dfkd report ${dir}" to rebuild it from the record`,
    );
  }
}
