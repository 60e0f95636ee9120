/**
 * PyTorch-to-dfkd-bench layout converters for the tests that load the
 * release's PyTorch weights (NCHW, Linear [out, in], Conv2d [out, in, kh, kw])
 * into this harness's NHWC networks, and the closeness checks they share.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { ParamSet } from "../../src/methods/blocks/params.ts";

/** PyTorch conv weight [out, in, kh, kw] (flat) -> NHWC filter [kh, kw, in, out] (flat). */
export function convToHwio(data: number[], out: number, inC: number): number[] {
  const res = new Array<number>(data.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inC; i++) {
      for (let k = 0; k < 9; k++) res[(k * inC + i) * out + o] = data[(o * inC + i) * 9 + k]!;
    }
  }
  return res;
}

/** PyTorch spectral-norm v (index i*9 + k over [in, kh, kw]) -> ours (index k*in + i). */
export function snV(data: number[], inC: number): number[] {
  const res = new Array<number>(data.length);
  for (let i = 0; i < inC; i++) for (let k = 0; k < 9; k++) res[k * inC + i] = data[i * 9 + k]!;
  return res;
}

/** NCHW flat index of (c, h, w) -> NHWC flat index, for an s x s x ch feature map. */
export function chwToHwc(index: number, s: number, ch: number): number {
  const c = Math.floor(index / (s * s));
  const hw = index % (s * s);
  return hw * ch + c;
}

/**
 * PyTorch Linear weight [out, in] -> ours [in, out]; `outPerm`/`inPerm` map PyTorch's output /
 * input index to ours (the NCHW view after the generator's first layer, the NCHW flatten before
 * the encoder's heads).
 */
export function linearToOurs(
  data: number[],
  out: number,
  inSize: number,
  outPerm: (o: number) => number,
  inPerm: (i: number) => number,
): number[] {
  const res = new Array<number>(data.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inSize; i++) res[inPerm(i) * out + outPerm(o)] = data[o * inSize + i]!;
  }
  return res;
}

export function permuteVector(data: number[], perm: (i: number) => number): number[] {
  const res = new Array<number>(data.length);
  data.forEach((v, i) => (res[perm(i)] = v));
  return res;
}

export function nchwToNhwc(data: number[], n: number, ch: number, s: number): number[] {
  const res = new Array<number>(data.length);
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < ch; c++) {
      for (let p = 0; p < s * s; p++) {
        res[(b * s * s + p) * ch + c] = data[(b * ch + c) * s * s + p]!;
      }
    }
  }
  return res;
}

/**
 * The gradient of a conv bias followed by a training-mode BatchNorm is zero (the batch mean
 * subtraction cancels the bias); both frameworks hold rounding noise there, so check smallness.
 */
export function assertZeroGradient(got: ArrayLike<number>, want: number[], what: string): void {
  const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
  assert.ok(maxAbs(got) < 1e-4 && maxAbs(want) < 1e-4, `${what}: expected ~0`);
}

export function assign(params: ParamSet, name: string, values: number[]): void {
  const v = params.get(name);
  assert.equal(values.length, v.size, `${name}: size`);
  v.assign(tf.tensor(values, v.shape));
}

export function assertClose(
  got: ArrayLike<number>,
  want: number[],
  tol: number,
  what: string,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  const scale = Math.max(1e-6, ...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  assert.ok(worst <= tol * scale, `${what}: max abs error ${worst} (scale ${scale})`);
}

/** (our name, PyTorch name, converter) for loading a release's weights into a network. */
export type WeightMap = [string, string, (d: number[]) => number[]][];

/**
 * The map of a DCGAN generator without spectral norm (PRE-DFKD's VAE decoder, DFAD's
 * GeneratorA): `conv_blocks0..2` and the last convolution under `lastConv` (the decoder's
 * `conv_blocks3.0`, GeneratorA's `conv_blocks2.3`).
 */
export function generatorMap(
  c: { img: number; c1: number; c2: number; ch: number; latent: number },
  lastConv: string,
): WeightMap {
  const s = c.img / 4;
  const id = (d: number[]) => d;
  const fcPerm = (o: number) => chwToHwc(o, s, c.c1);
  return [
    ["l1/weight", "l1.0.weight", (d) => linearToOurs(d, c.c1 * s * s, c.latent, fcPerm, (i) => i)],
    ["l1/bias", "l1.0.bias", (d) => permuteVector(d, fcPerm)],
    ["bn0/weight", "conv_blocks0.0.weight", id],
    ["bn0/bias", "conv_blocks0.0.bias", id],
    ["conv1/weight", "conv_blocks1.0.weight", (d) => convToHwio(d, c.c1, c.c1)],
    ["conv1/bias", "conv_blocks1.0.bias", id],
    ["bn1/weight", "conv_blocks1.1.weight", id],
    ["bn1/bias", "conv_blocks1.1.bias", id],
    ["conv2/weight", "conv_blocks2.0.weight", (d) => convToHwio(d, c.c2, c.c1)],
    ["conv2/bias", "conv_blocks2.0.bias", id],
    ["bn2/weight", "conv_blocks2.1.weight", id],
    ["bn2/bias", "conv_blocks2.1.bias", id],
    ["conv3/weight", `${lastConv}.weight`, (d) => convToHwio(d, c.ch, c.c2)],
    ["conv3/bias", `${lastConv}.bias`, id],
  ];
}

/** The map of PRE-DFKD's VAE encoder (`conv_blocks0..2`, heads `fc_mu`, `fc_var`). */
export function encoderMap(
  c: { img: number; e1: number; e2: number; ch: number; latent: number },
): WeightMap {
  const s2 = c.img / 8;
  const id = (d: number[]) => d;
  const flatPerm = (i: number) => chwToHwc(i, s2, c.e2);
  return [
    ["conv0/weight", "conv_blocks0.0.weight", (d) => convToHwio(d, c.e1, c.ch)],
    ["conv0/bias", "conv_blocks0.0.bias", id],
    ["bn0/weight", "conv_blocks0.1.weight", id],
    ["bn0/bias", "conv_blocks0.1.bias", id],
    ["conv1/weight", "conv_blocks1.0.weight", (d) => convToHwio(d, c.e2, c.e1)],
    ["conv1/bias", "conv_blocks1.0.bias", id],
    ["bn1/weight", "conv_blocks1.1.weight", id],
    ["bn1/bias", "conv_blocks1.1.bias", id],
    ["conv2/weight", "conv_blocks2.0.weight", (d) => convToHwio(d, c.e2, c.e2)],
    ["conv2/bias", "conv_blocks2.0.bias", id],
    ["bn2/weight", "conv_blocks2.1.weight", id],
    ["bn2/bias", "conv_blocks2.1.bias", id],
    ...["fc_mu", "fc_var"].flatMap((h): WeightMap => [
      [
        `${h}/weight`,
        `${h}.weight`,
        (d) => linearToOurs(d, c.latent, c.e2 * s2 * s2, (o) => o, flatPerm),
      ],
      [`${h}/bias`, `${h}.bias`, id],
    ]),
  ];
}
