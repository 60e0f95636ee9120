import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import type { Classifier } from "../../src/models/classifier.ts";
import { EpochMeter, readAdversarialSettings } from "../../src/methods/adversarial.ts";
import { HyperReader } from "../../src/methods/hyper.ts";
import { PRE_DFKD_HYPERPARAMETERS, VaeReplay } from "../../src/methods/pre_dfkd.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { Rng } from "../../src/util/rng.ts";
import {
  assign,
  encoderMap as encoderMapOf,
  generatorMap,
  linearToOurs,
  nchwToNhwc,
  type WeightMap,
} from "./torch_layout.ts";

// One self-replay VAE step of the release (`train_memory_generator` after the first iteration) in
// PyTorch 1.13, float64, with shared weights and fixed draws: `/usr/bin/python3
// tests/methods/reference/vae_step_reference.py` writes the fixture. The release zeroes M's
// gradients before the latent-code pass, so M's gradient holds that pass's 5*IE + 1*oneHot term
// as well as the reconstruction + KL term.
interface Param {
  shape: number[];
  data: number[];
}
interface Fixture {
  config: Record<
    "latent" | "img" | "ch" | "classes" | "hidden" | "c1" | "c2" | "e1" | "e2" | "novel" | "memory",
    number
  >;
  teacher: Record<string, Param>;
  decoder: Record<string, Param>;
  encoder: Record<string, Param>;
  novel: number[];
  z: number[];
  eps: number[];
  zTuned: number[];
  loss: number;
  gradsM: Record<string, number[]>;
  gradsMNoLatent: Record<string, number[]>;
  gradsE: Record<string, number[]>;
  /** The release's own float32 run against float64, per tensor (null: zero in exact arithmetic). */
  float32Error: Record<"m" | "mNoLatent" | "e", Record<string, number | null>>;
}

const FIXTURE: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("./reference/vae_step_reference.json", import.meta.url)),
);
const C = FIXTURE.config;

/** `||got - want|| / ||want||` (Euclidean norms over the tensor): the tolerance's "relative". */
function relativeError(got: ArrayLike<number>, want: number[]): number {
  assert.equal(got.length, want.length);
  let err = 0;
  let norm = 0;
  for (let i = 0; i < want.length; i++) {
    err += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(err / norm);
}

/** The fixture's teacher: flatten -> dense(hidden, relu) = features -> dense(classes). */
function fixtureTeacher(): Classifier {
  const input = tf.input({ shape: [C.img, C.img, C.ch] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const fc1 = tf.layers.dense({ units: C.hidden, activation: "relu" });
  const fc2 = tf.layers.dense({ units: C.classes });
  const features = fc1.apply(flat) as tf.SymbolicTensor;
  const logits = fc2.apply(features) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [logits, features] });
  const t = FIXTURE.teacher;
  const dense = (w: Param, b: Param) => [
    tf.tensor2d(linearToOurs(w.data, w.shape[0]!, w.shape[1]!, (o) => o, (i) => i), [
      w.shape[1]!,
      w.shape[0]!,
    ]),
    tf.tensor1d(b.data),
  ];
  const w1 = dense(t["fc1.weight"]!, t["fc1.bias"]!);
  const w2 = dense(t["fc2.weight"]!, t["fc2.bias"]!);
  fc1.setWeights(w1);
  fc2.setWeights(w2);
  tf.dispose([...w1, ...w2]);
  return {
    arch: "dense",
    inputShape: [C.img, C.img, C.ch],
    classes: C.classes,
    featureSize: C.hidden,
    model,
  };
}

type Mapping = WeightMap;

const decoderMap = () => generatorMap(C, "conv_blocks3.0");
const encoderMap = () => encoderMapOf(C);

/**
 * Runs our VAE step's gradient computation on the fixture (weights, novel samples, codes and
 * noise from PyTorch) and returns M's and E's gradients as PyTorch-named flat arrays (ours
 * converted to PyTorch's layout by comparing through the same maps).
 */
async function ourVaeStep(latentStepTrainsDecoder: boolean) {
  const teacher = fixtureTeacher();
  const hyper = {
    latentDim: C.latent,
    vaeWidth: C.c1 / 128,
    memoryBatchDivisor: (2 * C.novel) / C.memory,
    latentStepTrainsDecoder,
  };
  const h = new HyperReader("pre-dfkd", PRE_DFKD_HYPERPARAMETERS, hyper);
  const context = {
    teacher,
    student: teacher,
    imageShape: [C.img, C.img, C.ch] as const,
    classes: C.classes,
    budget: {
      epochs: 1,
      iterationsPerEpoch: 2,
      batchSize: 2 * C.novel,
      studentStepsPerIteration: 1,
    },
    hyper,
    rng: new Rng(1),
    log: silentLogger,
  };
  const replay = new VaeReplay(context, h, {
    rng: new Rng(2),
    settings: readAdversarialSettings(h),
  });
  for (const [ours, pt, convert] of decoderMap()) {
    assign(replay.decoder.params, ours, convert(FIXTURE.decoder[pt]!.data));
  }
  for (const [ours, pt, convert] of encoderMap()) {
    assign(replay.encoder.params, ours, convert(FIXTURE.encoder[pt]!.data));
  }
  const novelHalf = nchwToNhwc(FIXTURE.novel, C.novel, C.ch, C.img);
  const novel = tf.tensor4d([...novelHalf, ...new Array(novelHalf.length).fill(0)], [
    2 * C.novel,
    C.img,
    C.img,
    C.ch,
  ]);
  const codes = tf.tensor2d(FIXTURE.z, [C.memory, C.latent]);
  const noise = tf.tensor2d(FIXTURE.eps, [C.novel + C.memory, C.latent]);
  const meter = new EpochMeter(0);
  const before = tf.memory().numTensors;
  const grads = await replay.vaeGradients(
    novel,
    { epoch: 0, iteration: 1, globalIteration: 1, studentStep: 0, lastOfEpoch: false },
    meter,
    { codes, noise },
  );
  const leaked = tf.memory().numTensors - before - Object.keys(grads).length;
  const read = (map: Mapping, params: typeof replay.decoder.params) =>
    Object.fromEntries(
      map.map(([ours, pt]) => [pt, { ours, got: grads[params.get(ours).name]!.dataSync() }]),
    );
  const result = {
    decoder: read(decoderMap(), replay.decoder.params),
    encoder: read(encoderMap(), replay.encoder.params),
    loss: meter.means().vae!,
    leaked,
  };
  tf.dispose([novel, codes, noise, ...Object.values(grads)]);
  replay.dispose();
  teacher.model.dispose();
  return result;
}

/** Compares gradients (ours, NHWC) against PyTorch's after converting PyTorch's to our layout. */
function compare(
  ours: Record<string, { ours: string; got: Float32Array | Int32Array | Uint8Array }>,
  map: Mapping,
  want: Record<string, number[]>,
): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const [, pt, convert] of map) {
    const w = convert(want[pt]!);
    // A conv bias right before a training-mode BatchNorm has zero gradient (the batch mean
    // cancels it): both sides hold rounding noise, so only its smallness is checked.
    if (Math.max(...w.map(Math.abs)) < 1e-12) {
      assert.ok(Math.max(...Array.from(ours[pt]!.got, Math.abs)) < 1e-6, `${pt}: expected ~0`);
      continue;
    }
    errors[pt] = relativeError(ours[pt]!.got, w);
  }
  return errors;
}

