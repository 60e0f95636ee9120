/**
 * `deno run -A tools/inversion_mnist.ts`: per-epoch wall time and test
 * accuracy of methods on MNIST (LeNet-5 -> LeNet-5-half, the cached recipe
 * teacher) under one budget, side by side in one process, to size
 * `benchmarks/mnist-table1.json` and check that the inversion methods learn.
 *
 * Usage: deno run -A tools/inversion_mnist.ts [--epochs 8] [--iterations 8]
 *   [--steps 5] [--batch 64] [--seed 0] [--methods pre-dfkd,deepinversion,cmi]
 *   [--hyper '{"cmi": {"synthesisSteps": 50}}']
 * Shared hyperparameters: latentDim 256, generatorWidth 0.25 (where a method has them).
 */
import { parseArgs } from "node:util";
import { initBackend } from "../src/backends/init_backend.ts";
import { mnist } from "../src/data/mnist.ts";
import type { Hyperparameters } from "../src/methods/method.ts";
import { getMethod } from "../src/methods/registry.ts";
import { evaluateAccuracy } from "../src/models/evaluate.ts";
import { buildClassifier } from "../src/models/registry.ts";
import { obtainTeacher } from "../src/models/teacher/cache.ts";
import { declareTeacher } from "../src/models/teacher/recipe.ts";
import { silentLogger } from "../src/util/logger.ts";
import { Rng } from "../src/util/rng.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string", default: "8" },
    iterations: { type: "string", default: "8" },
    steps: { type: "string", default: "5" },
    batch: { type: "string", default: "64" },
    seed: { type: "string", default: "0" },
    methods: { type: "string", default: "pre-dfkd,deepinversion,cmi" },
    hyper: { type: "string", default: "{}" },
  },
});
const own = JSON.parse(values.hyper as string) as Record<string, Hyperparameters>;
await initBackend("wasm");
const data = await mnist.load({ dataRoot: "" });
const { classifier: teacher, testAccuracy } = await obtainTeacher(
  declareTeacher("lenet5", "mnist"),
  { dataRoot: "", dataset: data, log: silentLogger },
);
const options = { imageShape: data.imageShape, normalisation: data.normalisation };
const budget = {
  epochs: Number(values.epochs),
  iterationsPerEpoch: Number(values.iterations),
  batchSize: Number(values.batch),
  studentStepsPerIteration: Number(values.steps),
};
console.log(
  `teacher LeNet-5 ${(100 * testAccuracy).toFixed(2)}%; budget ${JSON.stringify(budget)}`,
);
const rows: string[] = [];
for (const name of (values.methods as string).split(",")) {
  const table = getMethod(name).hyperparameters;
  const shared: Hyperparameters = { latentDim: 256, generatorWidth: 0.25, vaeWidth: 0.25 };
  const hyper = Object.fromEntries(
    Object.entries({ ...shared, ...(own[name] ?? {}) }).filter(([k]) => k in table),
  );
  const rng = new Rng(Number(values.seed));
  const student = buildClassifier("lenet5-half", {
    inputShape: data.imageShape,
    classes: 10,
    seed: rng.fork("student").seed(),
  });
  const method = getMethod(name).create({
    teacher,
    student,
    imageShape: data.imageShape,
    classes: 10,
    normalisation: data.normalisation,
    budget,
    hyper,
    rng: rng.fork("method"),
    log: silentLogger,
  });
  const seconds: number[] = [];
  const accs: number[] = [];
  for (let e = 0; e < budget.epochs; e++) {
    const t0 = performance.now();
    await method.runEpoch(e);
    seconds.push((performance.now() - t0) / 1000);
    accs.push(100 * await evaluateAccuracy(student, data.test, options));
    console.log(
      `${name} epoch ${e}: ${seconds[e]!.toFixed(1)} s, accuracy ${accs[e]!.toFixed(1)}%`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  rows.push(
    `| ${name} | ${JSON.stringify(own[name] ?? {})} | ${mean(seconds).toFixed(1)} | ` +
      `${mean(accs).toFixed(1)} | ${accs[accs.length - 1]!.toFixed(1)} | ${method.replayBytes()} |`,
  );
  method.dispose();
  student.model.dispose();
}
console.log("| method | overrides | s / epoch | mean acc % | final acc % | replay bytes |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
