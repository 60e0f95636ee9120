/**
 * The command line's logger: live progress bars (cli-progress) with done/total,
 * the caller's fields (epoch, accuracy) and ETA when stderr is a terminal, and
 * plain lines ({@linkcode lineLogger}) otherwise (CI, files, pipes).
 *
 * @module
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";
import { formatSeconds, lineLogger, type Logger, type Progress } from "./logger.ts";

/** A logger that holds a terminal and must be closed when the command ends. */
export interface ClosableLogger extends Logger {
  /** Stops every bar and restores the cursor. */
  close(): void;
}

/** Options of {@linkcode terminalLogger}. */
export interface TerminalLoggerOptions {
  /** Where the bars go (default `process.stderr`; tests pass a fake TTY stream). */
  stream?: NodeJS.WritableStream;
  /** Redraw interval in ms (default 100). */
  fps?: number;
}

interface BarPayload {
  label: string;
  text: string;
}

/**
 * A logger drawing one progress bar per `progress()` call (several at once
 * for parallel jobs). A finished bar (`stop()`) is replaced by a plain line,
 * and messages print above the bars.
 *
 * @example
 * ```ts
 * import { terminalLogger } from "./terminal_logger.ts";
 * const log = terminalLogger();
 * const p = log.progress("job", 10);
 * p.update(3, { acc: "91.2%" });
 * p.stop();
 * log.close();
 * ```
 */
export function terminalLogger(options: TerminalLoggerOptions = {}): ClosableLogger {
  let labelWidth = 0;
  const multibar = new cliProgress.MultiBar({
    ...(options.stream ? { stream: options.stream } : {}),
    fps: options.fps ?? 10,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    gracefulExit: false,
    barsize: 24,
    barCompleteChar: "█",
    barIncompleteChar: "░",
    format: (opts, params, payload: BarPayload) => {
      const bar = cliProgress.Format.BarFormat(params.progress, opts);
      return `${payload.label.padEnd(labelWidth)} ${bar} ${payload.text}`;
    },
  });
  // Messages go through the bar's log buffer while bars are drawn (flushed on
  // the next redraw) and straight to the stream otherwise.
  const write = (line: string) => {
    if (active()) multibar.log(`${line}\n`);
    else (options.stream ?? process.stderr).write(`${line}\n`);
  };
  const active = () => (multibar as unknown as { isActive: boolean }).isActive;
  return {
    info: write,
    warn: (m) => write(`warning: ${m}`),
    progress(label: string, total: number): Progress {
      labelWidth = Math.max(labelWidth, label.length);
      const start = performance.now();
      let done = 0;
      let fields: Record<string, string | number> = {};
      const text = () => {
        const elapsed = (performance.now() - start) / 1000;
        const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
        const extra = Object.entries(fields).map(([k, v]) => ` ${k} ${v}`).join("");
        return `${Math.floor(done)}/${total}${extra} | ${formatSeconds(elapsed)} | eta ${
          formatSeconds(eta)
        }`;
      };
      const bar = multibar.create(total, 0, { label, text: text() });
      let stopped = false;
      return {
        update(n, f) {
          if (stopped) return;
          done = Math.min(n, total);
          if (f) fields = f;
          bar.update(done, { label, text: text() });
        },
        stop() {
          if (stopped) return;
          stopped = true;
          multibar.remove(bar);
          write(`${label.padEnd(labelWidth)} ${text()}`);
        },
      };
    },
    close() {
      if (!active()) return;
      multibar.update();
      multibar.stop();
    },
  };
}

/**
 * The CLI's default logger: bars when stderr is a terminal, otherwise plain
 * lines every 10 seconds.
 *
 * @example
 * ```ts
 * import { cliLogger } from "./terminal_logger.ts";
 * const log = cliLogger();
 * log.info("hello");
 * log.close();
 * ```
 */
export function cliLogger(): ClosableLogger {
  if (Deno.stderr.isTerminal()) return terminalLogger();
  return { ...lineLogger(), close() {} };
}
