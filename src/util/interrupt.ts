/**
 * Ctrl-C handling with two levels: the first interrupt asks the work to stop
 * cleanly (finish the current step, save, exit), the second asks it to stop
 * at once. Whoever does the work registers what each level means; with
 * nothing registered for the first level (no work that can stop cleanly yet),
 * the first interrupt already counts as the second.
 *
 * @module
 */

/** What `Interrupter.listen` installs listeners for. */
export type InterruptSignal = "SIGINT" | "SIGTERM";

/**
 * Counts interrupts and calls the registered handlers, newest first: `onStop`
 * ones on the first, `onAbort` ones on the second (or on the first when no
 * `onStop` handler is registered).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Interrupter } from "./interrupt.ts";
 * const interrupts = new Interrupter();
 * const off = interrupts.onStop(() => console.log("finishing the step, then saving"));
 * interrupts.interrupt(); // finishing the step, then saving
 * assert.equal(interrupts.stopping, true);
 * off();
 * ```
 */
export class Interrupter {
  #count = 0;
  readonly #stop = new Set<() => void>();
  readonly #abort = new Set<() => void>();

  /** True once an interrupt asked for a clean stop (or more). */
  get stopping(): boolean {
    return this.#count >= 1;
  }

  /** True once an interrupt asked to stop at once. */
  get aborting(): boolean {
    return this.#count >= 2;
  }

  /** Registers a first-interrupt handler; returns a function that removes it. */
  onStop(handler: () => void): () => void {
    this.#stop.add(handler);
    return () => this.#stop.delete(handler);
  }

  /** Registers a second-interrupt handler; returns a function that removes it. */
  onAbort(handler: () => void): () => void {
    this.#abort.add(handler);
    return () => this.#abort.delete(handler);
  }

  /** One interrupt (what a signal listener calls). */
  interrupt(): void {
    this.#count = this.#count === 0 && this.#stop.size === 0 ? 2 : this.#count + 1;
    const handlers = this.#count === 1 ? this.#stop : this.#count === 2 ? this.#abort : undefined;
    // Newest first: the innermost work (e.g. the runner killing its jobs) acts before an
    // outer handler (e.g. the command line exiting the process).
    for (const h of [...(handlers ?? [])].reverse()) h();
  }

  /**
   * Calls {@linkcode Interrupter.interrupt} on each of `signals` (default
   * SIGINT and SIGTERM; SIGTERM only where the OS has it) and returns a
   * function that removes the listeners. While they are installed the
   * signals no longer end the process by themselves.
   */
  listen(signals: InterruptSignal[] = ["SIGINT", "SIGTERM"]): () => void {
    const handler = () => this.interrupt();
    const installed: InterruptSignal[] = [];
    for (const s of signals) {
      if (s === "SIGTERM" && Deno.build.os === "windows") continue;
      Deno.addSignalListener(s, handler);
      installed.push(s);
    }
    return () => {
      for (const s of installed) Deno.removeSignalListener(s, handler);
    };
  }
}
