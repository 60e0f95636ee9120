/**
 * `dfkd nightly` (also `deno task nightly`): run every benchmark tagged
 * `nightly`, add each run to the history, compare with the previous
 * comparable entry, write the report; exit 1 on a regression or a failed run.
 *
 * @module
 */
import { join } from "node:path";
import { DEFAULT_HISTORY_DIR } from "../tracking/history.ts";
import {
  DEFAULT_NIGHTLY_DIR,
  findNightlyBenchmarks,
  type NightlyBenchmark,
  runNightly,
  type RunStep,
} from "../tracking/nightly.ts";
import { readBenchmarkHead } from "../bench/spec.ts";
import { READ_LIMITS, readBoundedText } from "../util/bounded_read.ts";
import { UserError } from "../util/errors.ts";
import { lineLogger } from "../util/logger.ts";
import type { Command } from "./command.ts";
import { COMPARE_FLAGS, compareOverrides } from "./compare.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";

const USAGE = `nightly [<benchmark-file>...] [options]

  <benchmark-file>...       benchmarks to run (default: every benchmarks/*.json tagged "nightly")
  --results <dir>           use this existing results folder instead of running (repeatable;
                            for a CI job that ran "dfkd run" itself)
  --backend <name>          backend for the runner (default: the runner's)
  --jobs <n>                parallel job processes for the runner (default: the runner's)
  --data-root <dir>         data root for the runner (default: the runner's)
  --smoke                   run each benchmark with the runner's tiny --smoke budget (wiring check;
                            smoke runs are compared only with smoke runs)
  --results-root <dir>      where the runner writes results (default results)
  --machine <label>         machine label in the history (default $DFKD_MACHINE, else host name)
  --out <dir>               report folder (default ${DEFAULT_NIGHTLY_DIR})
  --history-dir <dir>       history folder (default ${DEFAULT_HISTORY_DIR})
  --min-effect, --min-time-effect, --alpha, --gate, --allow-different-env, --allow-empty:
                            as for compare

Exit code: 0 no regression, 1 a regression or a failed run, 2 unusable input or nothing
compared.`;

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function runFolders(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.add(e.name);
  } catch {
    // No folder yet.
  }
  return out;
}

async function hasRunJson(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(join(dir, "run.json"))).isFile;
  } catch {
    return false;
  }
}

/**
 * A {@linkcode RunStep} that runs `deno task dfkd run <file>` as a subprocess
 * (output shown as it comes) and finds the run folder it created under
 * `<resultsRoot>/<benchmark>/`.
 *
 * @example
 * ```ts
 * import { subprocessRunStep } from "./nightly.ts";
 * const step = subprocessRunStep({ resultsRoot: "results", extraArgs: ["--backend", "wasm"] });
 * const r = await step({ file: "benchmarks/mnist-lenet5-quick.json", name: "mnist-lenet5-quick" });
 * console.log(r.exitCode, r.resultsDir);
 * ```
 */
export function subprocessRunStep(
  options: {
    resultsRoot: string;
    extraArgs: string[];
    /** The runner command before `<file> --out <root>` (default: this Deno, `main.ts run`). */
    command?: string[];
  },
): RunStep {
  return async (b: NightlyBenchmark) => {
    const benchDir = join(options.resultsRoot, b.name);
    const before = await runFolders(benchDir);
    const [program, ...prefix] = options.command ?? [Deno.execPath(), "run", "-A", MAIN, "run"];
    const child = new Deno.Command(program as string, {
      args: [...prefix, b.file, "--out", options.resultsRoot, ...options.extraArgs],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    });
    const { code } = await child.output();
    const created: string[] = [];
    for (const name of await runFolders(benchDir)) {
      if (!before.has(name) && await hasRunJson(join(benchDir, name))) created.push(name);
    }
    created.sort();
    const newest = created[created.length - 1];
    return newest === undefined
      ? { exitCode: code }
      : { exitCode: code, resultsDir: join(benchDir, newest) };
  };
}

