/**
 * `dfkd schema [--check] [--out FILE]`: writes the JSON Schema of benchmark
 * files (`benchmarks/schema.json`), generated from the validation schema and
 * the registries, or checks that the committed one is up to date.
 *
 * @module
 */
import { benchmarkJsonSchema } from "../bench/spec.ts";
import type { Toolkit } from "../bench/toolkit.ts";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { READ_LIMITS, readBoundedText } from "../util/bounded_read.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";

const USAGE = "schema [--out benchmarks/schema.json] [--check]";

/** Where the generated JSON Schema is committed. */
export const SCHEMA_PATH = "benchmarks/schema.json";

/**
 * The `schema` command.
 *
 * @example
 * ```ts
 * import { makeSchemaCommand } from "./schema.ts";
 * import type { Toolkit } from "../bench/toolkit.ts";
 * declare const toolkit: Toolkit;
 * const schema = makeSchemaCommand(() => Promise.resolve(toolkit));
 * // await schema.run(["--check"]);
 * ```
 */
export function makeSchemaCommand(loadToolkit: () => Promise<Toolkit>): Command {
  return {
    summary: "Write (or --check) benchmarks/schema.json, the JSON Schema of benchmark files",
    usage: USAGE,
    async run(args) {
      const { values } = parseCommandArgs(args, {
        out: { type: "string", default: SCHEMA_PATH },
        check: { type: "boolean" },
      }, USAGE);
      const path = values.out ?? SCHEMA_PATH;
      const schema = benchmarkJsonSchema((await loadToolkit()).catalogue());
      if (values.check) {
        let committed: unknown;
        try {
          committed = JSON.parse(await readBoundedText(path, READ_LIMITS.document));
        } catch (error) {
          throw new UserError(`${path}: cannot read it (${(error as Error).message})`, 1);
        }
        if (JSON.stringify(committed) !== JSON.stringify(schema)) {
          throw new UserError(
            `${path} is out of date with src/bench/spec.ts and the registries; run: deno task dfkd schema`,
            1,
          );
        }
        console.log(`${path} is up to date`);
        return 0;
      }
      await writeTextFileAtomic(path, JSON.stringify(schema, null, 2) + "\n");
      console.log(`Wrote ${path}`);
      return 0;
    },
  };
}
