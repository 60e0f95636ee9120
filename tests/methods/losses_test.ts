import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import {
  activationLoss,
  adversarialJsLoss,
  generatorLoss,
  informationEntropyLoss,
  l1LogitLoss,
  oneHotLoss,
  vaeKlLoss,
} from "../../src/methods/blocks/losses.ts";

// Expected values: the PRE-DFKD release's loss code run in PyTorch 1.13 (float32) on these
// inputs; `/usr/bin/python3 tests/methods/reference/losses_reference.py` prints them.
const T = [
  [2.0, -1.0, 0.5, 3.0, 0.0],
  [0.1, 0.2, -0.3, 0.4, 1.5],
  [-2.0, 4.0, 1.0, 0.0, -1.0],
];
const S = [
  [1.0, 0.0, -0.5, 2.0, 0.3],
  [0.0, 1.0, 0.5, -1.0, 2.0],
  [3.0, -1.0, 0.0, 1.0, 0.5],
];
const FEATURES = [[0.5, -1.5, 2.0, 0.0], [1.0, 1.0, -0.25, 3.0], [0.0, -2.0, 0.5, 0.75]];
const MU = [[0.5, -1.0, 0.2], [0.0, 0.3, -0.7]];
const LOG_VAR = [[0.1, -0.5, 0.0], [0.4, -0.2, 0.3]];

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want}`);
}

function value(t: tf.Scalar): number {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

Deno.test("losses match the PRE-DFKD release's values on fixed inputs", async () => {
  await initBackend("wasm");
  const before = tf.memory().numTensors;
  const t = tf.tensor2d(T);
  const s = tf.tensor2d(S);
  close(value(oneHotLoss(t)), 0.3978910446166992, 1e-6, "oneHotLoss");
  close(value(informationEntropyLoss(t)), -0.6335430145263672, 1e-6, "informationEntropyLoss");
  close(value(activationLoss(tf.tensor2d(FEATURES))), -1.0416666269302368, 1e-7, "activationLoss");
  close(value(adversarialJsLoss(s, t)), 0.9872198104858398, 1e-6, "adversarialJsLoss");
  close(value(l1LogitLoss(s, t)), 1.426666498184204, 1e-6, "l1LogitLoss");
  close(
    value(vaeKlLoss(tf.tensor2d(MU), tf.tensor2d(LOG_VAR))),
    5.355289431463461e-06,
    1e-11,
    "vaeKlLoss",
  );
  tf.dispose([t, s]);
  // Only the input tensors built inline above remain (features, mu, logVar).
  assert.ok(tf.memory().numTensors - before <= 3, "losses dispose their intermediates");
});

Deno.test("adversarialJsLoss reproduces the specification's worked example", async () => {
  await initBackend("wasm");
  const s = tf.tensor2d([[1, 2, 3, -1], [0.5, 0, -0.5, 2]]);
  const t = tf.tensor2d([[3, 2, 1, 0], [0, 0, 0, 4]]);
  close(value(adversarialJsLoss(s, t)), 0.9938282, 5e-7, "worked example");
  tf.dispose([s, t]);
});

Deno.test("adversarialJsLoss gradient (with its clamps) matches PyTorch autograd", async () => {
  await initBackend("wasm");
  const s = tf.tensor2d(S);
  const t = tf.tensor2d(T);
  const g = tf.grad((x: tf.Tensor) => adversarialJsLoss(x as tf.Tensor2D, t))(s);
  const want = [
    0.00021385801665019244,
    -0.0003989174438174814,
    0.0001297114504268393,
    0.0002984633028972894,
    -0.0002431153698125854,
    0.00010961108637275174,
    -0.00021333170298021287,
    -0.0001805810461519286,
    0.0004193328495603055,
    -0.00013503119407687336,
    -0.002467480720952153,
    0.0021327058784663677,
    0.0005079054390080273,
    -2.145129292330239e-05,
    -0.00015167899255175143,
  ];
  Array.from(g.dataSync()).forEach((v, i) => close(v, want[i]!, 2e-7, `grad[${i}]`));
  tf.dispose([s, t, g]);
});

Deno.test("generator loss: the adversarial term's gradient reaches the student's logits only (teacher detached)", async () => {
  await initBackend("wasm");
  const t = tf.tensor2d(T);
  const s = tf.tensor2d(S);
  const f = tf.tensor2d(FEATURES);
  const w = { oneHot: 1, entropy: 5, activation: 0.1, adversarial: 1, temperature: 3 };
  const [gT, gS] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    generatorLoss(a as tf.Tensor2D, f, b as tf.Tensor2D, w).total
  )([t, s]);
  // Through the teacher: exactly the priors' gradient (the release's outputs_T.detach()), which
  // is what the generator receives through the teacher's logits.
  const priors = tf.grad((a: tf.Tensor) =>
    tf.add(oneHotLoss(a as tf.Tensor2D), tf.mul(informationEntropyLoss(a as tf.Tensor2D), 5))
  )(t);
  const jsThroughTeacher = tf.grad((a: tf.Tensor) => adversarialJsLoss(s, a as tf.Tensor2D))(t);
  assert.ok(tf.max(tf.abs(jsThroughTeacher)).dataSync()[0]! > 1e-4, "live JS gradient exists");
  const gotT = gT!.dataSync();
  Array.from(priors.dataSync()).forEach((v, i) => close(gotT[i]!, v, 1e-7, `teacher grad[${i}]`));
  // Through the student: the adversarial loss's own gradient.
  const js = tf.grad((b: tf.Tensor) => adversarialJsLoss(b as tf.Tensor2D, t))(s);
  const gotS = gS!.dataSync();
  Array.from(js.dataSync()).forEach((v, i) => close(gotS[i]!, v, 1e-9, `student grad[${i}]`));
  const { total, parts } = generatorLoss(t, f, s, w);
  const p = parts.dataSync();
  close(total.dataSync()[0]!, p[0]! + 5 * p[1]! + 0.1 * p[2]! + p[3]!, 1e-6, "total");
  tf.dispose([t, s, f, gT!, gS!, priors, jsThroughTeacher, js, total, parts]);
});

Deno.test("information entropy is minimal (-log10 K) for a class-balanced batch", async () => {
  await initBackend("wasm");
  // By hand: two confident samples of different classes give pbar = [1/2, 1/2] (approximately),
  // so IE = log10(1/2); a batch of one class gives IE close to 0.
  close(
    value(informationEntropyLoss(tf.tensor2d([[20, 0], [0, 20]]))),
    Math.log10(0.5),
    1e-6,
    "balanced",
  );
  close(value(informationEntropyLoss(tf.tensor2d([[20, 0], [20, 0]]))), 0, 1e-6, "one class");
});
