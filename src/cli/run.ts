/**
 * `dfkd run <file...>`: runs benchmark files (see `src/bench/runner.ts`) and
 * prints each run's results table. `--resume <run-id>` (or `latest`)
 * continues an interrupted run. Ctrl-C once: every job finishes its current
 * step, saves a checkpoint and the command exits (code 130) printing the
 * exact command that resumes; twice: it exits at once.
 *
 * @module
 */
import { BACKEND_NAMES, type BackendRequest } from "../backends/init_backend.ts";
import { INTERRUPTED_EXIT_CODE, runBenchmark } from "../bench/runner.ts";
import {
  applySmoke,
  type BenchmarkFile,
  MAX_SEED,
  readBenchmark,
  resolveBenchmark,
} from "../bench/spec.ts";
import type { ResolvedBenchmark } from "../bench/spec.ts";
import type { Toolkit } from "../bench/toolkit.ts";
import { UserError } from "../util/errors.ts";
import { Interrupter } from "../util/interrupt.ts";
import { cliLogger, type ClosableLogger } from "../util/terminal_logger.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";

/** After a second Ctrl-C, how long the runner may take to record its killed jobs before the process exits anyway. */
const ABORT_GRACE_MS = 10_000;

const USAGE = `run <benchmark.json...> [--jobs N] [--methods a,b] [--seeds 0,1]
    [--backend auto|${BACKEND_NAMES.join("|")}] [--data-root DIR] [--out DIR]
    [--cache-dir DIR] [--smoke] [--resume <run-id>|latest]`;

/** Options of {@linkcode makeRunCommand}. */
export interface RunCommandOptions {
  /** Loads the toolkit (on first use, so `help` stays fast). */
  loadToolkit: () => Promise<Toolkit>;
  /** Toolkit module for job processes (tests pass a fake). */
  toolkitModule?: string;
  /** The logger (default: bars on a terminal, lines otherwise). */
  logger?: () => ClosableLogger;
  /**
   * Interrupt handling (default: a fresh one listening to SIGINT and SIGTERM
   * while the command runs; tests pass their own and call `interrupt()`).
   */
  interrupts?: Interrupter;
  /** Ends the process on a second interrupt (default `Deno.exit`). */
  exit?: (code: number) => void;
}

/** Quotes a command-line word for a POSIX shell when it needs it. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_.,:\/=@+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * The command that resumes `runId`: the same file and flags that decide
 * where and how it runs (not `--methods`/`--seeds`: the run keeps its jobs).
 */
function resumeCommand(
  file: string,
  runId: string,
  values: Record<string, string | boolean | undefined>,
): string {
  const words = ["deno", "task", "dfkd", "run", file];
  if (values.smoke) words.push("--smoke");
  for (const flag of ["jobs", "backend", "data-root", "out", "cache-dir"]) {
    const v = values[flag];
    if (typeof v !== "string") continue;
    if ((flag === "backend" && v === "auto") || (flag === "out" && v === "results")) continue;
    words.push(`--${flag}`, v);
  }
  words.push("--resume", runId);
  return words.map(shellWord).join(" ");
}

function parseList(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) {
    throw new UserError(`${flag} needs at least one name (got "${value}")`, 2);
  }
  return items;
}

function parseSeeds(value: string | undefined): number[] | undefined {
  const items = parseList("--seeds", value);
  if (items === undefined) return undefined;
  const seeds = items.map((s) => Number(s));
  const bad = items.find((s, i) => !/^\d+$/.test(s) || !((seeds[i] as number) <= MAX_SEED));
  if (bad !== undefined) {
    throw new UserError(
      `--seeds must be whole numbers from 0 to ${MAX_SEED} (as in a benchmark file), ` +
        `comma-separated (got "${bad}")`,
      2,
    );
  }
  if (new Set(seeds).size !== seeds.length) {
    throw new UserError(`--seeds repeats a seed (got "${value}")`, 2);
  }
  return seeds;
}

/**
 * The `run` command.
 *
 * @example
 * ```ts
 * import { makeRunCommand } from "./run.ts";
 * import type { Toolkit } from "../bench/toolkit.ts";
 * declare const toolkit: Toolkit;
 * const run = makeRunCommand({ loadToolkit: () => Promise.resolve(toolkit) });
 * // await run.run(["benchmarks/smoke.json", "--jobs", "2"]);
 * ```
 */
