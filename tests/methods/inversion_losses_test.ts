import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import type { Classifier } from "../../src/models/classifier.ts";
import {
  bnStatisticsLoss,
  instanceMeans,
  TeacherProbe,
} from "../../src/methods/blocks/bn_statistics.ts";
import { cmiContrastiveLoss, MlpHead } from "../../src/methods/blocks/contrastive.ts";
import {
  competitionLoss,
  crossEntropy,
  decisionAdversarialLoss,
  imageL2,
  jsDivergence,
  kdKlLoss,
  totalVariationL1,
  totalVariationL2,
} from "../../src/methods/blocks/inversion_losses.ts";
import { resample, rollAndFlip } from "../../src/methods/blocks/resample.ts";
import {
  DEEPINVERSION_HYPERPARAMETERS,
  deepInversionLoss,
  readDeepInversionSettings,
} from "../../src/methods/deepinversion.ts";
import { HyperReader } from "../../src/methods/hyper.ts";
import { Rng } from "../../src/util/rng.ts";

// Expected values: the DeepInversion (NVlabs) and CMI releases' loss code run in PyTorch 1.13
// (float32) on a tiny seeded teacher/student; `/usr/bin/python3
// tests/methods/reference/inversion_reference.py` regenerates inversion_reference.json.
const REF = JSON.parse(
  await Deno.readTextFile(new URL("./reference/inversion_reference.json", import.meta.url)),
);
const [N, H, W, C] = REF.shape as [number, number, number, number];

/** Within 1e-5, relative for values above 1 (float32 carries about 7 digits). */
function close(got: number, want: number, what: string, tol = 1e-5): void {
  assert.ok(
    Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)),
    `${what}: got ${got}, want ${want}`,
  );
}

function closeAll(got: ArrayLike<number>, want: number[], what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const scale = Math.max(1, ...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= tol * scale,
      `${what}[${i}]: got ${got[i]}, want ${want[i]}`,
    );
  }
}

