import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import {
  type AugmentOptions,
  batchCount,
  iterateBatches,
  normalisationTable,
} from "../../src/data/batches.ts";
import type { ImageSplit, Normalisation } from "../../src/data/dataset.ts";
import { Rng } from "../../src/util/rng.ts";

await initBackend("wasm");

const CIFAR_NORM: Normalisation = {
  mean: [0.4914, 0.4822, 0.4465],
  std: [0.2023, 0.1994, 0.2010],
};

/** A split of `size` h x w x c images with pseudo-random bytes; label = index % 256. */
function randomSplit(size: number, h: number, w: number, c: number, seed = 3): ImageSplit {
  const rng = new Rng(seed);
  const images = new Uint8Array(size * h * w * c);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  return { size, images, labels: Uint8Array.from({ length: size }, (_, i) => i % 256) };
}

/** Collects every batch as plain arrays, disposing the tensors. */
function collect(
  split: ImageSplit,
  options: Parameters<typeof iterateBatches>[1],
): { x: Float32Array; y: Int32Array; shape: number[] }[] {
  const out = [];
  for (const { x, y } of iterateBatches(split, options)) {
    out.push({ x: x.dataSync() as Float32Array, y: y.dataSync() as Int32Array, shape: x.shape });
    assert.equal(x.dtype, "float32");
    assert.equal(y.dtype, "int32");
    x.dispose();
    y.dispose();
  }
  return out;
}

/**
 * The obvious (slow, float64) version of torchvision's pipeline for one image:
 * pad with zeros, crop at (top, left), mirror, ToTensor, Normalize.
 */
function reference(
  image: Uint8Array,
  [h, w, c]: readonly [number, number, number],
  norm: Normalisation,
  crop: { size: number; padding: number } | undefined,
  top: number,
  left: number,
  mirrored: boolean,
): number[] {
  const p = crop?.padding ?? 0;
  const outH = crop?.size ?? h;
  const outW = crop?.size ?? w;
  const padded = (y: number, x: number, ch: number) => {
    const sy = y - p;
    const sx = x - p;
    return sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : image[(sy * w + sx) * c + ch] as number;
  };
  const out: number[] = [];
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const cx = mirrored ? outW - 1 - x : x;
      for (let ch = 0; ch < c; ch++) {
        const v = padded(top + y, left + cx, ch) / 255;
        out.push((v - (norm.mean[ch] as number)) / (norm.std[ch] as number));
      }
    }
  }
  return out;
}

