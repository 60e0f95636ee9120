/**
 * The `run` command with the toy toolkit (`fake_toolkit.ts`) as a process of
 * its own, for tests that kill the runner: `deno run -A toy_run_main.ts
 * <run arguments>`.
 *
 * @module
 */
import { runGuarded } from "../../src/cli/main.ts";
import { makeRunCommand } from "../../src/cli/run.ts";
import { toolkit } from "./fake_toolkit.ts";

if (import.meta.main) {
  const command = makeRunCommand({
    loadToolkit: () => Promise.resolve(toolkit),
    toolkitModule: new URL("./fake_toolkit.ts", import.meta.url).href,
  });
  // Errors are printed as the real CLI prints them.
  Deno.exit(await runGuarded(command, Deno.args));
}
