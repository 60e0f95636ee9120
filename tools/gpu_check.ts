/**
 * `deno task gpu-check`: what the WebGPU route gives on this machine. Prints
 * the adapter, runs the webgpu-vs-cpu gradient-parity tests, then times one
 * PRE-DFKD iteration on webgpu and on wasm, side by side, for the full-width
 * MNIST pair (LeNet-5 -> LeNet-5-half, batch 64) and the CIFAR-10 pair
 * (ResNet-34 -> ResNet-18, batch 256).
 *
 * On a CPU adapter (Mesa llvmpipe) the timings are skipped (one full-width
 * MNIST iteration takes over 8 minutes there even at batch 16) unless
 * `--quick`, which runs them at batch 16 (the smallest PRE-DFKD takes): that
 * exercises the path, it is not a speed figure.
 *
 * Usage: deno task gpu-check [--quick] [--repeats N] [--skip-parity]
 *
 * @module
 */
import { parseArgs, stripVTControlCharacters } from "node:util";
import { describeAdapter, findWebGpuAdapter } from "../src/backends/webgpu.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    repeats: { type: "string", default: "1" },
    "skip-parity": { type: "boolean", default: false },
  },
});

const here = (file: string) => new URL(file, import.meta.url).pathname;

async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return { code: r.code, out: text };
}

const lookup = await findWebGpuAdapter();
if (!lookup.found) {
  console.log(`No WebGPU adapter: ${lookup.reason}.`);
  console.log(
    "An NVIDIA server needs the driver's Vulkan ICD (nvidia_icd.json) and libvulkan1; in a " +
      "container, NVIDIA_DRIVER_CAPABILITIES must include graphics (e.g. compute,utility,graphics).",
  );
  Deno.exit(1);
}
const adapter = lookup.info;
console.log(`Adapter: ${describeAdapter(adapter)}`);
const quick = values.quick;

if (!values["skip-parity"]) {
  const t0 = performance.now();
  const parity = await deno([
    "test",
    "-A",
    "--quiet",
    here("../tests/backends/webgpu_parity_test.ts"),
  ]);
  const summary = stripVTControlCharacters(parity.out).split("\n")
    .filter((l) => /^(ok|FAILED) \|/.test(l) || / \.\.\. (ok|FAILED|ignored)/.test(l));
  console.log(
    `\nParity tests (webgpu vs cpu), ${((performance.now() - t0) / 1000).toFixed(0)} s: ${
      parity.code === 0 ? "passed" : "FAILED"
    }`,
  );
  for (const line of summary) console.log(`  ${line.trim()}`);
}

if (adapter.cpu && !values.quick) {
  console.log(
    "\nIteration timings skipped on a CPU adapter: one full-width MNIST iteration on llvmpipe " +
      "takes over 8 minutes even at batch 16 (measured); pass --quick to run them anyway at batch 16.",
  );
  Deno.exit(0);
}
const rows: string[] = [];
for (const pair of ["mnist", "cifar"] as const) {
  const seconds: Record<string, number | string> = {};
  for (const backend of ["webgpu", "wasm"]) {
    const args = [
      "run",
      "-A",
      here("./pre_dfkd_iteration.ts"),
      "--pair",
      pair,
      "--backend",
      backend,
    ];
    args.push("--repeats", values.repeats);
    if (quick) args.push("--batch", "16");
    const r = await deno(args);
    const m = r.out.match(/ITERATION_SECONDS ([0-9.]+)/);
    seconds[backend] = m
      ? Number(m[1])
      : `failed (${r.out.trim().split("\n").at(-1)?.slice(0, 120)})`;
  }
  const [g, w] = [seconds.webgpu, seconds.wasm];
  const ratio = typeof g === "number" && typeof w === "number" ? (g / w).toFixed(2) : "-";
  const label = pair === "mnist"
    ? `MNIST LeNet-5 -> LeNet-5-half, batch ${quick ? 16 : 64}`
    : `CIFAR-10 ResNet-34 -> ResNet-18, batch ${quick ? 16 : 256}`;
  rows.push(`| ${label} | ${g} | ${w} | ${ratio} |`);
}
console.log("\nOne PRE-DFKD iteration (median of --repeats), seconds:");
console.log("| pair | webgpu | wasm | webgpu / wasm |\n| --- | --- | --- | --- |");
for (const row of rows) console.log(row);
