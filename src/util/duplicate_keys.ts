/**
 * Finds the first key that appears twice in one JSON object. `JSON.parse`
 * keeps the last of them silently, so a benchmark file with `"epochs"` twice
 * would run with a value its author may not have meant.
 *
 * @module
 */

/** A duplicated key and where: the path of the object holding it (`pairs[0].teacher`). */
export interface DuplicateKey {
  /** The key. */
  key: string;
  /** Path of the object that has it twice ("" for the top level). */
  path: string;
}

/**
 * The first duplicated key of valid JSON `text`, or undefined. `text` must
 * already parse (call it after `JSON.parse`).
 *
 * @example
 * ```ts
 * import { findDuplicateKey } from "./duplicate_keys.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(findDuplicateKey('{"a": {"b": 1, "b": 2}}'), { key: "b", path: "a" });
 * assert.equal(findDuplicateKey('{"a": 1, "b": [{"a": 2}]}'), undefined);
 * ```
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // One frame per open object or array: the keys seen, and the path to it.
  const stack: { keys?: Set<string>; path: string; index: number; key?: string }[] = [];
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (top === undefined) return "";
    if (top.keys === undefined) return `${top.path}[${top.index}]`;
    return top.path === "" ? top.key ?? "" : `${top.path}.${top.key}`;
  };
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys !== undefined) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, path: top.path };
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push({ keys: new Set(), path: childPath(), index: 0 });
      expectKey = true;
    } else if (c === "[") {
      stack.push({ path: childPath(), index: 0 });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top?.keys !== undefined) expectKey = true;
      else if (top !== undefined) top.index++;
    }
  }
  return undefined;
}
