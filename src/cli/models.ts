/**
 * `deno task dfkd models [--json]`: the model zoo, with the datasets each
 * architecture fits and its trainable parameter count on each.
 *
 * @module
 */
import { type BackendRequest, initBackend } from "../backends/init_backend.ts";
import { getDataset } from "../data/registry.ts";
import { trainableParameterCount } from "../models/layers.ts";
import { ARCHITECTURES, buildClassifier, datasetsFor } from "../models/registry.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";
import { formatTable } from "./table.ts";

const USAGE = "models [--json] [--backend auto|wasm|cpu|...]";

/** One row of `dfkd models --json`. */
export interface ModelRow {
  /** Architecture name. */
  name: string;
  /** Dataset name. */
  dataset: string;
  /** Trainable parameters for the dataset's input shape and classes. */
  trainableParams: number;
}

/**
 * Every architecture x dataset it fits, with trainable parameters (each model
 * is built, counted and disposed).
 *
 * @example
 * ```ts
 * import { initBackend } from "../backends/init_backend.ts";
 * import { modelRows } from "./models.ts";
 * await initBackend("auto");
 * console.log(modelRows().find((r) => r.name === "lenet5"));
 * ```
 */
export function modelRows(): ModelRow[] {
  const rows: ModelRow[] = [];
  for (const spec of Object.values(ARCHITECTURES)) {
    for (const dataset of datasetsFor(spec.name)) {
      const info = getDataset(dataset);
      const c = buildClassifier(spec.name, {
        inputShape: info.imageShape,
        classes: info.classes,
        seed: 0,
      });
      rows.push({ name: spec.name, dataset, trainableParams: trainableParameterCount(c.model) });
      c.model.dispose();
    }
  }
  return rows;
}

/**
 * Lists the model zoo.
 *
 * @example
 * ```ts
 * import { modelsCommand } from "./models.ts";
 * await modelsCommand.run(["--json"]);
 * ```
 */
export const modelsCommand: Command = {
  summary: "List the model zoo: architectures, the datasets they fit, trainable parameters",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      json: { type: "boolean" },
      backend: { type: "string", default: "auto" },
    }, USAGE);
    if (positionals.length > 0) {
      throw new UserError(`models takes no arguments\nUsage: deno task dfkd ${USAGE}`);
    }
    await initBackend((values.backend ?? "auto") as BackendRequest);
    const rows = modelRows();
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2));
      return 0;
    }
    const table = [["architecture", "dataset", "input", "classes", "parameters", "definition"]];
    for (const r of rows) {
      const info = getDataset(r.dataset);
      table.push([
        r.name,
        r.dataset,
        info.imageShape.join("x"),
        String(info.classes),
        r.trainableParams.toLocaleString("en-US"),
        ARCHITECTURES[r.name]?.description ?? "",
      ]);
    }
    console.log(formatTable(table, [3, 4]));
    return 0;
  },
};