export function makeRunCommand(options: RunCommandOptions): Command {
  return {
    summary: "Run benchmark files: every pair x method x seed, in parallel processes",
    usage: USAGE,
    async run(args) {
      const { values, positionals } = parseCommandArgs(args, {
        jobs: { type: "string" },
        methods: { type: "string" },
        seeds: { type: "string" },
        backend: { type: "string", default: "auto" },
        "data-root": { type: "string" },
        out: { type: "string", default: "results" },
        "cache-dir": { type: "string" },
        smoke: { type: "boolean" },
        resume: { type: "string" },
      }, USAGE);
      if (positionals.length === 0) {
        throw new UserError(`Name at least one benchmark file\nUsage: deno task dfkd ${USAGE}`, 2);
      }
      const backend = values.backend ?? "auto";
      if (backend !== "auto" && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
        throw new UserError(
          `--backend must be auto or one of ${BACKEND_NAMES.join(", ")} (got "${backend}")`,
          2,
        );
      }
      const resume = values.resume;
      if (resume !== undefined) {
        if (positionals.length !== 1) {
          throw new UserError(
            `--resume continues one run: name exactly one benchmark file (got ${positionals.length})`,
            2,
          );
        }
        if (
          resume === "" || (resume !== "latest" && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(resume))
        ) {
          throw new UserError(
            `--resume needs a run id (a folder name under <out>/<benchmark>/) or "latest" (got "${resume}")`,
            2,
          );
        }
      }
      const jobs = parseIntFlag("--jobs", values.jobs, 1) ?? navigator.hardwareConcurrency;
      const methods = parseList("--methods", values.methods);
      const seeds = parseSeeds(values.seeds);
      const toolkit = await options.loadToolkit();
      const catalogue = toolkit.catalogue();

      // Every file is checked before anything runs.
      const problems: string[] = [];
      const benchmarks: ResolvedBenchmark[] = [];
      for (const path of positionals) {
        const r = await readBenchmark(path, catalogue);
        if (!r.ok) {
          problems.push(...r.lines);
          continue;
        }
        const resolved = resolveBenchmark(r.file, path, catalogue, r.source);
        benchmarks.push(
          values.smoke ? applySmoke(resolved, r.file as BenchmarkFile, catalogue) : resolved,
        );
      }
      if (problems.length > 0) throw new UserError(problems.join("\n"), 2);

      const dataRoot = toolkit.resolveDataRoot(values["data-root"]);
      const log = (options.logger ?? cliLogger)();
      const interrupts = options.interrupts ?? new Interrupter();
      const unlisten = options.interrupts ? () => {} : interrupts.listen();
      const exit = options.exit ?? ((code: number) => Deno.exit(code));
      let current: { file: string; runId: string } | undefined;
      // Before the jobs start (data, teachers): a Ctrl-C exits at once. Once jobs run, the
      // runner's own handler (registered later, so called first) kills them at once; the runner
      // then records them as interrupted and releases the run's lock, which takes well under a
      // second. Exit anyway if that bookkeeping hangs.
      let forceExit: ReturnType<typeof setTimeout> | undefined;
      const offAbort = interrupts.onAbort(() => {
        if (current !== undefined) {
          forceExit = setTimeout(() => {
            log.close();
            console.error(
              `\nStopped at once. Jobs resume from their last checkpoints:\n  ${
                resumeCommand(current!.file, current!.runId, values)
              }`,
            );
            exit(INTERRUPTED_EXIT_CODE);
          }, ABORT_GRACE_MS);
          return;
        }
        log.close();
        console.error("\nInterrupted before any job started; nothing to resume.");
        exit(INTERRUPTED_EXIT_CODE);
      });
      let exitCode = 0;
      try {
        for (const benchmark of benchmarks) {
          if (interrupts.stopping) break;
          const outcome = await runBenchmark(benchmark, {
            backend: backend as BackendRequest,
            dataRoot,
            out: values.out ?? "results",
            jobs,
            ...(methods ? { methods } : {}),
            ...(seeds ? { seeds } : {}),
            ...(values["cache-dir"] ? { cacheDir: values["cache-dir"] } : {}),
            log,
            toolkit,
            ...(options.toolkitModule ? { toolkitModule: options.toolkitModule } : {}),
            ...(resume !== undefined ? { resume } : {}),
            interrupts,
            onRunFolder: (_dir, runId) => current = { file: benchmark.file, runId },
          });
          log.close();
          if (outcome.interrupted) {
            const later = benchmarks.slice(benchmarks.indexOf(benchmark) + 1);
            const how = interrupts.aborting
              ? "Stopped at once: the running jobs were killed and resume from their last checkpoints."
              : "Interrupted: every running job saved a checkpoint.";
            console.error(
              `\n${how} Results so far: ${outcome.runDir}` +
                ` (deno task dfkd report ${shellWord(outcome.runDir)} shows them).\nTo resume:\n  ${
                  resumeCommand(benchmark.file, outcome.runId, values)
                }${
                  later.length > 0 ? `\nNot started: ${later.map((b) => b.file).join(", ")}` : ""
                }`,
            );
            return INTERRUPTED_EXIT_CODE;
          }
          console.log(`\n${outcome.summary}\n`);
          console.log(`Reports: ${outcome.reportFiles.join(", ")}`);
          exitCode = Math.max(exitCode, outcome.exitCode);
          current = undefined;
        }
      } finally {
        clearTimeout(forceExit);
        offAbort();
        unlisten();
        log.close();
      }
      return exitCode;
    },
  };
}