/**
 * M's gradients within 1e-5 relative, tensor by tensor; where the release itself run in float32
 * is further than that from float64 (M's last conv bias: a cancelling sum over every pixel, about
 * 8e-4), within twice the release's own float32 error. E's gradients within 1e-4.
 */
function assertWithin(
  errM: Record<string, number>,
  floor: Record<string, number | null>,
  encoder: Parameters<typeof compare>[0],
): void {
  for (const [name, err] of Object.entries(errM)) {
    const tol = Math.max(1e-5, 2 * (floor[name] ?? 0));
    assert.ok(err <= tol, `gradient of M's ${name}: relative error ${err} > ${tol}`);
  }
  for (const [name, err] of Object.entries(compare(encoder, encoderMap(), FIXTURE.gradsE))) {
    assert.ok(err <= 1e-4, `gradient of E's ${name}: relative error ${err}`);
  }
}

Deno.test("pre-dfkd's VAE step gives M and E the release's gradients, latent-step term included (1e-5 relative)", async () => {
  await initBackend("wasm");
  const ours = await ourVaeStep(true);
  assert.equal(ours.leaked, 0, "tensors leaked by vaeGradients");
  assert.ok(Math.abs(ours.loss - FIXTURE.loss) <= 1e-5 * FIXTURE.loss, `loss ${ours.loss}`);
  assertWithin(
    compare(ours.decoder, decoderMap(), FIXTURE.gradsM),
    FIXTURE.float32Error.m,
    ours.encoder,
  );
  // The old behaviour (no latent-step term in M) is far from the release's gradient.
  const offByOld = compare(ours.decoder, decoderMap(), FIXTURE.gradsMNoLatent);
  assert.ok(Math.max(...Object.values(offByOld)) > 0.1, "the latent-step term should matter");
});

Deno.test("latentStepTrainsDecoder: false leaves M only the reconstruction + KL gradient", async () => {
  await initBackend("wasm");
  const ours = await ourVaeStep(false);
  assertWithin(
    compare(ours.decoder, decoderMap(), FIXTURE.gradsMNoLatent),
    FIXTURE.float32Error.mNoLatent,
    ours.encoder,
  );
});
