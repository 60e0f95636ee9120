import assert from "node:assert/strict";
import { defaultCatalogue } from "../../src/bench/default_toolkit.ts";
import { METHODS_DOC, methodsDoc, methodsMarkdown } from "../../src/cli/methods.ts";

Deno.test("docs/methods.md holds the hyperparameter table the plug-ins declare", async () => {
  const text = await Deno.readTextFile(METHODS_DOC);
  const expected = await methodsDoc(text, defaultCatalogue().methods);
  assert.ok(
    text === expected,
    `${METHODS_DOC} is out of date with the method plug-ins; run: deno task dfkd methods --write ${METHODS_DOC}`,
  );
});

Deno.test("the methods table has one row per distinct declaration, with the methods having it", () => {
  const md = methodsMarkdown({
    a: {
      description: "A.",
      hyperparameters: {
        lr: { default: 0.1, description: "Rate.", min: 0 },
        mode: { default: "x", description: "Mode x|y.", choices: ["x", "y"] },
      },
    },
    b: {
      description: "B.",
      hyperparameters: { lr: { default: 0.1, description: "Rate.", min: 0 } },
    },
    c: { description: "C.", hyperparameters: { lr: { default: 0.2, description: "Rate." } } },
  });
  assert.match(md, /^- `a`: A\.$/m);
  assert.match(md, /^\| `lr` \| a, b \| 0\.1 \| >= 0 \| Rate\. \|$/m);
  assert.ok(md.includes("| `lr` | c | 0.2 |  | Rate. |"));
  assert.match(md, /^\| `mode` \| a \| "x" \| x \\\| y \| Mode x\\\|y\. \|$/m);
});
