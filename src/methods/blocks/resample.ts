/**
 * Differentiable per-image geometric augmentations for image synthesis
 * (DeepInversion's jitter and flip, CMI's random crop with padding and random
 * resized crop): each image `i` is resampled as `A_i X_i B_i^T` with a row
 * matrix `A_i` `[H_out, H]` and a column matrix `B_i` `[W_out, W]`, so the
 * gradient reaches the synthetic images. The matrices are built on the CPU
 * from draws of the method's {@linkcode Rng}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";

/** Per-image resampling matrices: `rows` `[N, Ho, H]`, `cols` `[N, Wo, W]` (row-major). */
export interface Resampling {
  n: number;
  outH: number;
  outW: number;
  inH: number;
  inW: number;
  rows: Float32Array;
  cols: Float32Array;
}

/** An empty resampling for `n` images `h x w` to `oh x ow`. */
function empty(n: number, h: number, w: number, oh = h, ow = w): Resampling {
  return {
    n,
    outH: oh,
    outW: ow,
    inH: h,
    inW: w,
    rows: new Float32Array(n * oh * h),
    cols: new Float32Array(n * ow * w),
  };
}

/** Sets output index `o` of image `i` to read input `src` (zero when outside). */
function pick(m: Float32Array, i: number, out: number, inn: number, o: number, src: number) {
  if (src >= 0 && src < inn) m[(i * out + o) * inn + src] = 1;
}

/** Bilinear weights of output `o` of image `i` at source coordinate `c` (clamped to the edge). */
function bilinear(m: Float32Array, i: number, out: number, inn: number, o: number, c: number) {
  const x = Math.min(Math.max(c, 0), inn - 1);
  const lo = Math.floor(x);
  const hi = Math.min(lo + 1, inn - 1);
  const f = x - lo;
  const row = (i * out + o) * inn;
  m[row + lo] = (m[row + lo] as number) + 1 - f;
  m[row + hi] = (m[row + hi] as number) + f;
}

/**
 * DeepInversion's `jitter_and_flip` for the whole batch: a cyclic roll by
 * `(dy, dx)` (`torch.roll`), then a horizontal flip when `flip`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rollAndFlip } from "./resample.ts";
 * assert.deepEqual(rollAndFlip(2, 4, 4, 1, 0, false).rows.length, 32);
 * ```
 */
export function rollAndFlip(
  n: number,
  h: number,
  w: number,
  dy: number,
  dx: number,
  flip: boolean,
): Resampling {
  const r = empty(n, h, w);
  const mod = (a: number, b: number) => ((a % b) + b) % b;
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) pick(r.rows, i, h, h, y, mod(y - dy, h));
    for (let x = 0; x < w; x++) {
      const rolled = flip ? w - 1 - x : x;
      pick(r.cols, i, w, w, x, mod(rolled - dx, w));
    }
  }
  return r;
}

/**
 * Per-image `RandomCrop(size, padding)` with zero padding and
 * `RandomHorizontalFlip` (offsets uniform in `0..2 * padding`, flip with
 * probability 1/2): CMI's global view.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { cropAndFlip } from "./resample.ts";
 * assert.deepEqual(cropAndFlip(2, 8, 8, 4, new Rng(1)).n, 2);
 * ```
 */
export function cropAndFlip(
  n: number,
  h: number,
  w: number,
  padding: number,
  rng: Rng,
): Resampling {
  const r = empty(n, h, w);
  for (let i = 0; i < n; i++) {
    const oy = rng.int(2 * padding + 1) - padding;
    const ox = rng.int(2 * padding + 1) - padding;
    const flip = rng.next() < 0.5;
    for (let y = 0; y < h; y++) pick(r.rows, i, h, h, y, y + oy);
    for (let x = 0; x < w; x++) pick(r.cols, i, w, w, x, (flip ? w - 1 - x : x) + ox);
  }
  return r;
}

/**
 * Per-image `RandomResizedCrop(size, scale)` (area fraction uniform in
 * `scale`, aspect ratio log-uniform in (3/4, 4/3), up to 10 tries for a box inside the image,
 * else the whole image;
 * bilinear, corners aligned) and `RandomHorizontalFlip`: CMI's local view.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { resizedCropAndFlip } from "./resample.ts";
 * assert.deepEqual(resizedCropAndFlip(2, 8, 8, [0.25, 1], new Rng(1)).n, 2);
 * ```
 */
export function resizedCropAndFlip(
  n: number,
  h: number,
  w: number,
  scale: readonly [number, number],
  rng: Rng,
): Resampling {
  const r = empty(n, h, w);
  for (let i = 0; i < n; i++) {
    // torchvision's sampling: up to 10 tries for a box that fits, else the whole image.
    let [ch, cw] = [h, w];
    for (let attempt = 0; attempt < 10; attempt++) {
      const area = h * w * (scale[0] + (scale[1] - scale[0]) * rng.next());
      const ratio = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rng.next());
      const tw = Math.round(Math.sqrt(area * ratio));
      const th = Math.round(Math.sqrt(area / ratio));
      if (tw >= 1 && th >= 1 && tw <= w && th <= h) {
        [ch, cw] = [th, tw];
        break;
      }
    }
    const y0 = rng.int(h - ch + 1);
    const x0 = rng.int(w - cw + 1);
    const flip = rng.next() < 0.5;
    const step = (c: number, out: number) => (out > 1 ? (c - 1) / (out - 1) : 0);
    for (let y = 0; y < h; y++) bilinear(r.rows, i, h, h, y, y0 + y * step(ch, h));
    for (let x = 0; x < w; x++) {
      bilinear(r.cols, i, w, w, flip ? w - 1 - x : x, x0 + x * step(cw, w));
    }
  }
  return r;
}

/**
 * Applies a {@linkcode Resampling} to NHWC `x`: `y_i = A_i x_i B_i^T` per
 * channel (two batched matrix products; differentiable in `x`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { resample, rollAndFlip } from "./resample.ts";
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 4, 1]);
 * assert.deepEqual(Array.from((await resample(x, rollAndFlip(1, 1, 4, 0, 1, false)).data())), [4, 1, 2, 3]);
 * ```
 */
export function resample(x: tf.Tensor4D, r: Resampling): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const rows = tf.tensor3d(r.rows, [n, r.outH, h]);
    const cols = tf.tensor3d(r.cols, [n, r.outW, w]);
    // [N, Ho, W*C] = A [N, Ho, H] x X [N, H, W*C]
    const a = tf.matMul(rows, tf.reshape(x, [n, h, w * c]));
    // [N, Ho, W, C] -> [N, Ho*C, W]? Keep channels last: [N, Ho, W, C] -> [N, Ho, C, W].
    const t = tf.reshape(tf.transpose(tf.reshape(a, [n, r.outH, w, c]), [0, 1, 3, 2]), [
      n,
      r.outH * c,
      w,
    ]);
    // [N, Ho*C, Wo] = T [N, Ho*C, W] x B^T [N, W, Wo]
    const b = tf.matMul(t, cols, false, true);
    return tf.transpose(tf.reshape(b, [n, r.outH, c, r.outW]), [0, 1, 3, 2]) as tf.Tensor4D;
  });
}
