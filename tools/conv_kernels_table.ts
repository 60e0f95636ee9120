/**
 * `deno task kernels`: prints convolution throughput (GMAC/s) per backend,
 * shape and pass, measured side by side in one process, with the ratio of
 * each gradient pass to the forward pass and the backends' original kernels
 * (which dfkd-bench replaces) for comparison.
 *
 * Usage: deno task kernels [--seconds S] [--backends wasm,cpu]
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

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "1" },
    backends: { type: "string", default: "wasm,cpu" },
  },
});
const seconds = Number(values.seconds);
const backends = (values.backends ?? "wasm,cpu").split(",") as ("wasm" | "cpu")[];

/** Runs `measure` with the backend's original kernel for `pass` installed, if it had one. */
function withOriginal(
  backend: "wasm" | "cpu",
  pass: ConvPass,
  measure: () => number,
): number | undefined {
  const name = pass === "backprop-filter" ? tf.Conv2DBackpropFilter : tf.Conv2DBackpropInput;
  const original = registerTrainingKernels(backend).get(name);
  if (original === undefined) return undefined;
  tf.unregisterKernel(name, backend);
  tf.registerKernel(original);
  try {
    return measure();
  } finally {
    registerTrainingKernels(backend);
  }
}

/** Original cpu gradient kernels run at a few MMAC/s: measure them on a batch of 4. */
function smaller(shape: ConvShape, backend: string): ConvShape {
  return backend === "cpu" ? { ...shape, batch: 4 } : shape;
}

const rows: string[][] = [];
for (const backend of backends) {
  await initBackend(backend);
  for (const shape of CIFAR_SHAPES) {
    const fwd = measureConvThroughput(shape, "forward", seconds);
    const row = [backend, shapeLabel(shape), fwd.toFixed(2)];
    for (const pass of ["backprop-input", "backprop-filter"] as const) {
      const ours = measureConvThroughput(shape, pass, seconds);
      const orig = withOriginal(
        backend,
        pass,
        () => measureConvThroughput(smaller(shape, backend), pass, seconds),
      );
      row.push(
        ours.toFixed(2),
        (ours / fwd).toFixed(2),
        orig === undefined ? "none" : orig.toFixed(3),
      );
    }
    rows.push(row);
    console.error(`measured ${row.slice(0, 2).join(" ")}`);
  }
}

const header = [
  "backend",
  "shape (batch 64, 3x3)",
  "fwd GMAC/s",
  "bwd-input GMAC/s",
  "input/fwd",
  "original input kernel",
  "bwd-filter GMAC/s",
  "filter/fwd",
  "original filter kernel",
];
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  `\nMeasured with TensorFlow.js ${tf.version.tfjs} on ${navigator.hardwareConcurrency} logical CPUs, ` +
    `${seconds}s per cell; original cpu kernels on batch 4.`,
);