function assertClose(actual: Float32Array, expected: number[], what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    if (Math.abs((actual[i] as number) - (expected[i] as number)) > 1e-5) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

Deno.test("without an rng, batches keep the split's order and normalise like ToTensor + Normalize", () => {
  const split = randomSplit(10, 4, 3, 3);
  const batches = collect(split, {
    imageShape: [4, 3, 3],
    normalisation: CIFAR_NORM,
    batchSize: 4,
  });
  assert.deepEqual(batches.map((b) => b.shape), [[4, 4, 3, 3], [4, 4, 3, 3], [2, 4, 3, 3]]);
  assert.deepEqual(batches.flatMap((b) => [...b.y]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const all = batches.flatMap((b) => [...b.x]);
  for (let i = 0; i < 10; i++) {
    const image = split.images.subarray(i * 36, (i + 1) * 36);
    assertClose(
      Float32Array.from(all.slice(i * 36, (i + 1) * 36)),
      reference(image, [4, 3, 3], CIFAR_NORM, undefined, 0, 0, false),
      `image ${i}`,
    );
  }
  const dropped = collect(split, {
    imageShape: [4, 3, 3],
    normalisation: CIFAR_NORM,
    batchSize: 4,
    dropLast: true,
  });
  assert.equal(dropped.length, 2);
  assert.equal(batchCount(10, 4), 3);
  assert.equal(batchCount(10, 4, true), 2);
});

Deno.test("the normalisation table follows torchvision's float32 steps", () => {
  const lut = normalisationTable({ mean: [0.1307], std: [0.3081] }, 1);
  const f = Math.fround;
  for (const v of [0, 1, 128, 255]) {
    assert.equal(lut[v], f(f(f(v / 255) - f(0.1307)) / f(0.3081)));
  }
  assert.throws(() => normalisationTable(CIFAR_NORM, 1), RangeError);
});

Deno.test("shuffling visits every image once per epoch and is reproducible from the seed", () => {
  const split = randomSplit(50, 2, 2, 1);
  const options = {
    imageShape: [2, 2, 1] as const,
    normalisation: { mean: [0.5], std: [0.5] },
    batchSize: 8,
  };
  const order = (seed: number) =>
    collect(split, { ...options, rng: new Rng(seed) }).flatMap((b) => [...b.y]);
  const a = order(7);
  assert.deepEqual([...a].sort((p, q) => p - q), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(order(7), a);
  assert.notDeepEqual(order(8), a);
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
  // The order is the rng's permutation, and each image travels with its label.
  assert.deepEqual(a, [...new Rng(7).permutation(50)]);
  const batches = collect(split, { ...options, rng: new Rng(7) });
  const x = batches.flatMap((b) => [...b.x]);
  a.forEach((index, i) => {
    const expected = reference(
      split.images.subarray(index * 4, index * 4 + 4),
      [2, 2, 1],
      options.normalisation,
      undefined,
      0,
      0,
      false,
    );
    assertClose(Float32Array.from(x.slice(i * 4, i * 4 + 4)), expected, `position ${i}`);
  });
  // shuffle: false with an rng keeps the order.
  assert.deepEqual(
    collect(split, { ...options, rng: new Rng(7), shuffle: false }).flatMap((b) => [...b.y]),
    Array.from({ length: 50 }, (_, i) => i),
  );
});

for (
  const [name, shape, norm, augment] of [
    ["CIFAR crop 32 pad 4 + flip", [32, 32, 3], CIFAR_NORM, {
      crop: { size: 32, padding: 4 },
      flip: true,
    }],
    ["crop only, 1 channel", [8, 8, 1], { mean: [0.1307], std: [0.3081] }, {
      crop: { size: 8, padding: 3 },
    }],
    ["flip only", [5, 7, 3], CIFAR_NORM, { flip: true }],
    ["smaller crop", [10, 10, 2], { mean: [0.2, 0.7], std: [0.3, 0.1] }, {
      crop: { size: 6, padding: 1 },
      flip: true,
    }],
  ] as [string, [number, number, number], Normalisation, AugmentOptions][]
) {
  Deno.test(`augmentation matches the reference pipeline: ${name}`, () => {
    const split = randomSplit(20, ...shape);
    const rng = new Rng(11);
    const batches = collect(split, {
      imageShape: shape,
      normalisation: norm,
      batchSize: 6,
      rng: Rng.fromState(rng.state()),
      augment,
    });
    // Replay the same draws: the permutation, then per image top, left, flip.
    const order = rng.permutation(20);
    const [h, w, c] = shape;
    const size = augment.crop?.size ?? h;
    const x = batches.flatMap((b) => [...b.x]);
    let flips = 0;
    for (let i = 0; i < 20; i++) {
      const index = order[i] as number;
      const p = augment.crop?.padding ?? 0;
      const top = augment.crop ? rng.int(h + 2 * p - size + 1) : p;
      const left = augment.crop ? rng.int(w + 2 * p - size + 1) : p;
      const mirrored = augment.flip === true && rng.next() < 0.5;
      if (mirrored) flips++;
      const image = split.images.subarray(index * h * w * c, (index + 1) * h * w * c);
      const n = size * (augment.crop ? size : w) * c;
      assertClose(
        Float32Array.from(x.slice(i * n, (i + 1) * n)),
        reference(image, shape, norm, augment.crop, top, left, mirrored),
        `image ${i}`,
      );
    }
    if (augment.flip) assert.ok(flips > 0 && flips < 20, `flips ${flips}`);
    assert.deepEqual(batches[0]?.shape, [6, size, augment.crop ? size : w, c]);
  });
}

Deno.test("padding shows as the normalised value of a zero pixel", () => {
  const split: ImageSplit = {
    size: 1,
    images: new Uint8Array(4 * 4).fill(255),
    labels: new Uint8Array(1),
  };
  const norm = { mean: [0.5], std: [0.25] };
  let sawPadding = false;
  for (let seed = 0; seed < 20 && !sawPadding; seed++) {
    const [b] = collect(split, {
      imageShape: [4, 4, 1],
      normalisation: norm,
      batchSize: 1,
      rng: new Rng(seed),
      augment: { crop: { size: 4, padding: 2 } },
    });
    const values = new Set(b!.x);
    for (const v of values) assert.ok(v === -2 || v === 2, `value ${v}`);
    sawPadding = values.has(-2);
  }
  assert.ok(sawPadding);
});

Deno.test("iterating disposes nothing it should not and leaks no tensors", () => {
  const split = randomSplit(30, 8, 8, 3);
  const before = tf.memory().numTensors;
  collect(split, {
    imageShape: [8, 8, 3],
    normalisation: CIFAR_NORM,
    batchSize: 7,
    rng: new Rng(1),
    augment: { crop: { size: 8, padding: 2 }, flip: true },
  });
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("bad options are errors", () => {
  const split = randomSplit(4, 2, 2, 1);
  const base = { imageShape: [2, 2, 1] as const, normalisation: { mean: [0], std: [1] } };
  const run = (o: Parameters<typeof iterateBatches>[1]) => () => iterateBatches(split, o).next();
  assert.throws(run({ ...base, batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(run({ ...base, batchSize: 2, shuffle: true }), /need an rng/);
  assert.throws(run({ ...base, batchSize: 2, augment: { flip: true } }), /need an rng/);
  assert.throws(
    run({ ...base, batchSize: 2, rng: new Rng(1), augment: { crop: { size: 9, padding: 1 } } }),
    /does not fit/,
  );
  assert.throws(
    run({ ...base, imageShape: [3, 2, 1], batchSize: 2 }),
    /does not match image shape/,
  );
});
