import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import {
  daflGeneratorLoss,
  dfadGeneratorLoss,
  kdKlLoss,
} from "../../src/methods/blocks/generative_losses.ts";
import { l1LogitLoss } from "../../src/methods/blocks/losses.ts";
import { learningRateAt } from "../../src/util/lr_schedule.ts";

// Expected values: the DAFL and DFAD releases' loss code run in PyTorch 1.13 (float32);
// `/usr/bin/python3 tests/methods/reference/generative_losses_reference.py` regenerates the file.
const REF = JSON.parse(
  await Deno.readTextFile(new URL("./reference/generative_losses_reference.json", import.meta.url)),
);
const TOL = 1e-5;

function close(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= TOL, `${what}: got ${got}, want ${want}`);
}

function closeAll(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  want.forEach((w, i) => close(got[i]!, w, `${what}[${i}]`));
}

function scalar(t: tf.Scalar): number {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

Deno.test("DAFL's generator loss and its gradients match the release in PyTorch", async () => {
  await initBackend("wasm");
  const before = tf.memory().numTensors;
  const t = tf.tensor2d(REF.inputs.teacher);
  const f = tf.tensor2d(REF.inputs.features);
  for (const name of ["cifar10", "defaults"]) {
    const want = REF[`daflGenerator_${name}`];
    const [oneHot, entropy, activation] = want.weights as number[];
    const weights = { oneHot: oneHot!, entropy: entropy!, activation: activation! };
    const parts = daflGeneratorLoss(t, f, weights);
    close(scalar(parts.oneHot), want.oneHot, `${name} oneHot`);
    close(scalar(parts.entropy), want.entropy, `${name} entropy`);
    close(scalar(parts.activation), want.activation, `${name} activation`);
    close(scalar(parts.total), want.total, `${name} total`);
    const grads = tf.grads((logits: tf.Tensor, features: tf.Tensor) => {
      const p = daflGeneratorLoss(logits as tf.Tensor2D, features, weights);
      tf.dispose([p.oneHot, p.entropy, p.activation]);
      return p.total;
    })([t, f]);
    closeAll(grads[0]!.dataSync(), want.gradTeacher, `${name} d/dT`);
    closeAll(grads[1]!.dataSync(), want.gradFeatures, `${name} d/df`);
    tf.dispose(grads);
  }
  tf.dispose([t, f]);
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
});

Deno.test("kdKlLoss is DAFL's kdloss at T=1 and CMI's KLDiv at T=20, with the release's student gradients", async () => {
  await initBackend("wasm");
  const s = tf.tensor2d(REF.inputs.student);
  const t = tf.tensor2d(REF.inputs.teacher);
  for (const [name, temperature] of [["daflKd", 1], ["cmiKl20", 20]] as const) {
    close(scalar(kdKlLoss(s, t, temperature)), REF[name].value, name);
    const gs = tf.grad((a: tf.Tensor) => kdKlLoss(a as tf.Tensor2D, t, temperature))(s);
    closeAll(gs.dataSync(), REF[name].gradStudent, `${name} d/dS`);
    gs.dispose();
  }
  tf.dispose([s, t]);
});

Deno.test("DFAD's student and generator L1 losses match the release, gradients into both networks", async () => {
  await initBackend("wasm");
  const s = tf.tensor2d(REF.inputs.student);
  const t = tf.tensor2d(REF.inputs.teacher);
  close(scalar(l1LogitLoss(s, t)), REF.dfadStudent.value, "student L1");
  close(scalar(dfadGeneratorLoss(s, t)), REF.dfadGenerator.value, "generator -L1");
  const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => dfadGeneratorLoss(a, b))([s, t]);
  closeAll(gs!.dataSync(), REF.dfadGenerator.gradStudent, "d(-L1)/dS");
  closeAll(gt!.dataSync(), REF.dfadGenerator.gradTeacher, "d(-L1)/dT");
  tf.dispose([s, t, gs!, gt!]);
});

Deno.test("DFAD's --scheduler (MultiStepLR [100, 200] stepped at each epoch's start) is step [99, 199] from epoch 0", () => {
  const { baseLr, ratesByEpoch } = REF.dfadSchedule as { baseLr: number; ratesByEpoch: number[] };
  ratesByEpoch.forEach((want, epoch) => {
    const got = learningRateAt({ type: "step", milestones: [99, 199], gamma: 0.1 }, baseLr, epoch);
    assert.ok(Math.abs(got - want) <= 1e-12, `epoch ${epoch}: got ${got}, want ${want}`);
  });
});
