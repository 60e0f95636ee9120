/**
 * Messages a job process sends its parent, one per stdout line, each line
 * `@dfkd <json>` (other output on stdout is kept in the job's log, never
 * parsed).
 *
 * @module
 */
import type { JobStatus } from "../results/records.ts";

/** The prefix of protocol lines. */
export const PROTOCOL_PREFIX = "@dfkd ";

/** A message from a job process. */
export type JobMessage =
  | { type: "started"; epochs: number; startEpoch: number }
  | { type: "step"; epoch: number; done: number; total: number }
  | { type: "epoch"; epoch: number; accuracy: number; seconds: number }
  | { type: "log"; level: "info" | "warn"; message: string }
  | { type: "finished"; status: JobStatus; error?: string };

/**
 * Encodes a message as one protocol line (with its newline).
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./protocol.ts";
 * console.log(encodeMessage({ type: "log", level: "info", message: "hi" }));
 * ```
 */
export function encodeMessage(message: JobMessage): string {
  return `${PROTOCOL_PREFIX}${JSON.stringify(message)}\n`;
}

/**
 * Decodes one stdout line: the message, or `undefined` for any other output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMessage } from "./protocol.ts";
 * assert.equal(decodeMessage('@dfkd {"type":"step","epoch":0,"done":1,"total":4}')?.type, "step");
 * ```
 */
export function decodeMessage(line: string): JobMessage | undefined {
  if (!line.startsWith(PROTOCOL_PREFIX)) return undefined;
  try {
    const value = JSON.parse(line.slice(PROTOCOL_PREFIX.length));
    return typeof value === "object" && value !== null && typeof value.type === "string"
      ? value as JobMessage
      : undefined;
  } catch {
    return undefined;
  }
}
