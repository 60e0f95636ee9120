/**
 * `dfkd plan <benchmark.json>`: creates a run folder with every job pending
 * (teachers prepared once, now), prints its id and job count, and runs
 * nothing. Its jobs then run one by one with `dfkd run-job`, on any machine
 * that sees the folder: as Slurm array tasks (`dfkd slurm`), Kubernetes
 * Indexed Job pods (`dfkd k8s`), or by hand.
 *
 * @module
 */
import { cp } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { BACKEND_NAMES, type BackendRequest } from "../backends/init_backend.ts";
import { runBenchmark } from "../bench/runner.ts";
import { applySmoke, type BenchmarkFile, readBenchmark, resolveBenchmark } from "../bench/spec.ts";
import type { Toolkit } from "../bench/toolkit.ts";
import { RUN_TEACHERS_DIR } from "../cluster/run_job.ts";
import { UserError } from "../util/errors.ts";
import { cliLogger, type ClosableLogger } from "../util/terminal_logger.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";
import { parseList, parseSeeds } from "./run.ts";

const USAGE = `plan <benchmark.json> [--smoke] [--methods a,b] [--seeds 0,1]
    [--backend auto|${BACKEND_NAMES.join("|")}] [--data-root DIR] [--out DIR] [--cache-dir DIR]
    [--bundle-teachers]

  Creates <out>/<benchmark>/<run-id>/ (run.json, a pending record per job), prepares the
  teachers once (from the cache, or trained now), and prints the run folder and its job count.
  --backend is the one every job will use (auto: the fastest here). --bundle-teachers copies
  the teachers into the run folder, for machines that do not share the teacher cache.`;

/** Options of {@linkcode makePlanCommand}. */
export interface PlanCommandOptions {
  /** Loads the toolkit. */
  loadToolkit: () => Promise<Toolkit>;
  /** The logger (default: the terminal's). */
  logger?: () => ClosableLogger;
}

/**
 * The `plan` command.
 *
 * @example
 * ```ts
 * import { makePlanCommand } from "./plan.ts";
 * import type { Toolkit } from "../bench/toolkit.ts";
 * const toolkit = {} as Toolkit; // the real one: src/bench/default_toolkit.ts
 * const plan = makePlanCommand({ loadToolkit: () => Promise.resolve(toolkit) });
 * // await plan.run(["benchmarks/smoke.json"]);
 * ```
 */
export function makePlanCommand(options: PlanCommandOptions): Command {
  return {
    summary: "Create a run folder with every job pending, to run on a cluster (run-job)",
    usage: USAGE,
    async run(args) {
      const { values, positionals } = parseCommandArgs(args, {
        methods: { type: "string" },
        seeds: { type: "string" },
        backend: { type: "string", default: "auto" },
        "data-root": { type: "string" },
        out: { type: "string", default: "results" },
        "cache-dir": { type: "string" },
        smoke: { type: "boolean" },
        "bundle-teachers": { type: "boolean" },
      }, USAGE);
      if (positionals.length !== 1) {
        throw new UserError(`Name exactly one benchmark file\nUsage: deno task dfkd ${USAGE}`, 2);
      }
      const file = positionals[0] as string;
      const backend = values.backend ?? "auto";
      if (backend !== "auto" && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
        throw new UserError(
          `--backend must be auto or one of ${BACKEND_NAMES.join(", ")} (got "${backend}")`,
          2,
        );
      }
      const methods = parseList("--methods", values.methods);
      const seeds = parseSeeds(values.seeds);
      const toolkit = await options.loadToolkit();
      const catalogue = toolkit.catalogue();
      const r = await readBenchmark(file, catalogue);
      if (!r.ok) throw new UserError(r.lines.join("\n"), 2);
      const resolved = resolveBenchmark(r.file, file, catalogue, r.source);
      const benchmark = values.smoke
        ? applySmoke(resolved, r.file as BenchmarkFile, catalogue)
        : resolved;
      const log = (options.logger ?? cliLogger)();
      try {
        const outcome = await runBenchmark(benchmark, {
          backend: backend as BackendRequest,
          dataRoot: toolkit.resolveDataRoot(values["data-root"]),
          out: resolve(values.out ?? "results"),
          jobs: 1,
          ...(methods ? { methods } : {}),
          ...(seeds ? { seeds } : {}),
          ...(values["cache-dir"] ? { cacheDir: values["cache-dir"] } : {}),
          log,
          toolkit,
          planOnly: true,
        });
        log.close();
        if (values["bundle-teachers"]) await bundleTeachers(outcome.runDir, outcome.records);
        const n = outcome.records.length;
        console.log(
          `Planned run ${outcome.runId}: ${n} jobs (indexes 0-${n - 1}) in ${outcome.runDir}`,
        );
        console.log(
          `Run them with: deno task dfkd run-job ${outcome.runDir} --index I, or\n` +
            `  deno task dfkd slurm ${outcome.runDir} --submit\n` +
            `  deno task dfkd k8s ${outcome.runDir} --image IMG --volume-claim PVC`,
        );
        return 0;
      } finally {
        log.close();
      }
    },
  };
}

/** Copies each distinct teacher of `records` into `<runDir>/teachers/<its folder name>`. */
async function bundleTeachers(
  runDir: string,
  records: { config: unknown }[],
): Promise<void> {
  const paths = new Set(
    records.map((r) => (r.config as { teacher: { path: string } }).teacher.path),
  );
  await Deno.mkdir(join(runDir, RUN_TEACHERS_DIR), { recursive: true });
  for (const path of paths) {
    await cp(path, join(runDir, RUN_TEACHERS_DIR, basename(path)), { recursive: true });
  }
}
