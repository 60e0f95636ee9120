/**
 * Runs the `dfkd` command line as a real subprocess, for the CLI tests.
 *
 * @module
 */

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** What a CLI subprocess printed and how it exited. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Options of {@linkcode runCli}. */
export interface RunCliOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory (default: the test's). */
  cwd?: string;
  /** Kill the process (SIGKILL) after this many milliseconds; it then exits with code 137. */
  timeoutMs?: number;
}

/**
 * Runs `deno run -A src/cli/main.ts <args>` with stdin closed and returns its output.
 *
 * @example
 * ```ts
 * import { runCli } from "./run_cli.ts";
 * const { code, stdout } = await runCli(["help"]);
 * console.log(code, stdout.startsWith("Usage:")); // 0 true
 * ```
 */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  const timer = options.timeoutMs === undefined
    ? undefined
    : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}
