/**
 * Hyperparameter tables of method plug-ins and their validated reading:
 * unknown names and values of the wrong type or out of range are
 * {@linkcode UserError}s naming the field.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { Hyperparameters, HyperValue, MethodPlugin } from "./method.ts";

/** A plug-in's hyperparameter table: every name with its default and a description. */
export type HyperTable = MethodPlugin["hyperparameters"];

/** Range constraints of a numeric hyperparameter. */
export interface NumberRule {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Values must be whole numbers. */
  integer?: boolean;
  /** Values must be strictly greater than `min`. */
  exclusiveMin?: boolean;
}

/**
 * Reads hyperparameters against a plug-in's table: missing names take the
 * default, unknown names are rejected (listing the valid ones), and each
 * value must have its default's type.
 *
 * @example
 * ```ts
 * import { HyperReader } from "./hyper.ts";
 * const table = { lr: { default: 0.1, description: "learning rate" } };
 * const h = new HyperReader("pre-dfkd", table, { lr: 0.02 });
 * console.log(h.number("lr", { min: 0, exclusiveMin: true })); // 0.02
 * ```
 */
export class HyperReader {
  readonly #method: string;
  readonly #table: HyperTable;
  readonly #values: Hyperparameters;

  /** Checks `values` against `table` (unknown names and wrong types throw a `UserError`). */
  constructor(method: string, table: HyperTable, values: Hyperparameters) {
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
   * The value of `name`: the override, else (for a linked entry) its scale
   * times the followed one's value, else the default.
   */
  value(name: string): HyperValue {
    const entry = this.#table[name];
    if (entry === undefined) {
      throw new Error(`Method "${this.#method}" reads undeclared hyperparameter "${name}"`);
    }
    const given = this.#values[name];
    if (given !== undefined) return given;
    if (entry.follows !== undefined) {
      return this.number(entry.follows.name) * entry.follows.scale;
    }
    return entry.default;
  }

  /** A numeric hyperparameter, checked against `rule`. */
  number(name: string, rule: NumberRule = {}): number {
    const v = this.value(name);
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw this.#bad(name, v, "a finite number");
    }
    if (rule.integer && !Number.isInteger(v)) throw this.#bad(name, v, "a whole number");
    if (rule.min !== undefined) {
      if (rule.exclusiveMin ? v <= rule.min : v < rule.min) {
        throw this.#bad(name, v, `${rule.exclusiveMin ? ">" : ">="} ${rule.min}`);
      }
    }
    if (rule.max !== undefined && v > rule.max) throw this.#bad(name, v, `<= ${rule.max}`);
    return v;
  }

  /** A string hyperparameter that must be one of `choices`. */
  choice<T extends string>(name: string, choices: readonly T[]): T {
    const v = this.value(name);
    if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
      throw this.#bad(name, v, `one of ${choices.join(", ")}`);
    }
    return v as T;
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
 * import { resolveHyperparameters } from "./hyper.ts";
 * const table = {
 *   lr: { default: 0.02, description: "learning rate" },
 *   vaeLr: { default: 0.0005, description: "lr / 40", follows: { name: "lr", scale: 1 / 40 } },
 * };
 * console.log(resolveHyperparameters(table, { lr: 0.04 }).vaeLr); // 0.001
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
 * import { hyperDefaults } from "./hyper.ts";
 * console.log(hyperDefaults({ lr: { default: 0.1, description: "learning rate" } })); // { lr: 0.1 }
 * ```
 */
export function hyperDefaults(table: HyperTable): Hyperparameters {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.default]));
}
