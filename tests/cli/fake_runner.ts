/**
 * A stand-in for `dfkd run` in nightly tests: `fake_runner.ts <file> --out <root> [--exit N]`
 * writes one results folder for the benchmark named in <file> (mu from FAKE_MU, run id from
 * FAKE_RUN_ID) and exits with --exit (default 0). With FAKE_RUN_ID=none it writes nothing.
 */
import { parseArgs } from "node:util";
import { jobs, testEnvironment, writeResults } from "../bench/results_fixture.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { out: { type: "string" }, exit: { type: "string" } },
  allowPositionals: true,
});
const file = positionals[0] as string;
const name = JSON.parse(await Deno.readTextFile(file)).name as string;
const runId = Deno.env.get("FAKE_RUN_ID") ?? "run";
const mu = Number(Deno.env.get("FAKE_MU") ?? "0.9");
if (runId !== "none") {
  await writeResults(values.out as string, {
    benchmark: name,
    runId,
    startedAt: Deno.env.get("FAKE_DATE") ?? "2026-01-01T00:00:00Z",
    env: testEnvironment({ hostname: "runner-host" }),
    jobs: jobs(["pre-dfkd"], [mu, mu + 0.005, mu - 0.005]),
  });
}
Deno.exit(Number(values.exit ?? "0"));
