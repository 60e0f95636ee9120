/**
 * `deno task mnist-methods`: a short MNIST check of every method. Trains a
 * LeNet-5 teacher on the embedded MNIST train split (8,000 digits), then
 * distils it into LeNet-5-half with each method under the same scaled-down
 * budget, evaluating the student on the 2,000 test digits after every epoch,
 * and prints a table (chance is 10%).
 *
 * The budget is a CPU-sized scale-down of the release's (labelled as such):
 * by default 10 epochs of 10 iterations, batch 64, generator and VAE at width
 * 0.25, latent 256; every other hyperparameter is the method's default.
 *
 * Usage: deno task mnist-methods [--epochs 10] [--iterations 10] [--batch 64]
 *   [--width 0.25] [--latent 256] [--teacher-epochs 4] [--seed 1] [--methods a,b]
 *   [--student-optimizer sgd|adam] [--student-lr 0.1]
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backends/init_backend.ts";
import { iterateBatches } from "../src/data/batches.ts";
import type { Dataset, ImageSplit } from "../src/data/dataset.ts";
import { mnist } from "../src/data/mnist.ts";
import { type Classifier, forward } from "../src/models/classifier.ts";
import type { Hyperparameters } from "../src/methods/method.ts";
import { getMethod, METHODS } from "../src/methods/registry.ts";
import { Optimizer } from "../src/util/optim.ts";
import { silentLogger } from "../src/util/logger.ts";
import { Rng } from "../src/util/rng.ts";
import { lenetBuilder } from "./lenet_local.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string", default: "10" },
    iterations: { type: "string", default: "10" },
    batch: { type: "string", default: "64" },
    width: { type: "string", default: "0.25" },
    latent: { type: "string", default: "256" },
    "teacher-epochs": { type: "string", default: "4" },
    seed: { type: "string", default: "1" },
    methods: { type: "string", default: Object.keys(METHODS).join(",") },
    "student-optimizer": { type: "string", default: "sgd" },
    "student-lr": { type: "string", default: "0.1" },
  },
});
const epochs = Number(values.epochs);
const width = Number(values.width);
const seed = Number(values.seed);

await initBackend("wasm");
const data: Dataset = await mnist.load({ dataRoot: "" });
const { build, source } = await lenetBuilder();
const shape = data.imageShape;

function accuracy(classifier: Classifier, split: ImageSplit): number {
  let correct = 0;
  for (
    const { x, y } of iterateBatches(split, {
      imageShape: shape,
      normalisation: data.normalisation,
      batchSize: 500,
    })
  ) {
    correct += tf.tidy(() =>
      tf.sum(tf.equal(tf.argMax(forward(classifier, x, false).logits, 1), y)).dataSync()[0]!
    );
    tf.dispose([x, y]);
  }
  return correct / split.size;
}

// Teacher: LeNet-5 trained with Adam (lr 1e-3, batch 64) and cross-entropy.
const teacher = build(false, seed);
const teacherRng = new Rng(`teacher:${seed}`);
const teacherOpt = new Optimizer({ name: "adam", lr: 1e-3 });
const teacherVars = teacher.model.trainableWeights.map((w) =>
  (w as unknown as { read(): tf.Variable }).read()
);
let t0 = performance.now();
for (let e = 0; e < Number(values["teacher-epochs"]); e++) {
  for (
    const { x, y } of iterateBatches(data.train, {
      imageShape: shape,
      normalisation: data.normalisation,
      batchSize: 64,
      rng: teacherRng,
    })
  ) {
    await teacherOpt.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(
          tf.oneHot(y, 10),
          forward(teacher, x, true).logits,
        ) as tf.Scalar,
      teacherVars,
    );
    tf.dispose([x, y]);
  }
}
const teacherAcc = accuracy(teacher, data.test);
console.log(
  `teacher LeNet-5 (${source}): test accuracy ${(100 * teacherAcc).toFixed(2)}% after ` +
    `${values["teacher-epochs"]} epochs (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
);

const hyperFor = (method: string): Hyperparameters => ({
  generatorWidth: width,
  latentDim: Number(values.latent),
  studentOptimizer: values["student-optimizer"] as string,
  studentLr: Number(values["student-lr"]),
  ...(values["student-optimizer"] === "adam" ? { studentWeightDecay: 0 } : {}),
  ...(method === "pre-dfkd" ? { vaeWidth: width } : {}),
});

const rows: string[] = [];
for (const name of (values.methods as string).split(",")) {
  const student = build(true, seed + 1);
  const method = getMethod(name).create({
    teacher,
    student,
    imageShape: shape,
    classes: 10,
    budget: {
      epochs,
      iterationsPerEpoch: Number(values.iterations),
      batchSize: Number(values.batch),
      studentStepsPerIteration: 10,
    },
    hyper: hyperFor(name),
    rng: new Rng(seed),
    log: silentLogger,
  });
  const accs: number[] = [];
  t0 = performance.now();
  let bytes = 0;
  for (let e = 0; e < epochs; e++) {
    const report = await method.runEpoch(e);
    bytes = report.replayBytes;
    accs.push(accuracy(student, data.test));
    console.log(
      `${name} epoch ${e}: student ${(100 * accs[e]!).toFixed(2)}%, losses ${
        Object.entries(report.losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(" ")
      }`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  const mean = accs.reduce((s, a) => s + a, 0) / accs.length;
  rows.push(
    `| ${name} | ${accs.map((a) => (100 * a).toFixed(1)).join(" ")} | ${
      (100 * mean).toFixed(1)
    } | ${(100 * Math.max(...accs)).toFixed(1)} | ${
      (100 * accs[accs.length - 1]!).toFixed(1)
    } | ${bytes} | ${seconds.toFixed(0)} |`,
  );
  method.dispose();
  student.model.dispose();
}
console.log(
  `\nMNIST, LeNet-5 (${(100 * teacherAcc).toFixed(2)}%) -> LeNet-5-half, scaled-down budget: ` +
    `${epochs} epochs x ${values.iterations} iterations x 10 student steps, batch ${values.batch}, ` +
    `generator/VAE width ${width}, latent ${values.latent}, student ${
      values["student-optimizer"]
    } lr ${values["student-lr"]}, seed ${seed}`,
);
console.log(
  "| method | test accuracy per epoch (%) | mean | peak | final | replay bytes | seconds |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
