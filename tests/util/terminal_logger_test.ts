import assert from "node:assert/strict";
import { terminalLogger } from "../../src/util/terminal_logger.ts";

/** A stand-in terminal that records what is written. */
function fakeTerminal() {
  const chunks: string[] = [];
  const stream = {
    isTTY: true,
    columns: 120,
    write(chunk: string) {
      chunks.push(String(chunk));
      return true;
    },
    on() {},
    removeListener() {},
  };
  return { stream: stream as unknown as NodeJS.WritableStream, text: () => chunks.join("") };
}

Deno.test("the terminal logger draws bars with fields and ETA, and leaves a final line", async () => {
  const term = fakeTerminal();
  const log = terminalLogger({ stream: term.stream, fps: 100 });
  const a = log.progress("job-a", 4);
  const b = log.progress("job-b", 4);
  a.update(2, { epoch: "2/4", acc: "91.2%" });
  b.update(1);
  log.info("a message");
  await new Promise((r) => setTimeout(r, 50));
  a.stop();
  b.stop();
  log.close();
  const out = term.text();
  assert.match(out, /job-a +█+░+ 2\/4 epoch 2\/4 acc 91\.2% \| \d+s \| eta \d+s/);
  assert.match(out, /job-b +█+░+ 1\/4/);
  assert.match(out, /a message\n/);
  // Stopped bars leave one plain line each.
  assert.match(out, /job-a 2\/4 epoch 2\/4 acc 91\.2% \|/);
});
