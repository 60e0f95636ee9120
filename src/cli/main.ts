/**
 * The `dfkd` command line: `deno task dfkd <command> [options]`.
 *
 * @module
 */
import { BackendUnavailableError } from "../backends/init_backend.ts";
import { environmentError, UserError } from "../util/errors.ts";
import {
  methodsCommand,
  planCommand,
  runCommand,
  runJobCommand,
  schemaCommand,
  validateCommand,
} from "./bench_commands.ts";
import type { Command } from "./command.ts";
import { datasetsCommand } from "./datasets.ts";
import { doctorCommand } from "./doctor.ts";
import { modelsCommand } from "./models.ts";
import { teacherCommand } from "./teacher.ts";
import { compareCommand } from "./compare.ts";
import { historyCommand } from "./history.ts";
import { nightlyCommand } from "./nightly.ts";
import { reportCommand } from "./report.ts";
import { k8sCommand } from "./k8s.ts";
import { slurmCommand } from "./slurm.ts";
import { statusCommand } from "./status.ts";

/** Every subcommand by name; adding one is one file plus one line here. */
export const COMMANDS: Record<string, Command> = {
  doctor: doctorCommand,
  compare: compareCommand,
  history: historyCommand,
  nightly: nightlyCommand,
  datasets: datasetsCommand,
  report: reportCommand,
  run: runCommand,
  validate: validateCommand,
  schema: schemaCommand,
  models: modelsCommand,
  methods: methodsCommand,
  teacher: teacherCommand,
  plan: planCommand,
  "run-job": runJobCommand,
  status: statusCommand,
  slurm: slurmCommand,
  k8s: k8sCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `Usage: deno task dfkd <command> [options]\n\nCommands:\n${
    lines.join("\n")
  }\n\nRun "deno task dfkd help <command>" for a command's options.`;
}

/**
 * Runs the CLI with `args` and resolves to the exit code. Errors caused by
 * input are printed as one clear message, without a stack trace.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["help"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = rest[0];
    const command = topic === undefined ? undefined : COMMANDS[topic];
    console.log(command === undefined ? help() : `Usage: deno task dfkd ${command.usage}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`error: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  const beforeSeparator = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (beforeSeparator.includes("--help") || beforeSeparator.includes("-h")) {
    console.log(`Usage: deno task dfkd ${command.usage}`);
    return 0;
  }
  return await runGuarded(command, rest);
}

/**
 * Runs one command and resolves to its exit code; what it throws is printed
 * as one line (`error: ...`): a `UserError` with its exit code, an
 * environment failure (no space, a read-only folder) with exit code 1 and
 * the path, anything else as a bug (exit 1, stack trace with `DFKD_DEBUG`).
 *
 * @example
 * ```ts
 * import { runGuarded } from "./main.ts";
 * const code = await runGuarded({ summary: "", usage: "", run: () => Promise.resolve(0) }, []);
 * ```
 */
export async function runGuarded(command: Command, args: string[]): Promise<number> {
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UserError) {
      console.error(`error: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof BackendUnavailableError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    // The environment's, not a bug: no space left, a read-only folder, a file as a folder.
    const environment = environmentError(error);
    if (environment !== undefined) {
      console.error(`error: ${environment.message}`);
      return environment.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message}`);
    if (Deno.env.get("DFKD_DEBUG") && error instanceof Error) console.error(error.stack);
    else console.error("(this looks like a bug in dfkd-bench; set DFKD_DEBUG=1 for a stack trace)");
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
