/**
 * Hyperparameter tables of method plug-ins and their validated reading. A
 * table ({@linkcode HyperTable}) declares every hyperparameter once, with its
 * default, description and valid values ({@linkcode HyperSpec}: `min`, `max`,
 * `exclusiveMin`, `integer`, `choices`); {@linkcode HyperReader} checks a
 * job's values against it, the benchmark-file schema (`bench/spec.ts`) turns
 * the same table into validation and JSON Schema, and `dfkd methods` prints
 * it. Unknown names and values of the wrong type or out of range are
 * {@linkcode UserError}s naming the field.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { Hyperparameters, HyperSpec, HyperValue, MethodPlugin } from "./method.ts";

export type { HyperSpec };

/** A plug-in's hyperparameter table: every name with its {@linkcode HyperSpec}. */
export type HyperTable = MethodPlugin["hyperparameters"];

/**
 * The values of a table, typed from its declaration (declare the table
 * `as const satisfies HyperTable`): numbers, booleans, and for strings with
 * `choices` the union of the choices.
 */
export type HyperValues<T extends HyperTable> = {
  -readonly [K in keyof T]: T[K] extends { readonly choices: readonly (infer C)[] } ? C
    : T[K]["default"] extends number ? number
    : T[K]["default"] extends boolean ? boolean
    : string;
};

/**
 * What `value` breaks of `spec`'s rule, as "must be ..." text, or undefined
 * when it is valid (its type is checked separately).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hyperProblem } from "./hyper.ts";
 * const spec = { default: 8, description: "divisor", min: 1, integer: true };
 * assert.equal(hyperProblem(spec, 4), undefined);
 * assert.equal(hyperProblem(spec, 0.5), "a whole number");
 * assert.equal(hyperProblem(spec, 0), ">= 1");
 * ```
 */
export function hyperProblem(spec: HyperSpec, value: HyperValue): string | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "a finite number";
    if (spec.integer && !Number.isInteger(value)) return "a whole number";
    if (spec.min !== undefined) {
      if (spec.exclusiveMin ? value <= spec.min : value < spec.min) {
        return `${spec.exclusiveMin ? ">" : ">="} ${spec.min}`;
      }
    }
    if (spec.max !== undefined && value > spec.max) return `<= ${spec.max}`;
    return undefined;
  }
  if (typeof value === "string" && spec.choices !== undefined && !spec.choices.includes(value)) {
    return `one of ${spec.choices.join(", ")}`;
  }
  return undefined;
}

/**
 * The valid values of `spec` in words (for docs and `dfkd methods`), empty
 * when any value of its type is valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeHyperRule } from "./hyper.ts";
 * assert.equal(describeHyperRule({ default: 1, description: "", min: 1, max: 64, integer: true }), "whole, >= 1, <= 64");
 * assert.equal(describeHyperRule({ default: "sgd", description: "", choices: ["sgd", "adam"] }), "sgd | adam");
 * assert.equal(describeHyperRule({ default: 0.5, description: "" }), "");
 * ```
 */
export function describeHyperRule(spec: HyperSpec): string {
  if (spec.choices !== undefined) return spec.choices.join(" | ");
  const parts: string[] = [];
  if (spec.integer) parts.push("whole");
  if (spec.min !== undefined) parts.push(`${spec.exclusiveMin ? ">" : ">="} ${spec.min}`);
  if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
  return parts.join(", ");
}

/**
 * Reads hyperparameters against a plug-in's table: missing names take the
 * default, unknown names are rejected (listing the valid ones), each value
 * must have its default's type and satisfy its declared rule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HyperReader, type HyperTable } from "./hyper.ts";
 * const table = {
 *   lr: { default: 0.1, description: "learning rate", min: 0, exclusiveMin: true },
 *   optimiser: { default: "sgd", description: "optimiser", choices: ["sgd", "adam"] },
 * } as const satisfies HyperTable;
 * const h = new HyperReader("pre-dfkd", table, { lr: 0.02 });
 * assert.deepEqual(h.values(), { lr: 0.02, optimiser: "sgd" });
 * assert.throws(() => new HyperReader("pre-dfkd", table, { lr: 0 }).values(), /"lr": must be > 0 \(got 0\)/);
 * ```
 */
export class HyperReader<T extends HyperTable = HyperTable> {
  readonly #method: string;
  readonly #table: T;
  readonly #values: Hyperparameters;

