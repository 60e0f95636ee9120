import assert from "node:assert/strict";
import { join } from "node:path";
import { classCounts } from "../../src/data/files.ts";
import {
  mnist,
  MNIST_CLASS_SIZES,
  MNIST_TEST_PER_CLASS,
  mnistDigitsFolder,
} from "../../src/data/mnist.ts";
import { resizeBilinearPil } from "../../src/data/resize.ts";

const data = await mnist.load({ dataRoot: "/nonexistent" });

Deno.test("mnist splits the package's 10,000 digits into 8,000 train / 2,000 test", () => {
  assert.equal(data.train.size, 8000);
  assert.equal(data.test.size, 2000);
  assert.deepEqual(data.imageShape, [32, 32, 1]);
  assert.equal(data.train.images.length, 8000 * 32 * 32);
  assert.deepEqual(
    classCounts(data.train.labels, 10),
    MNIST_CLASS_SIZES.map((n) => n - MNIST_TEST_PER_CLASS),
  );
  assert.deepEqual(classCounts(data.test.labels, 10), new Array(10).fill(200));
  assert.deepEqual(data.normalisation, { mean: [0.1307], std: [0.3081] });
});

Deno.test("mnist's test split is the last 200 digits of each class, resized like torchvision", async () => {
  const folder = mnistDigitsFolder();
  for (const digit of [0, 7]) {
    const values: number[] =
      JSON.parse(await Deno.readTextFile(join(folder, `${digit}.json`))).data;
    const n = values.length / 784;
    const firstTest = n - MNIST_TEST_PER_CLASS;
    const raw = Uint8Array.from(
      values.slice(firstTest * 784, (firstTest + 1) * 784),
      (v) => Math.round(v * 255),
    );
    const expected = resizeBilinearPil(raw, 28, 28, 1, 32, 32);
    // Test images are in class order: class d starts at d * 200.
    const at = digit * MNIST_TEST_PER_CLASS;
    assert.equal(data.test.labels[at], digit);
    assert.deepEqual(data.test.images.subarray(at * 1024, (at + 1) * 1024), expected);
    // And the train split's first image of the class is the class file's first digit.
    const trainAt = MNIST_CLASS_SIZES.slice(0, digit).reduce(
      (s, c) => s + c - MNIST_TEST_PER_CLASS,
      0,
    );
    const first = Uint8Array.from(values.slice(0, 784), (v) => Math.round(v * 255));
    assert.equal(data.train.labels[trainAt], digit);
    assert.deepEqual(
      data.train.images.subarray(trainAt * 1024, (trainAt + 1) * 1024),
      resizeBilinearPil(first, 28, 28, 1, 32, 32),
    );
  }
});

Deno.test("the package's floats are k/255 rounded to 3 decimals, so uint8 storage is lossless", async () => {
  const folder = mnistDigitsFolder();
  const seen = new Map<number, number>();
  for (let d = 0; d < 10; d++) {
    const values: number[] = JSON.parse(await Deno.readTextFile(join(folder, `${d}.json`))).data;
    for (const v of values) {
      if (seen.has(v)) continue;
      const k = Math.round(v * 255);
      assert.equal(Math.round((k / 255) * 1000) / 1000, v, `value ${v}`);
      seen.set(v, k);
    }
  }
  // 256 distinct floats map to 256 distinct bytes: the mapping is invertible.
  assert.equal(seen.size, 256);
  assert.equal(new Set(seen.values()).size, 256);
});
