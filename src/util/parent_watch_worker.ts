/**
 * The thread of {@linkcode watchParentDeath} (`parent_watch.ts`): polls the
 * parent process id and, when the process has been reparented (its parent
 * died), kills this process with SIGKILL. It runs in a Worker, so it acts
 * even while the main thread is busy in a long synchronous computation.
 *
 * @module
 */

/** What the main thread sends to start the watch. */
export interface ParentWatchStart {
  /** The parent's process id at start. */
  parentPid: number;
  /** Milliseconds between checks. */
  intervalMs: number;
  /** Printed to stderr before the process is killed. */
  message: string;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<ParentWatchStart>) => void) | null;
};
scope.onmessage = (event) => {
  const { parentPid, intervalMs, message } = event.data;
  const check = () => {
    if (Deno.ppid === parentPid) return;
    try {
      Deno.stderr.writeSync(new TextEncoder().encode(message + "\n"));
    } catch {
      // The parent held the other end of stderr: it may be gone too.
    }
    Deno.kill(Deno.pid, "SIGKILL");
  };
  check();
  setInterval(check, intervalMs);
};
