/**
 * Command-line parsing for subcommands, on `node:util`'s `parseArgs`, turning
 * its errors into one-line `UserError`s that show the command's usage.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "../util/errors.ts";

/** Option declarations in `node:util` `parseArgs` form. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` against `options` (strict: unknown flags are errors) and
 * returns the values and positionals. Errors name the flag and show `usage`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandArgs } from "./parse_args.ts";
 * const { values, positionals } = parseCommandArgs(
 *   ["--json", "mnist"],
 *   { json: { type: "boolean" } },
 *   "datasets check <name> [--json]",
 * );
 * assert.equal(values.json, true);
 * assert.deepEqual(positionals, ["mnist"]);
 * ```
 */
export function parseCommandArgs<O extends OptionSpec>(
  args: string[],
  options: O,
  usage: string,
): {
  values: { [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string };
  positionals: string[];
} {
  // `--seeds -1`: a value that starts with "-" and a digit is a (bad) number, not a flag.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    const name = arg.startsWith("--") ? arg.slice(2) : undefined;
    if (
      name !== undefined && options[name]?.type === "string" && next !== undefined &&
      /^-[\d.]/.test(next)
    ) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  try {
    const parsed = parseArgs({ args: joined, options, allowPositionals: true, strict: true });
    return parsed as unknown as ReturnType<typeof parseCommandArgs<O>>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError(`${message.split("\n")[0]}\nUsage: deno task dfkd ${usage}`);
  }
}

/**
 * Parses a whole number flag value, or throws a `UserError` naming the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIntFlag } from "./parse_args.ts";
 * assert.equal(parseIntFlag("--jobs", "2", 1), 2);
 * ```
 */
export function parseIntFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max?: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UserError(
      `${flag} must be a whole number ${range} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}
