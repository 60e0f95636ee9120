/**
 * Seeded batch iteration over a uint8 split: one pass (an epoch), shuffled by
 * the run's `Rng`, each batch normalised (and optionally augmented) in a
 * single typed-array pass and handed to TensorFlow.js as one tensor.
 *
 * Images stay uint8 in memory; only the current batch exists as float32.
 * Normalisation follows torchvision's `ToTensor()` + `Normalize(mean, std)`:
 * `(p / 255 - mean[c]) / std[c]`, computed once per channel and byte value
 * into a lookup table.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.ts";
import type { ImageSplit, Normalisation } from "./dataset.ts";

/**
 * Teacher-training augmentation, applied per image in this order (as
 * torchvision's `RandomCrop(size, padding)` then `RandomHorizontalFlip()`):
 *
 * - `crop`: pad each side by `padding` pixels of value 0 (before
 *   normalisation, as torchvision pads the PIL image), then cut a random
 *   `size` x `size` window (top offset drawn first, then left);
 * - `flip`: mirror left-right with probability 0.5.
 *
 * CIFAR uses `{ crop: { size: 32, padding: 4 }, flip: true }`, Tiny-ImageNet
 * `{ crop: { size: 64, padding: 8 }, flip: true }`.
 *
 * @example
 * ```ts
 * import type { AugmentOptions } from "./batches.ts";
 * const cifar: AugmentOptions = { crop: { size: 32, padding: 4 }, flip: true };
 * ```
 */
export interface AugmentOptions {
  /** Random crop of `size` x `size` from the image padded by `padding` on each side. */
  crop?: { size: number; padding: number };
  /** Random horizontal flip with probability 0.5. */
  flip?: boolean;
}

/** How {@linkcode iterateBatches} cuts a split into batches. */
export interface BatchOptions {
  /** The split's image shape `[height, width, channels]`. */
  imageShape: readonly [number, number, number];
  /** Per-channel normalisation of pixels scaled to [0, 1]. */
  normalisation: Normalisation;
  /** Images per batch. */
  batchSize: number;
  /** The generator for shuffling and augmentation (required by either). */
  rng?: Rng;
  /** Shuffle the order (default: true when `rng` is given). */
  shuffle?: boolean;
  /** Teacher-training augmentation (needs `rng`). */
  augment?: AugmentOptions;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
}

/** One batch: normalised images and int32 labels. The caller disposes both. */
export interface Batch {
  /** Images, `[n, height, width, channels]`, float32, normalised. */
  x: tf.Tensor4D;
  /** Labels, `[n]`, int32. */
  y: tf.Tensor1D;
}

/**
 * The number of batches {@linkcode iterateBatches} yields for `size` images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchCount } from "./batches.ts";
 * assert.equal(batchCount(10, 4, false), 3);
 * assert.equal(batchCount(10, 4, true), 2);
 * ```
 */
export function batchCount(size: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/**
 * A lookup table of normalised values: entry `c * 256 + v` is
 * `(v / 255 - mean[c]) / std[c]` as float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalisationTable } from "./batches.ts";
 * const lut = normalisationTable({ mean: [0.5], std: [0.5] }, 1);
 * assert.equal(lut[0], -1);
 * assert.equal(lut[255], 1);
 * ```
 */
export function normalisationTable(normalisation: Normalisation, channels: number): Float32Array {
  const { mean, std } = normalisation;
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(
      `normalisation has ${mean.length} means and ${std.length} stds for ${channels} channels`,
    );
  }
  const lut = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const m = mean[c] as number;
    const s = std[c] as number;
    for (let v = 0; v < 256; v++) {
      // Same float32 steps as ToTensor() then Normalize(): v / 255, minus mean, over std.
      const scaled = Math.fround(v / 255);
      lut[c * 256 + v] = Math.fround(Math.fround(scaled - Math.fround(m)) / Math.fround(s));
    }
  }
  return lut;
}

