/**
 * Tiny in-memory datasets for model and teacher tests.
 *
 * @module
 */
import type { Dataset, ImageSplit } from "../../src/data/dataset.ts";
import { getDataset } from "../../src/data/registry.ts";
import { Rng } from "../../src/util/rng.ts";

/**
 * A learnable split of 32x32 greyscale images: class k is a bright 8x8
 * square at one of `classes` positions on a noisy background.
 */
export function squaresSplit(size: number, classes: number, seed: number): ImageSplit {
  const rng = new Rng(`squares:${seed}`);
  const images = new Uint8Array(size * 32 * 32);
  const labels = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const k = i % classes;
    labels[i] = k;
    const top = 2 + 10 * Math.floor(k / 3) + rng.int(3);
    const left = 2 + 10 * (k % 3) + rng.int(3);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= top && y < top + 8 && x >= left && x < left + 8;
        images[i * 1024 + y * 32 + x] = Math.min(255, (inside ? 180 : 0) + rng.int(60));
      }
    }
  }
  return { size, images, labels };
}

/** A fixture dataset named `mnist` (its registry facts) with squares instead of digits. */
export function squaresDataset(train = 240, test = 120, classes = 10): Dataset {
  const info = getDataset("mnist");
  return {
    name: "mnist",
    classes,
    imageShape: [32, 32, 1],
    normalisation: info.normalisation,
    sizes: { train, test },
    description: "fixture: squares at class-dependent positions",
    classNames: Array.from({ length: classes }, (_, k) => String(k)),
    train: squaresSplit(train, classes, 1),
    test: squaresSplit(test, classes, 2),
  };
}
