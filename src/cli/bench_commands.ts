/**
 * The benchmark commands (`run`, `validate`, `schema`) wired to the real
 * registries; the toolkit is imported on first use so `dfkd help` stays fast.
 *
 * @module
 */
import type { Toolkit } from "../bench/toolkit.ts";
import type { Command } from "./command.ts";
import { makePlanCommand } from "./plan.ts";
import { makeRunCommand } from "./run.ts";
import { makeMethodsCommand } from "./methods.ts";
import { makeRunJobCommand } from "./run_job.ts";
import { makeSchemaCommand } from "./schema.ts";
import { makeValidateCommand } from "./validate.ts";

/** Imports the default toolkit (datasets, models, teachers, methods). */
export function loadDefaultToolkit(): Promise<Toolkit> {
  return import("../bench/default_toolkit.ts").then((m) => m.toolkit);
}

/**
 * `dfkd run <file...>`.
 *
 * @example
 * ```ts
 * import { runCommand } from "./bench_commands.ts";
 * // Deno.exitCode = await runCommand.run(["benchmarks/smoke.json"]);
 * ```
 */
export const runCommand: Command = makeRunCommand({ loadToolkit: loadDefaultToolkit });

/**
 * `dfkd validate <file...>`.
 *
 * @example
 * ```ts
 * import { validateCommand } from "./bench_commands.ts";
 * // await validateCommand.run(["benchmarks/smoke.json"]);
 * ```
 */
export const validateCommand: Command = makeValidateCommand(loadDefaultToolkit);

/**
 * `dfkd schema [--check]`.
 *
 * @example
 * ```ts
 * import { schemaCommand } from "./bench_commands.ts";
 * // await schemaCommand.run(["--check"]);
 * ```
 */
export const schemaCommand: Command = makeSchemaCommand(loadDefaultToolkit);

/**
 * `dfkd methods`: the method plug-ins and their hyperparameters.
 *
 * @example
 * ```ts
 * import { methodsCommand } from "./bench_commands.ts";
 * // await methodsCommand.run(["--markdown"]);
 * ```
 */
export const methodsCommand: Command = makeMethodsCommand(loadDefaultToolkit);

/** `dfkd plan <file>` (a run folder with every job pending). */
export const planCommand: Command = makePlanCommand({ loadToolkit: loadDefaultToolkit });

/** `dfkd run-job <run-dir> --index I` (one job of a planned run). */
export const runJobCommand: Command = makeRunJobCommand({ loadToolkit: loadDefaultToolkit });
