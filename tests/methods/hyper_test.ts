import assert from "node:assert/strict";
import { describeHyperRule, hyperProblem, HyperReader } from "../../src/methods/hyper.ts";
import { METHODS } from "../../src/methods/registry.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("every method's hyperparameter declarations are consistent and their defaults valid", () => {
  for (const [method, plugin] of Object.entries(METHODS)) {
    for (const [name, spec] of Object.entries(plugin.hyperparameters)) {
      const where = `${method}.${name}`;
      assert.ok(spec.description.length > 0, `${where}: no description`);
      const numeric = spec.min !== undefined || spec.max !== undefined || spec.integer === true ||
        spec.exclusiveMin === true;
      if (numeric) assert.equal(typeof spec.default, "number", `${where}: a range on a non-number`);
      if (spec.choices !== undefined) {
        assert.equal(typeof spec.default, "string", `${where}: choices on a non-string`);
      }
      assert.equal(hyperProblem(spec, spec.default), undefined, `${where}: invalid default`);
    }
  }
});

Deno.test("the reader checks each value against its declaration", () => {
  const table = {
    width: { default: 1, description: "w", min: 0, exclusiveMin: true, max: 64 },
    steps: { default: 1, description: "s", min: 0, integer: true },
    schedule: { default: "cosine", description: "c", choices: ["cosine", "constant"] },
  } as const;
  const read = (values: Record<string, number | string>) =>
    new HyperReader("m", table, values).values();
  assert.deepEqual(read({ width: 0.5 }), { width: 0.5, steps: 1, schedule: "cosine" });
  const cases: [Record<string, number | string>, string][] = [
    [{ width: 0 }, 'Method "m": hyperparameter "width": must be > 0 (got 0)'],
    [{ width: 65 }, 'Method "m": hyperparameter "width": must be <= 64 (got 65)'],
    [{ steps: 1.5 }, 'Method "m": hyperparameter "steps": must be a whole number (got 1.5)'],
    [{ steps: -1 }, 'Method "m": hyperparameter "steps": must be >= 0 (got -1)'],
    [
      { schedule: "step" },
      'Method "m": hyperparameter "schedule": must be one of cosine, constant (got "step")',
    ],
  ];
  for (const [values, message] of cases) {
    assert.throws(
      () => read(values),
      (e: unknown) => e instanceof UserError && e.message === message,
    );
  }
  assert.equal(describeHyperRule(table.width), "> 0, <= 64");
});
