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
import { MAX_WASM_THREADS } from "../backends/wasm_threads.ts";
import { INTERRUPTED_EXIT_CODE, runBenchmark, type RunOutcome } from "../bench/runner.ts";
import {
  applySmoke,
  type Catalogue,
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

const USAGE = `run <benchmark.json...> [--jobs N] [--threads N] [--methods a,b] [--seeds 0,1]
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
  for (const flag of ["jobs", "threads", "backend", "data-root", "out", "cache-dir"]) {
    const v = values[flag];
    if (typeof v !== "string") continue;
    if ((flag === "backend" && v === "auto") || (flag === "out" && v === "results")) continue;
    words.push(`--${flag}`, v);
  }
  words.push("--resume", runId);
  return words.map(shellWord).join(" ");
}

/**
 * A comma-separated flag value as a list (`--methods a,b`), or a `UserError`.
 *
 * @example
 * ```ts
 * import { parseList } from "./run.ts";
 * console.log(parseList("--methods", "a, b")); // [ "a", "b" ]
 * ```
 */
export function parseList(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) {
    throw new UserError(`${flag} needs at least one name (got "${value}")`);
  }
  return items;
}

/**
 * The `--seeds 0,1` flag as distinct whole numbers, or a `UserError`.
 *
 * @example
 * ```ts
 * import { parseSeeds } from "./run.ts";
 * console.log(parseSeeds("0,1")); // [ 0, 1 ]
 * ```
 */
export function parseSeeds(value: string | undefined): number[] | undefined {
  const items = parseList("--seeds", value);
  if (items === undefined) return undefined;
  const seeds = items.map((s) => Number(s));
  const bad = items.find((s, i) => !/^\d+$/.test(s) || !((seeds[i] as number) <= MAX_SEED));
  if (bad !== undefined) {
    throw new UserError(
      `--seeds must be whole numbers from 0 to ${MAX_SEED} (as in a benchmark file), ` +
        `comma-separated (got "${bad}")`,
    );
  }
  if (new Set(seeds).size !== seeds.length) {
    throw new UserError(`--seeds repeats a seed (got "${value}")`);
  }
  return seeds;
}

/** `--backend`: `auto` or a backend name. */
function checkBackend(backend: string): string {
  if (backend !== "auto" && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new UserError(
      `--backend must be auto or one of ${BACKEND_NAMES.join(", ")} (got "${backend}")`,
    );
  }
  return backend;
}

/** `--resume`: one benchmark file, and a run id or `latest`. */
function checkResume(resume: string, files: number): void {
  if (files !== 1) {
    throw new UserError(
      `--resume continues one run: name exactly one benchmark file (got ${files})`,
    );
  }
  if (resume === "" || (resume !== "latest" && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(resume))) {
    throw new UserError(
      `--resume needs a run id (a folder name under <out>/<benchmark>/) or "latest" (got "${resume}")`,
    );
  }
}

/** Reads and resolves every file before anything runs; all their problems are one `UserError`. */
async function loadBenchmarks(
  paths: string[],
  catalogue: Catalogue,
  smoke: boolean,
): Promise<ResolvedBenchmark[]> {
  const problems: string[] = [];
  const benchmarks: ResolvedBenchmark[] = [];
  for (const path of paths) {
    const r = await readBenchmark(path, catalogue);
    if (!r.ok) {
      problems.push(...r.lines);
      continue;
    }
    const resolved = resolveBenchmark(r.file, path, catalogue, r.source);
    benchmarks.push(smoke ? applySmoke(resolved, r.file, catalogue) : resolved);
  }
  if (problems.length > 0) throw new UserError(problems.join("\n"));
  return benchmarks;
}

/** What the run command prints when an interrupt stopped a run: where the results are, how to resume. */
function interruptedMessage(
  outcome: RunOutcome,
  benchmark: ResolvedBenchmark,
  later: ResolvedBenchmark[],
  interrupts: Interrupter,
  values: Parameters<typeof resumeCommand>[2],
): string {
  const how = interrupts.aborting
    ? "Stopped at once: the running jobs were killed and resume from their last checkpoints."
    : "Interrupted: every running job saved a checkpoint.";
  return `\n${how} Results so far: ${outcome.runDir}` +
    ` (deno task dfkd report ${shellWord(outcome.runDir)} shows them).\nTo resume:\n  ${
      resumeCommand(benchmark.file, outcome.runId, values)
    }${later.length > 0 ? `\nNot started: ${later.map((b) => b.file).join(", ")}` : ""}`;
}

/**
 * The second Ctrl-C: before any job started, exit at once; once jobs run,
 * the runner's own handler (registered later, so called first) kills them,
 * records them as interrupted and releases the run's lock, which takes well
 * under a second: exit anyway after {@linkcode ABORT_GRACE_MS} if that
 * bookkeeping hangs. Returns the function that removes the handler.
 */
function exitOnAbort(
  interrupts: Interrupter,
  log: ClosableLogger,
  exit: (code: number) => void,
  current: () => { file: string; runId: string } | undefined,
  values: Parameters<typeof resumeCommand>[2],
): () => void {
  let forceExit: ReturnType<typeof setTimeout> | undefined;
  const off = interrupts.onAbort(() => {
    const running = current();
    if (running !== undefined) {
      forceExit = setTimeout(() => {
        log.close();
        console.error(
          `\nStopped at once. Jobs resume from their last checkpoints:\n  ${
            resumeCommand(running.file, running.runId, values)
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
  return () => {
    clearTimeout(forceExit);
    off();
  };
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
        threads: { type: "string" },
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
        throw new UserError(`Name at least one benchmark file\nUsage: deno task dfkd ${USAGE}`);
      }
      const backend = checkBackend(values.backend ?? "auto");
      const resume = values.resume;
      if (resume !== undefined) checkResume(resume, positionals.length);
      const jobs = parseIntFlag("--jobs", values.jobs, 1) ?? navigator.hardwareConcurrency;
      const threads = parseIntFlag("--threads", values.threads, 1, MAX_WASM_THREADS);
      const methods = parseList("--methods", values.methods);
      const seeds = parseSeeds(values.seeds);
      const toolkit = await options.loadToolkit();
      const catalogue = toolkit.catalogue();

      const benchmarks = await loadBenchmarks(positionals, catalogue, values.smoke === true);

      const dataRoot = toolkit.resolveDataRoot(values["data-root"]);
      const log = (options.logger ?? cliLogger)();
      const interrupts = options.interrupts ?? new Interrupter();
      const unlisten = options.interrupts ? () => {} : interrupts.listen();
      const exit = options.exit ?? ((code: number) => Deno.exit(code));
      let current: { file: string; runId: string } | undefined;
      const offAbort = exitOnAbort(interrupts, log, exit, () => current, values);
      let exitCode = 0;
      try {
        for (const benchmark of benchmarks) {
          if (interrupts.stopping) break;
          const outcome = await runBenchmark(benchmark, {
            backend: backend as BackendRequest,
            dataRoot,
            out: values.out ?? "results",
            jobs,
            ...(threads !== undefined ? { threads } : {}),
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
            console.error(interruptedMessage(outcome, benchmark, later, interrupts, values));
            return INTERRUPTED_EXIT_CODE;
          }
          console.log(`\n${outcome.summary}\n`);
          console.log(`Reports: ${outcome.reportFiles.join(", ")}`);
          exitCode = Math.max(exitCode, outcome.exitCode);
          current = undefined;
        }
      } finally {
        offAbort();
        unlisten();
        log.close();
      }
      return exitCode;
    },
  };
}
