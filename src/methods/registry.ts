/**
 * The method registry: every DFKD method by name. Adding one is one new file
 * plus one line here.
 *
 * @module
 */
import { UserError } from "../util/errors.ts";
import { cmi } from "./cmi.ts";
import { deepInversion } from "./deepinversion.ts";
import { memoryBank } from "./memory_bank.ts";
import type { MethodPlugin } from "./method.ts";
import { noReplay } from "./no_replay.ts";
import { preDfkd } from "./pre_dfkd.ts";

/**
 * Every method by registry name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHODS } from "./registry.ts";
 * assert.deepEqual(Object.keys(METHODS).slice(0, 3), ["pre-dfkd", "no-replay", "memory-bank"]);
 * ```
 */
export const METHODS: Record<string, MethodPlugin> = {
  [preDfkd.name]: preDfkd,
  [noReplay.name]: noReplay,
  [memoryBank.name]: memoryBank,
  [deepInversion.name]: deepInversion,
  [cmi.name]: cmi,
};

/**
 * The method named `name`; an unknown name is a `UserError` listing the valid ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getMethod } from "./registry.ts";
 * assert.equal(getMethod("pre-dfkd").description.length > 0, true);
 * ```
 */
export function getMethod(name: string): MethodPlugin {
  const method = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (method === undefined) {
    throw new UserError(
      `Unknown method "${name}"; valid methods: ${Object.keys(METHODS).join(", ")}`,
    );
  }
  return method;
}