function checkOptions(split: ImageSplit, options: BatchOptions): void {
  const [h, w, c] = options.imageShape;
  if (split.images.length !== split.size * h * w * c || split.labels.length !== split.size) {
    throw new RangeError(
      `iterateBatches: split of ${split.size} images has ${split.images.length} pixel bytes and ${split.labels.length} labels, which does not match image shape [${h}, ${w}, ${c}]`,
    );
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
    throw new RangeError(
      `iterateBatches: batchSize must be a positive integer (got ${options.batchSize})`,
    );
  }
  const needsRng = options.shuffle === true || options.augment?.crop !== undefined ||
    options.augment?.flip === true;
  if (needsRng && options.rng === undefined) {
    throw new RangeError("iterateBatches: shuffling and augmentation need an rng");
  }
  const crop = options.augment?.crop;
  if (crop !== undefined) {
    const ok = Number.isInteger(crop.size) && Number.isInteger(crop.padding) && crop.size > 0 &&
      crop.padding >= 0 && crop.size <= h + 2 * crop.padding && crop.size <= w + 2 * crop.padding;
    if (!ok) {
      throw new RangeError(
        `iterateBatches: crop ${JSON.stringify(crop)} does not fit a ${h}x${w} image`,
      );
    }
  }
}

/**
 * Yields one epoch of batches over `split`: `{ x, y }` with `x` float32
 * `[n, h, w, c]` normalised (and augmented when asked) and `y` int32 labels.
 * Same `rng` state, same batches. The caller disposes each batch's tensors.
 *
 * @example
 * ```ts
 * import { iterateBatches } from "./batches.ts";
 * import { Rng } from "../util/rng.ts";
 * const split = { size: 3, images: new Uint8Array(3 * 4), labels: new Uint8Array([0, 1, 2]) };
 * for (const { x, y } of iterateBatches(split, {
 *   imageShape: [2, 2, 1],
 *   normalisation: { mean: [0.5], std: [0.5] },
 *   batchSize: 2,
 *   rng: new Rng(1),
 * })) {
 *   console.log(x.shape, y.shape);
 *   x.dispose();
 *   y.dispose();
 * }
 * ```
 */
export function* iterateBatches(split: ImageSplit, options: BatchOptions): Generator<Batch> {
  checkOptions(split, options);
  const [h, w, c] = options.imageShape;
  const { batchSize, rng, augment } = options;
  const shuffle = options.shuffle ?? rng !== undefined;
  const order = shuffle && rng !== undefined ? rng.permutation(split.size) : undefined;
  const lut = normalisationTable(options.normalisation, c);
  const crop = augment?.crop;
  const flip = augment?.flip === true;
  const outH = crop?.size ?? h;
  const outW = crop?.size ?? w;
  const pad = crop?.padding ?? 0;
  const imageIn = h * w * c;
  const imageOut = outH * outW * c;
  const batches = batchCount(split.size, batchSize, options.dropLast ?? false);
  const src = split.images;
  for (let b = 0; b < batches; b++) {
    const start = b * batchSize;
    const n = Math.min(batchSize, split.size - start);
    const x = new Float32Array(n * imageOut);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const index = order === undefined ? start + i : (order[start + i] as number);
      y[i] = split.labels[index] as number;
      const base = index * imageIn;
      let o = i * imageOut;
      if (crop === undefined && !flip) {
        // Plain copy through the table: the common evaluation path.
        if (c === 1) {
          for (let p = 0; p < imageIn; p++) x[o + p] = lut[src[base + p] as number] as number;
        } else {
          for (let p = 0; p < imageIn; p += c) {
            for (let ch = 0; ch < c; ch++) {
              x[o + p + ch] = lut[ch * 256 + (src[base + p + ch] as number)] as number;
            }
          }
        }
        continue;
      }
      // Top offset first, then left (torchvision's RandomCrop), then the flip draw.
      const top = crop === undefined ? 0 : (rng as Rng).int(h + 2 * pad - outH + 1) - pad;
      const left = crop === undefined ? 0 : (rng as Rng).int(w + 2 * pad - outW + 1) - pad;
      const mirrored = flip && (rng as Rng).next() < 0.5;
      for (let yy = 0; yy < outH; yy++) {
        const sy = top + yy;
        if (sy < 0 || sy >= h) {
          for (let xx = 0; xx < outW; xx++) {
            for (let ch = 0; ch < c; ch++) x[o++] = lut[ch * 256] as number;
          }
          continue;
        }
        const row = base + sy * w * c;
        for (let xx = 0; xx < outW; xx++) {
          const sx = left + (mirrored ? outW - 1 - xx : xx);
          if (sx < 0 || sx >= w) {
            for (let ch = 0; ch < c; ch++) x[o++] = lut[ch * 256] as number;
          } else {
            const p = row + sx * c;
            for (let ch = 0; ch < c; ch++) {
              x[o++] = lut[ch * 256 + (src[p + ch] as number)] as number;
            }
          }
        }
      }
    }
    yield {
      x: tf.tensor4d(x, [n, outH, outW, c], "float32"),
      y: tf.tensor1d(y, "int32"),
    };
  }
}
