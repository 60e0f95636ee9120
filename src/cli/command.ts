/**
 * The shape of one CLI subcommand.
 *
 * @module
 */

/**
 * A subcommand of `deno task dfkd`: it parses its own arguments and returns
 * the process exit code. Bad input is reported by throwing a `UserError`.
 *
 * @example
 * ```ts
 * import type { Command } from "./command.ts";
 * const hello: Command = {
 *   summary: "Prints a greeting",
 *   usage: "hello",
 *   run: () => Promise.resolve(0),
 * };
 * ```
 */
export interface Command {
  /** One line shown in `dfkd help`. */
  summary: string;
  /** Usage line(s) shown by `dfkd help <command>` and on bad arguments. */
  usage: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}
