/**
 * The memory estimate (`src/methods/memory_estimate.ts`) against the measured
 * peak: runs two epochs of one iteration of a method on the MNIST pair
 * (LeNet-5 -> LeNet-5-half, the method's defaults, wasm, one thread) under
 * `tf.profile` and prints its peak tensor bytes beside the estimate, part by
 * part.
 *
 * Usage: deno run -A tools/memory_peak.ts [method] [batch]
 * (defaults: no-replay 256).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backends/init_backend.ts";
import { classifierPart, partBytes } from "../src/methods/memory_estimate.ts";
import { getMethod } from "../src/methods/registry.ts";
import { buildClassifier } from "../src/models/registry.ts";
import { silentLogger } from "../src/util/logger.ts";
import { Rng } from "../src/util/rng.ts";

await initBackend("wasm", { threads: 1 });
const name = Deno.args[0] ?? "no-replay";
const batch = Number(Deno.args[1] ?? 256);
const imageShape: [number, number, number] = [32, 32, 1];
const teacher = buildClassifier("lenet5", { inputShape: imageShape, classes: 10, seed: 1 });
const student = buildClassifier("lenet5-half", { inputShape: imageShape, classes: 10, seed: 2 });
const plugin = getMethod(name);
const budget = { epochs: 2, iterationsPerEpoch: 1, batchSize: batch, studentStepsPerIteration: 2 };
const settings = { imageShape, classes: 10, budget, hyper: {} };
const method = plugin.create({ teacher, student, ...settings, rng: new Rng(1), log: silentLogger });
const profile = await tf.profile(async () => {
  await method.runEpoch(0);
  await method.runEpoch(1);
});
method.dispose();
const parts = [
  classifierPart("teacher", teacher, false, batch),
  classifierPart("student", student, true, batch),
  ...(plugin.memory?.(settings) ?? []),
];
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
console.log(`| ${name}, batch ${batch} | MiB |\n| --- | --- |`);
console.log(`| measured peak (tensor bytes) | ${mib(profile.peakBytes)} |`);
console.log(`| estimate | ${mib(parts.reduce((s, p) => s + partBytes(p), 0))} |`);
for (const p of parts) console.log(`| - ${p.what} | ${mib(partBytes(p))} |`);
