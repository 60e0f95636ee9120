/**
 * Where datasets live on disk: the `--data-root` flag, else the `DFKD_DATA`
 * environment variable, else `~/.cache/dfkd-bench/data`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { homedir } from "node:os";
import { UserError } from "../util/errors.ts";

/** The environment variable that sets the data root when no flag is given. */
export const DATA_ROOT_ENV = "DFKD_DATA";

/**
 * Resolves the data root to an absolute path: `flag` if given, then
 * `$DFKD_DATA`, then `~/.cache/dfkd-bench/data`. Nothing is created.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveDataRoot } from "./data_root.ts";
 * assert.equal(resolveDataRoot("/srv/data"), "/srv/data");
 * ```
 */
export function resolveDataRoot(flag?: string): string {
  if (flag !== undefined && flag !== "") return resolve(flag);
  const env = Deno.env.get(DATA_ROOT_ENV);
  if (env !== undefined && env !== "") return resolve(env);
  return join(homedir(), ".cache", "dfkd-bench", "data");
}

/**
 * Refuses a data root that exists but is not a folder (a file given as
 * `--data-root` or `DFKD_DATA`), with a `UserError` (exit code 2) naming it.
 * A missing data root is fine (fetch creates it; loads say what to fetch).
 *
 * @example
 * ```ts
 * import { checkDataRoot } from "./data_root.ts";
 * await checkDataRoot("/nonexistent/data"); // fine: not there yet
 * ```
 */
export async function checkDataRoot(dataRoot: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dataRoot);
  } catch {
    return;
  }
  if (!info.isDirectory) {
    throw new UserError(
      `The data root ${dataRoot} is a file, not a folder (from --data-root or ${DATA_ROOT_ENV}); ` +
        `give the folder that holds the datasets`,
      2,
    );
  }
}