  /** Checks `values` against `table` (unknown names and wrong types throw a `UserError`). */
  constructor(method: string, table: T, values: Hyperparameters) {
    this.#method = method;
    this.#table = table;
    this.#values = values;
    for (const [name, value] of Object.entries(values)) {
      const entry = table[name];
      if (entry === undefined) {
        throw new UserError(
          `Method "${method}": unknown hyperparameter "${name}"; valid names: ${
            Object.keys(table).join(", ")
          }`,
        );
      }
      if (typeof value !== typeof entry.default) {
        throw new UserError(
          `Method "${method}": hyperparameter "${name}" must be a ${typeof entry
            .default} (got ${JSON.stringify(value)})`,
        );
      }
    }
  }

  /**
   * The value of `name`, checked against its rule: the override, else (for a
   * linked entry, see {@linkcode HyperSpec.follows}) its scale times the
   * followed one's value, else the default.
   */
  value(name: string): HyperValue {
    const entry = this.#table[name];
    if (entry === undefined) {
      throw new Error(`Method "${this.#method}" reads undeclared hyperparameter "${name}"`);
    }
    const v = this.#values[name] ??
      (entry.follows === undefined
        ? entry.default
        : this.number(entry.follows.name) * entry.follows.scale);
    const problem = hyperProblem(entry, v);
    if (problem !== undefined) throw this.#bad(name, v, problem);
    return v;
  }

  /**
   * Every hyperparameter of `table` (by default the reader's own; a method
   * may pass a part of it, e.g. the shared adversarial table), checked and
   * typed, in table order.
   */
  values<S extends HyperTable = T>(table?: S): HyperValues<S> {
    const names = Object.keys(table ?? this.#table);
    return Object.fromEntries(names.map((n) => [n, this.value(n)])) as HyperValues<S>;
  }

  /** A numeric hyperparameter, checked against its declared rule. */
  number(name: string): number {
    const v = this.value(name);
    if (typeof v !== "number") throw this.#bad(name, v, "a finite number");
    return v;
  }

  /** A string hyperparameter (one of its declared `choices`, when it has them). */
  choice<C extends string = string>(name: string): C {
    const v = this.value(name);
    if (typeof v !== "string") throw this.#bad(name, v, "a string");
    return v as C;
  }

  /** A boolean hyperparameter. */
  boolean(name: string): boolean {
    const v = this.value(name);
    if (typeof v !== "boolean") throw this.#bad(name, v, "true or false");
    return v;
  }

  /** A `UserError` naming the hyperparameter (for checks that involve several values). */
  error(name: string, message: string): UserError {
    return new UserError(`Method "${this.#method}": hyperparameter "${name}": ${message}`);
  }

  #bad(name: string, value: HyperValue, want: string): UserError {
    return this.error(name, `must be ${want} (got ${JSON.stringify(value)})`);
  }
}

/**
 * A plug-in's hyperparameters resolved: the table's defaults, then
 * `overrides` (names the table lacks are ignored: the caller checks them),
 * then every linked entry that was not overridden recomputed from the value it
 * follows (so overriding `generatorLr` moves `vaeLr` along).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveHyperparameters } from "./hyper.ts";
 * const table = {
 *   lr: { default: 0.02, description: "learning rate" },
 *   vaeLr: { default: 0.0005, description: "lr / 40", follows: { name: "lr", scale: 1 / 40 } },
 * };
 * assert.equal(resolveHyperparameters(table, { lr: 0.04 }).vaeLr, 0.001);
 * ```
 */
export function resolveHyperparameters(
  table: HyperTable,
  overrides: Hyperparameters,
): Hyperparameters {
  const hyper = hyperDefaults(table);
  for (const [name, value] of Object.entries(overrides)) if (name in table) hyper[name] = value;
  for (const [name, entry] of Object.entries(table)) {
    if (entry.follows === undefined || name in overrides) continue;
    const base = hyper[entry.follows.name];
    if (typeof base === "number") hyper[name] = base * entry.follows.scale;
  }
  return hyper;
}

/**
 * The table's defaults as a plain object (what a benchmark file overrides).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hyperDefaults } from "./hyper.ts";
 * assert.deepEqual(hyperDefaults({ lr: { default: 0.1, description: "learning rate" } }), { lr: 0.1 });
 * ```
 */
export function hyperDefaults(table: HyperTable): Hyperparameters {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.default]));
}
