/**
 * Errors caused by the user's input (a bad file, a missing dataset, an
 * unknown name). The CLI prints their message, without a stack trace, and
 * exits with their exit code.
 *
 * @module
 */

/**
 * An error the user can fix: its message says what was wrong, where, and what
 * to do. `exitCode` is 2 for unusable input (bad files, flags) and 1 for
 * failures of the work itself (missing data, failed checks).
 *
 * @example
 * ```ts
 * import { UserError } from "./errors.ts";
 * throw new UserError("benchmarks/x.json: budget.epochs: must be positive (got 0)");
 * ```
 */
export class UserError extends Error {
  /** The process exit code the CLI uses for this error. */
  readonly exitCode: number;
  /** Creates the error; `exitCode` defaults to 2 (unusable input). */
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** Causes of file system failures that are the environment's, in words, by OS error number. */
const OS_CAUSES: Record<number, string> = {
  1: "operation not permitted",
  2: "no such file or folder",
  13: "permission denied",
  17: "it already exists",
  20: "a part of the path is a file, not a folder",
  21: "it is a folder",
  28: "no space left on the device",
  30: "the file system is read-only",
  31: "too many links",
  36: "the name is too long",
  39: "the folder is not empty",
  122: "the disk quota is exceeded",
};

/**
 * The cause in words of a file system error from the environment (no space,
 * a read-only or full file system, permissions, a file where a folder should
 * be), or undefined for any other error.
 *
 * @example
 * ```ts
 * import { environmentCause } from "./errors.ts";
 * console.log(environmentCause(new Error("No space left on device (os error 28)")));
 * // no space left on the device
 * ```
 */
export function environmentCause(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = /\(os error (\d+)\)/.exec(error.message)?.[1];
  if (code !== undefined) return OS_CAUSES[Number(code)];
  if (error instanceof Deno.errors.PermissionDenied) return OS_CAUSES[13];
  if (error instanceof Deno.errors.NotADirectory) return OS_CAUSES[20];
  return undefined;
}

/**
 * A one-line `UserError` (exit code 1) for a file system error from the
 * environment, naming the path (`path` when given: the file being written;
 * else the one in Deno's message) and the cause; undefined for any other
 * error (a bug).
 *
 * @example
 * ```ts
 * import { environmentError } from "./errors.ts";
 * const e = environmentError(new Error("Read-only file system (os error 30): mkdir '/r/x'"));
 * console.log(e?.message); // Cannot mkdir /r/x: the file system is read-only
 * ```
 */
export function environmentError(error: unknown, path?: string): UserError | undefined {
  const cause = environmentCause(error);
  if (cause === undefined) return undefined;
  const message = (error as Error).message;
  const op = /\(os error \d+\): (\w+) '([^']*)'/.exec(message);
  const what = path !== undefined
    ? `Cannot write ${path}`
    : op !== null
    ? `Cannot ${op[1]} ${op[2]}`
    : "A file operation failed";
  const hint = /no space|quota/.test(cause)
    ? "; free some space and run it again"
    : /read-only|permission/.test(cause)
    ? "; use a writable folder (or make it writable)"
    : "";
  return new UserError(`${what}: ${cause}${hint}`, 1);
}
