/**
 * `deno task kernels`: prints convolution throughput per backend
 * configuration (backend, threads, oneDNN on or off), shape and pass,
 * measured back to back, in GMAC/s and as a share of this CPU's peak
 * (logical cores x 32 float32 FLOP per cycle: two AVX2 FMA units, 8 lanes,
 * 2 FLOP each, at the clock /proc/cpuinfo reports). The 1-thread wasm and the
 * cpu rows also time the backends' original gradient kernels, which
 * dfkd-bench replaces. The cpu backend (`--configs cpu/1/off`) is left out by
 * default: at well under 1 GMAC/s its cells take minutes.
 *
 * Threads and oneDNN are fixed when a process first initialises wasm, so each
 * configuration runs in its own process (`--child`), one after the other.
 *
 * Usage: deno task kernels [--seconds S] [--configs wasm/1/off,wasm/2/on,cpu/1/off]
 * (a configuration is backend/threads/oneDNN).
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backends/init_backend.ts";
import {
  type ConvPass,
  type ConvShape,
  measureConvThroughput,
} from "../src/backends/conv_throughput.ts";
import { registerTrainingKernels } from "../src/backends/training_kernels.ts";
import { CIFAR_SHAPES, shapeLabel } from "./conv_shapes.ts";

const cores = navigator.hardwareConcurrency;
const DEFAULT_CONFIGS = [
  "wasm/1/off",
  `wasm/${cores}/off`,
  "wasm/1/on",
  `wasm/${cores}/on`,
].filter((c, i, all) => all.indexOf(c) === i).join(",");

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "1" },
    configs: { type: "string", default: DEFAULT_CONFIGS },
    child: { type: "string" },
  },
});
const seconds = Number(values.seconds);

/** Runs `measure` with the backend's original kernel for `pass` installed, if it had one. */
async function withOriginal(
  backend: "wasm" | "cpu",
  pass: ConvPass,
  measure: () => Promise<number> | number,
): Promise<number | undefined> {
  const name = pass === "backprop-filter" ? tf.Conv2DBackpropFilter : tf.Conv2DBackpropInput;
  const original = registerTrainingKernels(backend).get(name);
  if (original === undefined) return undefined;
  tf.unregisterKernel(name, backend);
  tf.registerKernel(original);
  try {
    return await measure();
  } finally {
    registerTrainingKernels(backend);
  }
}

/** Original cpu gradient kernels run at a few MMAC/s: measure them on a batch of 4. */
function smaller(shape: ConvShape, backend: string): ConvShape {
  return backend === "cpu" ? { ...shape, batch: 4 } : shape;
}

/** Measures one configuration (this process) and prints one JSON row per shape. */
async function child(config: string): Promise<void> {
  const [backend, threads] = config.split("/") as ["wasm" | "cpu", string];
  const info = await initBackend(backend, { threads: Number(threads) });
  const originals = backend === "cpu" || (info.threads === 1 && !info.native?.available);
  for (const shape of CIFAR_SHAPES) {
    const fwd = await measureConvThroughput(shape, "forward", seconds);
    const row: Record<string, number | string> = { fwd };
    for (const pass of ["backprop-input", "backprop-filter"] as const) {
      row[pass] = await measureConvThroughput(shape, pass, seconds);
      const orig = originals
        ? await withOriginal(
          backend,
          pass,
          () => measureConvThroughput(smaller(shape, backend), pass, seconds),
        )
        : undefined;
      row[`${pass}-original`] = orig === undefined ? (originals ? "none" : "-") : orig;
    }
    console.log(JSON.stringify({ shape: shapeLabel(shape), threads: info.threads, ...row }));
  }
}

function peakGflops(): { gflops: number; mhz: number } {
  const text = Deno.readTextFileSync("/proc/cpuinfo");
  const mhz = Number(text.match(/cpu MHz\s*:\s*([0-9.]+)/)?.[1] ?? "0");
  return { gflops: (cores * 32 * mhz) / 1000, mhz };
}

if (values.child !== undefined) {
  await child(values.child);
  Deno.exit(0);
}

const peak = peakGflops();
const pct = (gmacs: number) => `${((200 * gmacs) / peak.gflops).toFixed(1)}%`;
const fmt = (v: unknown) => (typeof v === "number" ? v.toFixed(v < 0.1 ? 3 : 2) : String(v));
const header = [
  "backend",
  "threads",
  "oneDNN",
  "shape (batch 64, 3x3)",
  "fwd GMAC/s",
  "fwd % peak",
  "bwd-input GMAC/s",
  "input % peak",
  "original input kernel",
  "bwd-filter GMAC/s",
  "filter % peak",
  "original filter kernel",
];
const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
for (const config of (values.configs ?? DEFAULT_CONFIGS).split(",")) {
  const [backend, threads, onednn] = config.split("/");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--child",
      config,
      "--seconds",
      String(seconds),
    ],
    env: { DFKD_ONEDNN: onednn === "on" ? "on" : "off" },
    stdin: "null",
    stderr: "inherit",
  }).output();
  const rows = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) =>
    l.startsWith("{")
  );
  if (out.code !== 0 || rows.length === 0) {
    lines.push(`| ${backend} | ${threads} | ${onednn} | failed (exit ${out.code}) |`);
    continue;
  }
  for (const line of rows) {
    const r = JSON.parse(line);
    lines.push(
      `| ${backend} | ${r.threads} | ${onednn} | ${r.shape} | ${fmt(r.fwd)} | ${pct(r.fwd)} | ${
        fmt(r["backprop-input"])
      } | ${pct(r["backprop-input"])} | ${fmt(r["backprop-input-original"])} | ${
        fmt(r["backprop-filter"])
      } | ${pct(r["backprop-filter"])} | ${fmt(r["backprop-filter-original"])} |`,
    );
  }
  console.error(`measured ${config}`);
}
console.log(lines.join("\n"));
console.log(
  `\nMeasured with TensorFlow.js ${tf.version.tfjs} on ${cores} logical CPUs, ${seconds}s per cell, ` +
    `configurations one after the other; peak ${peak.gflops.toFixed(0)} GFLOP/s ` +
    `(${cores} x 32 FLOP/cycle x ${
      peak.mhz.toFixed(0)
    } MHz; 1 MAC = 2 FLOP); original cpu kernels on batch 4.`,
);
