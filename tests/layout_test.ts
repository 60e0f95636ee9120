/**
 * The folders of `src/` are layers, and imports run one way: a file may
 * import its own folder and the folders below it, never one above
 * (docs/ARCHITECTURE.md explains each layer).
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

/** Lowest first. */
const LAYERS = [
  "util",
  "backends",
  "data",
  "models",
  "methods",
  "results",
  "report",
  "bench",
  "tracking",
  "cluster",
  "cli",
];

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* sourceFiles(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

/** Relative specifiers of a file's import and export statements (JSDoc examples left out). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\s*(\*|\/\/)/.test(line)) continue;
    for (const m of line.matchAll(/(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+)"/g)) out.push(m[1]!);
  }
  return out;
}

Deno.test("src/ imports run from higher folders to lower ones only", async () => {
  const violations: string[] = [];
  for await (const file of sourceFiles("src")) {
    const from = relative("src", file).split("/")[0]!;
    assert.ok(LAYERS.includes(from), `${file}: folder "${from}" is not in the layer list`);
    for (const spec of importsOf(await Deno.readTextFile(file))) {
      const target = relative("src", join(dirname(file), spec)).split("/")[0]!;
      if (target === from || target.startsWith("..")) continue;
      if (LAYERS.indexOf(target) > LAYERS.indexOf(from)) {
        violations.push(`${file} imports ${spec} (${from} is below ${target})`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

Deno.test("the layer check sees a violation", () => {
  assert.deepEqual(importsOf('import { x } from "../bench/spec.ts";\n * import "../cli/main.ts"'), [
    "../bench/spec.ts",
  ]);
});
