/**
 * Zod issues in words: each issue becomes a {@linkcode FieldProblem}
 * (`pairs[0].teacher.arch: expected a string (got 3)`), so every file the
 * project parses (benchmark files, result records) reports bad input the
 * same way.
 *
 * @module
 */
import type { z } from "zod";

/** One problem found in a parsed file (a benchmark file, a result record). */
export interface FieldProblem {
  /** Dotted path of the field (`pairs[0].teacher.arch`), empty for the whole file. */
  path: string;
  /** What is wrong, ending with `(got X)` when a value was given. */
  message: string;
}

/** Formats a path like `pairs[0].teacher.arch`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Describes a value for an error message (`"abc"`, `3`, `an object`, ...). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function got(issue: z.core.$ZodIssue): string {
  if ((issue as { received?: string }).received === "Infinity") {
    return " (got a number too large to represent)";
  }
  return "input" in issue ? ` (got ${describeValue(issue.input)})` : "";
}

/**
 * Turns zod issues into {@linkcode FieldProblem}s (`field.path: what is wrong (got X)`).
 * Parse with `{ reportInput: true }` so the messages can show the offending values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { describeIssues } from "./zod_issues.ts";
 * const r = z.object({ n: z.number() }).safeParse({ n: "x" }, { reportInput: true });
 * assert.ok(!r.success);
 * assert.deepEqual(describeIssues(r.error.issues), [{ path: "n", message: 'expected a number (got "x")' }]);
 * ```
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  return issues.flatMap(describeIssue);
}

function describeIssue(issue: z.core.$ZodIssue): FieldProblem[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const input = (issue.input ?? {}) as Record<string, unknown>;
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: `${issue.message} (got ${describeValue(input[key])})`,
      }));
    }
    case "invalid_type": {
      if (issue.input === undefined && (issue as { received?: string }).received === undefined) {
        return [{ path, message: `is required (expected ${expectedName(issue.expected)})` }];
      }
      return [{ path, message: `expected ${expectedName(issue.expected)}${got(issue)}` }];
    }
    case "invalid_value":
      if (issue.input === undefined) {
        return [{
          path,
          message: `is required (expected ${issue.values.length === 1 ? "" : "one of "}${
            issue.values.map((v) => JSON.stringify(v)).join(", ")
          })`,
        }];
      }
      return [{
        path,
        message: `expected ${issue.values.length === 1 ? "" : "one of "}${
          issue.values.map((v) => JSON.stringify(v)).join(", ")
        }${got(issue)}`,
      }];
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const word = issue.code === "too_small" ? "least" : "most";
      const exclusive = issue.inclusive === false;
      const message = issue.origin === "array"
        ? `must have at ${word} ${bound} ${Number(bound) === 1 ? "entry" : "entries"}`
        : issue.origin === "string"
        ? `must be at ${word} ${bound} characters long`
        : exclusive
        ? `must be ${issue.code === "too_small" ? "more" : "less"} than ${bound}`
        : `must be at ${word} ${bound}`;
      return [{ path, message: `${message}${got(issue)}` }];
    }
    case "invalid_format":
      return [{ path, message: `${issue.message}${got(issue)}` }];
    default:
      return [{ path, message: `${issue.message}${got(issue)}` }];
  }
}

function expectedName(expected: string): string {
  switch (expected) {
    case "int":
      return "a whole number";
    case "number":
      return "a number";
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "object":
      return "an object";
    case "array":
      return "an array";
    default:
      return expected;
  }
}
