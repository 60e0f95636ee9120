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
