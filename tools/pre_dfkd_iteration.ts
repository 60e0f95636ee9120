/**
 * `deno task iteration`: times one PRE-DFKD iteration (1 generator step, 10
 * student steps with memory samples, 4 VAE steps with self-replay) of the
 * full-width MNIST configuration (LeNet-5 teacher, LeNet-5-half student,
 * batch 64, latent 1000, generator and VAE at width 1) on one thread, and
 * prints where the time goes (kernel time by kernel and shape).
 *
 * The first iteration of a run is the VAE's warm-up (novel samples only), so
 * the script runs it once untimed, then times `--repeats` ordinary
 * iterations. The networks come from the model zoo (`src/models/registry.ts`)
 * when it is present, else from equivalent local definitions (the release's
 * `networks/lenet.py` layer for layer); the script says which.
 *
 * Usage: deno task iteration [--repeats N] [--backend wasm|webgpu|...]
 *   [--threads N] [--profile] [--batch B] [--pair mnist|cifar]
 *   [--width W] [--latent L] [--steps S]
 *
 * `--threads` defaults to every core; `DFKD_ONEDNN=off` runs without oneDNN.
 * `--pair cifar` times the CIFAR-10 pair instead (ResNet-34 -> ResNet-18,
 * 32x32x3, batch 256 unless `--batch`), as `deno task gpu-check` does. The
 * last line, `ITERATION_SECONDS <median>`, is for scripts.
 *
 * The PyTorch reference of the same iteration is
 * `tools/pre_dfkd_iteration_reference.py` (run it with the same thread
 * count, side by side, for the ratio).
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../src/backends/init_backend.ts";
import { preDfkd } from "../src/methods/pre_dfkd.ts";
import { silentLogger } from "../src/util/logger.ts";
import { Rng } from "../src/util/rng.ts";
import { lenetBuilder } from "./lenet_local.ts";
import { buildClassifier } from "../src/models/registry.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    repeats: { type: "string", default: "3" },
    backend: { type: "string", default: "wasm" },
    profile: { type: "boolean", default: false },
    batch: { type: "string" },
    threads: { type: "string" },
    pair: { type: "string", default: "mnist" },
    width: { type: "string", default: "1" },
    latent: { type: "string", default: "1000" },
    steps: { type: "string", default: "10" },
  },
});
const repeats = Number(values.repeats);
const cifar = values.pair === "cifar";
if (!cifar && values.pair !== "mnist") {
  throw new Error(`--pair must be mnist or cifar (got ${values.pair})`);
}
const batchSize = Number(values.batch ?? (cifar ? "256" : "64"));

const info = await initBackend(values.backend as BackendName, {
  ...(values.threads !== undefined ? { threads: Number(values.threads) } : {}),
});
const imageShape: [number, number, number] = cifar ? [32, 32, 3] : [32, 32, 1];
const { build, source } = cifar
  ? {
    build: (student: boolean, seed: number) =>
      buildClassifier(student ? "resnet18" : "resnet34", {
        inputShape: imageShape,
        classes: 10,
        seed,
      }),
    source: "the model zoo (ResNet-34 -> ResNet-18)",
  }
  : await lenetBuilder();
const teacher = build(false, 1);
const student = build(true, 2);

const method = preDfkd.create({
  teacher,
  student,
  imageShape,
  classes: 10,
  budget: {
    epochs: 1 + repeats,
    iterationsPerEpoch: 1,
    batchSize,
    studentStepsPerIteration: Number(values.steps),
  },
  hyper: {
    studentOptimizer: "adam",
    studentWeightDecay: 0,
    latentDim: Number(values.latent),
    generatorWidth: Number(values.width),
    vaeWidth: Number(values.width),
  },
  rng: new Rng(1),
  log: silentLogger,
});

console.log(
  cifar
    ? `PRE-DFKD iteration, CIFAR-10: ResNet-34 -> ResNet-18, batch ${batchSize}, latent 1000; ` +
      `networks from ${source}`
    : `PRE-DFKD iteration, MNIST: LeNet-5 -> LeNet-5-half, batch ${batchSize}, latent ` +
      `${values.latent}, width ${values.width}, ${values.steps} student steps; networks from ${source}`,
);
console.log(
  `backend ${info.name} (${info.threads} thread${info.threads === 1 ? "" : "s"}${
    info.native ? `, ${info.native.available ? info.native.detail : "no oneDNN"}` : ""
  }), tfjs ${info.tfjsVersion}, kernels: ${info.customKernels.join(", ") || "none"}`,
);
let t0 = performance.now();
await method.runEpoch(0); // the VAE's warm-up iteration
console.log(`warm-up iteration (VAE on novel samples only): ${secs(performance.now() - t0)} s`);

const times: number[] = [];
for (let r = 1; r <= repeats; r++) {
  t0 = performance.now();
  const report = await method.runEpoch(r);
  times.push(performance.now() - t0);
  const c = report.counters;
  const phases = (method as unknown as { phaseSeconds: Record<string, number> }).phaseSeconds;
  console.log(
    `iteration ${r}: ${secs(times[times.length - 1]!)} s ` +
      `(generator steps ${c.generatorSteps}, student steps ${c.studentSteps}, ` +
      `VAE steps ${c.vaeSteps}, latent steps ${c.latentSteps}); seconds by phase: ${
        Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")
      }`,
  );
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `\n| iterations | min (s) | median (s) |\n| --- | --- | --- |\n| ${repeats} | ${
    secs(sorted[0]!)
  } | ${secs(sorted[Math.floor(sorted.length / 2)]!)} |`,
);

if (values.profile) {
  const profile = await tf.profile(async () => {
    await method.runEpoch(repeats + 1);
  });
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) {
    // Wrapper entries (`...__op`, `unnamed scope`) contain the kernels they call; skip them.
    if (k.name.endsWith("__op") || k.name === "unnamed scope") continue;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    byKernel.set(key, (byKernel.get(key) ?? 0) + (k.kernelTimeMs as number));
  }
  const rows = [...byKernel].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, v]) => s + v, 0);
  console.log(`\nkernel time ${secs(total)} s; top kernels:\n| ms | share | kernel inputs |`);
  console.log("| --- | --- | --- |");
  for (const [k, v] of rows.slice(0, 25)) {
    console.log(`| ${v.toFixed(0)} | ${(100 * v / total).toFixed(1)}% | ${k} |`);
  }
}
method.dispose();
console.log(`ITERATION_SECONDS ${secs(sorted[Math.floor(sorted.length / 2)]!)}`);

function secs(ms: number): string {
  return (ms / 1000).toFixed(2);
}
