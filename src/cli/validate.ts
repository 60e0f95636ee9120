/**
 * `dfkd validate <file...>`: checks benchmark files against the schema and
 * the registries, the teacher files, and each job's memory estimated from
 * shapes against the backend's limit (`--backend`, default wasm: its 4 GiB
 * heap), printing every problem as `file: field.path: what is wrong (got X)`
 * (exit code 2 when any file is invalid).
 *
 * @module
 */
import { basename } from "node:path";
import { BACKEND_NAMES } from "../backends/init_backend.ts";
import { expandJobs } from "../bench/job_plan.ts";
import { checkMethodSettings } from "../bench/runner.ts";
import {
  applySmoke,
  type BenchmarkFile,
  readBenchmark,
  resolveBenchmark,
  type ResolvedBenchmark,
} from "../bench/spec.ts";
import type { Toolkit } from "../bench/toolkit.ts";
import { checkTeacherFiles } from "../models/teacher/load.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";

const USAGE = `validate <benchmark.json...> [--backend ${BACKEND_NAMES.join("|")}]`;

/**
 * The `validate` command, with the toolkit loaded on first use.
 *
 * @example
 * ```ts
 * import { makeValidateCommand } from "./validate.ts";
 * import type { Toolkit } from "../bench/toolkit.ts";
 * declare const toolkit: Toolkit;
 * const validate = makeValidateCommand(() => Promise.resolve(toolkit));
 * // await validate.run(["benchmarks/smoke.json"]);
 * ```
 */
export function makeValidateCommand(loadToolkit: () => Promise<Toolkit>): Command {
  return {
    summary: "Check benchmark files (every problem, with its field and value)",
    usage: USAGE,
    async run(args) {
      const { values, positionals } = parseCommandArgs(args, {
        backend: { type: "string", default: "wasm" },
      }, USAGE);
      const backend = backendFlag(String(values.backend));
      if (positionals.length === 0) {
        throw new UserError(`Name at least one benchmark file\nUsage: deno task dfkd ${USAGE}`);
      }
      const toolkit = await loadToolkit();
      const catalogue = toolkit.catalogue();
      let backendReady = false;
      const problems: string[] = [];
      for (const path of positionals) {
        if (await isGeneratedSchema(path)) {
          console.log(`${path}: skipped (the generated JSON Schema, not a benchmark file)`);
          continue;
        }
        const r = await readBenchmark(path, catalogue);
        if (!r.ok) {
          problems.push(...r.lines);
          continue;
        }
        const b = resolveBenchmark(r.file, path, catalogue, r.source);
        const teacherProblems = await teacherFileProblems(path, b);
        if (teacherProblems.length > 0) {
          problems.push(...teacherProblems);
          continue;
        }
        // The methods' own checks (ranges, sizes, memory), as a run makes before it starts.
        if (!backendReady) {
          await toolkit.initBackend("cpu");
          backendReady = true;
        }
        const found = [
          ...await pytorchFileProblems(path, b, r.file),
          ...await methodProblems(path, b, r.file, toolkit, backend),
        ];
        if (found.length === 0) console.log(okLine(path, b));
        problems.push(...found.filter((l) => !problems.includes(l)));
      }
      if (problems.length > 0) throw new UserError(problems.join("\n"));
      return 0;
    },
  };
}

/** `--backend`: a backend name (the memory estimate's limit). */
function backendFlag(backend: string): string {
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new UserError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")} (got "${backend}"): the memory ` +
        "estimate is held to that backend's limit",
    );
  }
  return backend;
}

/** Teacher files given by path, as a run reads them (without loading the models). */
async function teacherFileProblems(path: string, b: ResolvedBenchmark): Promise<string[]> {
  const problems: string[] = [];
  for (const pair of b.pairs) {
    if (pair.teacher.kind !== "path") continue;
    try {
      await checkTeacherFiles(pair.teacher.path);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      problems.push(`${path}: pairs: ${pair.id}: teacher: ${error.message}`);
    }
  }
  return problems;
}

/** PyTorch checkpoints named by the file that are not readable files. */
async function pytorchFileProblems(
  path: string,
  b: ResolvedBenchmark,
  file: BenchmarkFile,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, pair] of file.pairs.entries()) {
    const teacher = b.pairs[i]?.teacher;
    if (teacher?.kind !== "pytorch") continue;
    try {
      if (!(await Deno.stat(teacher.file)).isFile) throw new Error("not a file");
    } catch {
      problems.push(
        `${path}: pairs[${i}].teacher.pytorch: ${
          JSON.stringify(pair.teacher.pytorch)
        } is not a readable file (${teacher.file})`,
      );
    }
  }
  return problems;
}

/** The methods' checks on the file and on its smoke variant (lines marked `(smoke)`). */
async function methodProblems(
  path: string,
  b: ResolvedBenchmark,
  file: BenchmarkFile,
  toolkit: Toolkit,
  backend: string,
): Promise<string[]> {
  const problems: string[] = [];
  for (const variant of [b, applySmoke(b, file, toolkit.catalogue())]) {
    try {
      await checkMethodSettings(variant, toolkit, backend);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      const lines = error.message.split("\n").map((l) =>
        variant.smoke ? l.replace(`${path}: `, `${path}: (smoke) `) : l
      );
      problems.push(...lines.filter((l) => !problems.includes(l)));
    }
  }
  return problems;
}

/** The line for a valid file: its jobs and budget. */
function okLine(path: string, b: ResolvedBenchmark): string {
  const jobs = expandJobs(b).length;
  const bud = b.budget;
  return `${path}: ok (${b.name}: ${jobs} jobs = ${b.pairs.length} pair(s) x ${b.methods.length} method(s) x ${b.seeds.length} seed(s); ${bud.epochs} epochs x ${bud.iterationsPerEpoch} iterations, batch ${bud.batchSize}${
    b.scaled ? `; scaled${b.scaledLabel ? `: ${b.scaledLabel}` : ""}` : ""
  })`;
}

/**
 * Whether `path` is `benchmarks/schema.json` as `dfkd schema` writes it (so
 * `validate benchmarks/*.json` checks the benchmarks beside it and skips it).
 */
async function isGeneratedSchema(path: string): Promise<boolean> {
  if (basename(path) !== "schema.json") return false;
  try {
    const value = JSON.parse(await Deno.readTextFile(path)) as { $id?: unknown };
    return typeof value.$id === "string" && value.$id.endsWith("/benchmarks/schema.json");
  } catch {
    return false;
  }
}