/**
 * The `nightly` command.
 *
 * @example
 * ```ts
 * import { nightlyCommand } from "./nightly.ts";
 * Deno.exitCode = await nightlyCommand.run([]);
 * ```
 */
export const nightlyCommand: Command = {
  summary: "Run the nightly benchmarks, record them in the history, compare; exit 1 on regression",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      results: { type: "string", multiple: true },
      backend: { type: "string" },
      jobs: { type: "string" },
      "data-root": { type: "string" },
      smoke: { type: "boolean" },
      "results-root": { type: "string" },
      machine: { type: "string" },
      out: { type: "string" },
      ...COMPARE_FLAGS,
    }, USAGE);
    const overrides = compareOverrides(values);
    const log = lineLogger();
    const common = {
      historyDir: values["history-dir"] ?? DEFAULT_HISTORY_DIR,
      outDir: values.out ?? DEFAULT_NIGHTLY_DIR,
      overrides,
      log,
      ...(values.machine === undefined ? {} : { machine: values.machine }),
    };
    const given = (values.results ?? []) as unknown as string[];
    let result;
    if (given.length > 0) {
      if (positionals.length > 0) {
        throw new UserError("Give benchmark files to run or --results folders, not both");
      }
      // Existing folders: the "run step" hands each one back as it is.
      const benchmarks: NightlyBenchmark[] = [];
      for (const dir of given) {
        const run = await readRunName(dir);
        benchmarks.push({ file: dir, name: run });
      }
      result = await runNightly({
        ...common,
        benchmarks,
        runStep: (b) => Promise.resolve({ exitCode: 0, resultsDir: b.file }),
      });
    } else {
      const benchmarks = positionals.length > 0
        ? await Promise.all(
          positionals.map(async (file) => ({ file, name: (await readBenchmarkHead(file)).name })),
        )
        : await findNightlyBenchmarks();
      if (benchmarks.length === 0) {
        throw new UserError(
          `No benchmark is tagged "nightly" in benchmarks/ (add "nightly" to a file's tags, ` +
            `or name files to run)`,
        );
      }
      const extraArgs: string[] = [];
      if (values.backend !== undefined) extraArgs.push("--backend", values.backend);
      const jobs = parseIntFlag("--jobs", values.jobs, 1);
      if (jobs !== undefined) extraArgs.push("--jobs", String(jobs));
      if (values["data-root"] !== undefined) extraArgs.push("--data-root", values["data-root"]);
      if (values.smoke) extraArgs.push("--smoke");
      result = await runNightly({
        ...common,
        benchmarks,
        runStep: subprocessRunStep({
          resultsRoot: values["results-root"] ?? "results",
          extraArgs,
        }),
      });
    }
    for (const r of result.results) {
      const what = r.regression
        ? `REGRESSION (${r.comparison?.regressions.length ?? 0})`
        : r.failed
        ? "FAILED"
        : r.comparison
        ? "no regression"
        : "first entry, nothing to compare";
      console.log(`${r.benchmark}: ${what}`);
      for (const reg of r.comparison?.regressions ?? []) {
        console.log(`  - ${reg.pair} / ${reg.method}: ${reg.detail}`);
      }
      for (const p of r.problems) console.log(`  note: ${p}`);
    }
    console.log(`Report: ${result.reportPath}`);
    return result.exitCode;
  },
};

async function readRunName(dir: string): Promise<string> {
  try {
    const run = JSON.parse(await readBoundedText(join(dir, "run.json"), READ_LIMITS.document));
    if (typeof run?.benchmark === "string") return run.benchmark;
  } catch {
    // Reported below with the full check.
  }
  // summariseResults (in runNightly) gives the detailed error; name it by folder meanwhile.
  const { summariseResults } = await import("../tracking/run_summary.ts");
  return (await summariseResults(dir)).benchmark;
}
