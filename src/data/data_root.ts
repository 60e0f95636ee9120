/**
 * Where datasets live on disk: the `--data-root` flag, else the `DFKD_DATA`
 * environment variable, else `~/.cache/dfkd-bench/data`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { homedir } from "node:os";

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
