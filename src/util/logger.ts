/**
 * The logger every long-running piece of dfkd-bench is handed (never a
 * global): messages and progress with ETA.
 *
 * @module
 */

/** Progress of one counted task (epochs, iterations, records). */
export interface Progress {
  /** Advances to `done` of the total, with optional fields shown beside the bar (e.g. `acc`). */
  update(done: number, fields?: Record<string, string | number>): void;
  /** Finishes the bar (leaves a final line). */
  stop(): void;
}

/**
 * Messages and progress bars. Implementations decide where they go (a
 * terminal with bars, plain lines in CI and logs, nothing in tests).
 *
 * @example
 * ```ts
 * import { silentLogger } from "./logger.ts";
 * const p = silentLogger.progress("epochs", 10);
 * p.update(1, { acc: 0.5 });
 * p.stop();
 * ```
 */
export interface Logger {
  /** A normal message. */
  info(message: string): void;
  /** Something the user should notice. */
  warn(message: string): void;
  /** Starts a progress bar for `total` steps labelled `label`. */
  progress(label: string, total: number): Progress;
}

/** A logger that discards everything (tests, library use). */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  progress: () => ({ update() {}, stop() {} }),
};

/**
 * A logger writing plain lines to stderr: messages as they come and progress
 * at most every `intervalMs` (default 10 s) with the elapsed time and ETA.
 *
 * @example
 * ```ts
 * import { lineLogger } from "./logger.ts";
 * const log = lineLogger();
 * log.info("starting");
 * ```
 */
export function lineLogger(intervalMs = 10_000): Logger {
  const write = (line: string) => console.error(line);
  return {
    info: write,
    warn: (m) => write(`warning: ${m}`),
    progress(label, total) {
      const start = performance.now();
      let last = -Infinity;
      let done = 0;
      let fields: Record<string, string | number> = {};
      const line = () => {
        const elapsed = (performance.now() - start) / 1000;
        const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
        const extra = Object.entries(fields).map(([k, v]) => ` ${k} ${v}`).join("");
        const shown = Number.isInteger(done) ? String(done) : done.toFixed(1);
        return `${label} ${shown}/${total}${extra} | elapsed ${formatSeconds(elapsed)} | eta ${
          formatSeconds(eta)
        }`;
      };
      return {
        update(n, f) {
          done = n;
          if (f) fields = f;
          const now = performance.now();
          if (now - last >= intervalMs || done >= total) {
            last = now;
            write(line());
          }
        },
        stop() {
          if (done < total) write(line());
        },
      };
    },
  };
}

/**
 * Formats seconds as `1h02m`, `3m05s` or `42s` (`?` when not finite).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSeconds } from "./logger.ts";
 * assert.equal(formatSeconds(185), "3m05s");
 * ```
 */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}
