/**
 * The synthetic-image pool of the model-inversion methods (zju-vipa/CMI
 * `ImagePool` + `DataLoader(shuffle=True)` + `DataIter`): every round's images
 * are kept as uint8 pixels (the release writes them as PNG files), and the
 * student draws batches from shuffled passes over the whole pool, through the
 * dataset's training transform.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import type { TensorData } from "../method.ts";

/** Per-channel normalisation `(p - mean) / std` of pixels in [0, 1]. */
export interface PixelNormalisation {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Quantises NHWC values in [0, 1] as `save_image_batch` does: clamp to
 * [0, 1], times 255, truncated to uint8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantise } from "./image_pool.ts";
 * assert.deepEqual(Array.from(quantise(new Float32Array([-1, 0.5, 0.999, 2]))), [0, 127, 254, 255]);
 * ```
 */
export function quantise(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(Math.max(values[i] as number, 0), 1);
    out[i] = Math.floor(Math.fround(v * 255));
  }
  return out;
}

/** The JSON part of an {@linkcode ImagePool}'s state. */
export interface ImagePoolState {
  count: number;
  order: number[];
  position: number;
}

/**
 * Every kept image (uint8, NHWC) and the loader's position: a permutation of
 * the pool and the next index in it. `capacity` 0 keeps everything (the
 * release); otherwise the oldest images are dropped first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { ImagePool } from "./image_pool.ts";
 * const pool = new ImagePool([2, 2, 1], 0);
 * pool.add(new Uint8Array(3 * 4), new Rng(1));
 * assert.deepEqual([pool.count, pool.bytes(), pool.nextBatch(2, new Rng(2)).length], [3, 12, 2]);
 * ```
 */
export class ImagePool {
  readonly imageShape: readonly [number, number, number];
  readonly capacity: number;
  #pixels = new Uint8Array(0);
  #count = 0;
  #order: Int32Array = new Int32Array(0);
  #position = 0;

  /** An empty pool of `[H, W, C]` images holding at most `capacity` (0: unbounded). */
  constructor(imageShape: readonly [number, number, number], capacity: number) {
    this.imageShape = imageShape;
    this.capacity = capacity;
  }

  /** Pixels per image. */
  get imageSize(): number {
    const [h, w, c] = this.imageShape;
    return h * w * c;
  }

  /** Images held. */
  get count(): number {
    return this.#count;
  }

  /** Bytes held (one per pixel value). */
  bytes(): number {
    return this.#count * this.imageSize;
  }

  /** Adds a round's images and starts a new shuffled pass (a new `DataLoader`). */
  add(pixels: Uint8Array, rng: Rng): void {
    const merged = new Uint8Array(this.#pixels.length + pixels.length);
    merged.set(this.#pixels);
    merged.set(pixels, this.#pixels.length);
    let count = merged.length / this.imageSize;
    let kept = merged;
    if (this.capacity > 0 && count > this.capacity) {
      kept = merged.slice((count - this.capacity) * this.imageSize);
      count = this.capacity;
    }
    this.#pixels = kept;
    this.#count = count;
    this.#order = rng.permutation(count);
    this.#position = 0;
  }

  /** The next batch's image indices: `size` of them, fewer at the end of a pass, then a new pass. */
  nextBatch(size: number, rng: Rng): Int32Array {
    if (this.#count === 0) throw new Error("The image pool is empty");
    if (this.#position >= this.#count) {
      this.#order = rng.permutation(this.#count);
      this.#position = 0;
    }
    const end = Math.min(this.#position + size, this.#count);
    const batch = this.#order.slice(this.#position, end);
    this.#position = end;
    return batch;
  }

  /** Image `i`'s pixels (a view). */
  image(i: number): Uint8Array {
    return this.#pixels.subarray(i * this.imageSize, (i + 1) * this.imageSize);
  }

  /** The pool's state (the pixel bytes packed four to an int32 value, bit-exact). */
  save(): { json: ImagePoolState; tensors: Record<string, TensorData> } {
    const packed = new Uint8Array(Math.ceil(this.#pixels.length / 4) * 4);
    packed.set(this.#pixels);
    return {
      json: { count: this.#count, order: Array.from(this.#order), position: this.#position },
      tensors: {
        pixels: { shape: [packed.length / 4], dtype: "int32", data: new Int32Array(packed.buffer) },
      },
    };
  }

  /** Restores {@linkcode ImagePool.save}'s output. */
  restore(json: ImagePoolState, tensors: Record<string, TensorData>): void {
    const t = tensors["pixels"];
    if (t === undefined) throw new Error(`Checkpoint lacks tensor "pixels"`);
    const bytes = new Uint8Array(Int32Array.from(t.data as Int32Array).buffer);
    this.#pixels = bytes.slice(0, json.count * this.imageSize);
    this.#count = json.count;
    this.#order = Int32Array.from(json.order);
    this.#position = json.position;
  }
}

/**
 * The dataset's training transform on pool images, as a normalised NHWC
 * batch: with `cropFlip`, torchvision's `RandomCrop(size, padding=4)` (zero
 * padding) and `RandomHorizontalFlip` per image; then `/255` and the
 * normalisation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { ImagePool, studentBatch } from "./image_pool.ts";
 * const pool = new ImagePool([2, 2, 1], 0);
 * pool.add(new Uint8Array([255, 255, 255, 255]), new Rng(1));
 * const x = studentBatch(pool, Int32Array.of(0), false, { mean: [0.5], std: [0.5] }, new Rng(2));
 * assert.deepEqual(Array.from((await x.data())), [1, 1, 1, 1]);
 * ```
 */
export function studentBatch(
  pool: ImagePool,
  indices: Int32Array,
  cropFlip: boolean,
  norm: PixelNormalisation,
  rng: Rng,
): tf.Tensor4D {
  const [h, w, c] = pool.imageShape;
  const out = new Float32Array(indices.length * h * w * c);
  const pad = 4;
  indices.forEach((index, b) => {
    const src = pool.image(index);
    const oy = cropFlip ? rng.int(2 * pad + 1) - pad : 0;
    const ox = cropFlip ? rng.int(2 * pad + 1) - pad : 0;
    const flip = cropFlip && rng.next() < 0.5;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sy = y + oy;
        const sx = (flip ? w - 1 - x : x) + ox;
        const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        for (let k = 0; k < c; k++) {
          const p = inside ? (src[(sy * w + sx) * c + k] as number) / 255 : 0;
          out[((b * h + y) * w + x) * c + k] = (p - (norm.mean[k] as number)) /
            (norm.std[k] as number);
        }
      }
    }
  });
  return tf.tensor4d(out, [indices.length, h, w, c]);
}