function scalar(t: tf.Scalar): number {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

interface Lin {
  kernel: number[];
  bias: number[];
}

function conv(x: tf.SymbolicTensor, name: string, filters: number, w: Lin, inC: number) {
  const layer = tf.layers.conv2d({ name, filters, kernelSize: 3, padding: "same" });
  const y = layer.apply(x) as tf.SymbolicTensor;
  layer.setWeights([tf.tensor4d(w.kernel, [3, 3, inC, filters]), tf.tensor1d(w.bias)]);
  return y;
}

function dense(x: tf.SymbolicTensor, name: string, units: number, w: Lin, inSize: number) {
  const layer = tf.layers.dense({ name, units });
  const y = layer.apply(x) as tf.SymbolicTensor;
  layer.setWeights([tf.tensor2d(w.kernel, [inSize, units]), tf.tensor1d(w.bias)]);
  return y;
}

/** The reference's teacher: conv-BN-ReLU x 2, global mean, linear (features: the pooled 5). */
function referenceTeacher(): Classifier {
  const t = REF.teacher;
  const input = tf.input({ shape: [H, W, C] });
  let x = conv(input, "conv1", 4, t.conv1, C);
  for (const [name, ch, next] of [["bn1", 4, "conv2"], ["bn2", 5, ""]] as const) {
    const bn = tf.layers.batchNormalization({ name, epsilon: 1e-5 });
    x = bn.apply(x) as tf.SymbolicTensor;
    const p = t[name];
    bn.setWeights([p.gamma, p.beta, p.mean, p.var].map((v: number[]) => tf.tensor1d(v)));
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
    if (next !== "") x = conv(x, next, 5, t.conv2, ch);
  }
  const features = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = dense(features, "fc", 3, t.fc, 5);
  const model = tf.model({ inputs: input, outputs: [logits, features] });
  return { arch: "reference", inputShape: [H, W, C], classes: 3, featureSize: 5, model };
}

function referenceStudent(): Classifier {
  const s = REF.student;
  const input = tf.input({ shape: [H, W, C] });
  const h = tf.layers.reLU().apply(conv(input, "s_conv1", 3, s.conv1, C)) as tf.SymbolicTensor;
  const features = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const logits = dense(features, "s_fc", 3, s.fc, 3);
  return {
    arch: "reference-student",
    inputShape: [H, W, C],
    classes: 3,
    featureSize: 3,
    model: tf.model({ inputs: input, outputs: [logits, features] }),
  };
}

Deno.test("BN-statistics loss, instance means and the probe match the releases' hooks", async () => {
  await initBackend("wasm");
  const probe = new TeacherProbe(referenceTeacher(), []);
  assert.deepEqual(probe.stats.map((s) => s.name), ["bn1", "bn2"]);
  const x = tf.tensor4d(REF.x, [N, H, W, C]);
  const out = probe.forward(x);
  closeAll(out.logits.dataSync(), REF.probeLogits, "probe logits");
  close(scalar(bnStatisticsLoss(out.bnInputs, probe.stats)), REF.bnLoss, "bnStatisticsLoss");
  const means = instanceMeans(out.bnInputs);
  closeAll(means.dataSync(), REF.instanceMeans, "instanceMeans");
  tf.dispose([x, out.logits, out.features, ...out.bnInputs, means]);
  probe.dispose();
});

Deno.test("priors, one-hot, JS competition, KD and decision-adversarial losses match the releases", async () => {
  await initBackend("wasm");
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(REF.x, [N, H, W, C]);
  const s = tf.tensor2d(REF.studentLogits, [N, 3]);
  const t = tf.tensor2d(REF.teacherLogits, [N, 3]);
  const y = tf.tensor1d(REF.targets, "int32");
  close(scalar(totalVariationL1(x)), REF.tvL1, "totalVariationL1 (CMI)");
  close(scalar(totalVariationL2(x)), REF.tvL2, "totalVariationL2 (NVlabs)");
  close(scalar(imageL2(x)), REF.l2, "imageL2");
  close(scalar(crossEntropy(t, y)), REF.crossEntropy, "crossEntropy");
  close(scalar(jsDivergence(s, t, 3)), REF.jsDivergence, "jsDivergence");
  close(scalar(competitionLoss(s, t, 3, "neg-js")), REF.negJs, "competition neg-js (CMI)");
  close(
    scalar(competitionLoss(s, t, 3, "one-minus-js")),
    REF.oneMinusJs,
    "competition one-minus-js",
  );
  close(scalar(kdKlLoss(s, t, 20)), REF.kdKl, "kdKlLoss T=20");
  close(scalar(decisionAdversarialLoss(s, t)), REF.decisionAdversarial, "decisionAdversarialLoss");
  tf.dispose([x, s, t, y]);
  assert.equal(tf.memory().numTensors, before, "losses dispose their intermediates");
});

Deno.test("the DeepInversion step loss and its image gradient match CMI's DeepInvSyntheiszer", async () => {
  await initBackend("wasm");
  const ref = REF.deepInversion;
  const probe = new TeacherProbe(referenceTeacher(), []);
  const student = referenceStudent();
  const h = new HyperReader("deepinversion", DEEPINVERSION_HYPERPARAMETERS, {
    bnWeight: ref.bn,
    oneHotWeight: ref.oh,
    competitionWeight: ref.adv,
    tvWeight: ref.tv,
    l2Weight: ref.l2,
  });
  const settings = readDeepInversionSettings(h, H);
  const x = tf.variable(tf.tensor4d(REF.x, [N, H, W, C]));
  const y = tf.tensor1d(REF.targets, "int32");
  const roll = rollAndFlip(N, H, W, ref.roll[0], ref.roll[1], ref.flip);
  const { value, grads } = tf.variableGrads(() => {
    const images = x as unknown as tf.Tensor4D;
    return deepInversionLoss(probe, student, settings, images, resample(images, roll), y).total;
  }, [x]);
  close(scalar(value), ref.loss, "DeepInversion loss");
  closeAll(grads[x.name]!.dataSync(), ref.grad, "DeepInversion gradient");
  tf.dispose([x, y, ...Object.values(grads)]);
  probe.dispose();
});

Deno.test("CMI's contrastive loss (head, cached negatives, split means) and gradient match", async () => {
  await initBackend("wasm");
  const ref = REF.contrast;
  const d = 9;
  const head = new MlpHead(d, 4, new Rng(1));
  const set = (name: string, w: Lin, inSize: number, outSize: number) => {
    head.params.get(`${name}/weight`).assign(tf.tensor2d(w.kernel, [inSize, outSize]));
    head.params.get(`${name}/bias`).assign(tf.tensor1d(w.bias));
  };
  set("head.0", ref.head.l1, d, d);
  set("head.2", ref.head.l2, d, 4);
  const local = tf.variable(tf.tensor2d(ref.local, [N, d]));
  const global = tf.tensor2d(ref.global, [N, d]);
  const cached = tf.tensor2d(ref.cached, [3, 2 * d]);
  const l = local as unknown as tf.Tensor2D;
  close(
    scalar(cmiContrastiveLoss(head, l, global, cached, ref.temperature, true)),
    ref.withCache,
    "with cache",
  );
  const none = tf.zeros([0, 2 * d]) as tf.Tensor2D;
  close(
    scalar(cmiContrastiveLoss(head, l, global, none, ref.temperature, false)),
    ref.noCache,
    "no cache",
  );
  const { value, grads } = tf.variableGrads(
    () => cmiContrastiveLoss(head, l, global, cached, ref.temperature, true),
    [local],
  );
  value.dispose();
  closeAll(grads[local.name]!.dataSync(), ref.gradLocal, "gradient wrt local features");
  tf.dispose([local, global, cached, none, ...Object.values(grads)]);
  head.dispose();
});
