import assert from "node:assert/strict";
import { resolveThreads, THREADS_ENV } from "../../src/backends/init_backend.ts";
import { threadsPerJob } from "../../src/bench/runner.ts";
import { MAX_WASM_THREADS } from "../../src/backends/wasm_threads.ts";

const PROBE = new URL("./threads_probe.ts", import.meta.url).pathname;

async function probe(threads: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", PROBE, String(threads)],
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as { threads: number; loss: number; hashes: string[] };
}

Deno.test("wasm on 2 threads uses 2 threads and gives bit-identical numbers to 1 thread", async () => {
  const [one, two] = [await probe(1), await probe(2)];
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.ok(Number.isFinite(one.loss) && one.loss > 0);
  assert.deepEqual(two.hashes, one.hashes);
});

Deno.test("the thread count comes from the option, then $DFKD_THREADS, then the cores", () => {
  const saved = Deno.env.get(THREADS_ENV);
  try {
    Deno.env.delete(THREADS_ENV);
    assert.equal(resolveThreads(), Math.min(MAX_WASM_THREADS, navigator.hardwareConcurrency));
    Deno.env.set(THREADS_ENV, "1");
    assert.equal(resolveThreads(), 1);
    assert.equal(resolveThreads(2), 2);
    Deno.env.set(THREADS_ENV, "zero");
    assert.throws(() => resolveThreads(), /DFKD_THREADS="zero" is not a thread count/);
  } finally {
    if (saved === undefined) Deno.env.delete(THREADS_ENV);
    else Deno.env.set(THREADS_ENV, saved);
  }
});

Deno.test("jobs share the cores: one job gets them all, as many jobs as cores get one each", () => {
  const cores = navigator.hardwareConcurrency;
  assert.equal(threadsPerJob(1), Math.min(MAX_WASM_THREADS, cores));
  assert.equal(threadsPerJob(cores), 1);
  assert.equal(threadsPerJob(cores * 4), 1);
});
