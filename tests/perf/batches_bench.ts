/**
 * `deno task bench`: time to assemble one CIFAR-shaped training batch (256
 * images, 32x32x3) from the uint8 split, as `iterateBatches` does it (one
 * typed-array pass through a normalisation table, then one tensor), against
 * the obvious tf-ops version (uint8 tensor, cast, scale, subtract, divide) and
 * with the teacher-training augmentation (crop 32 pad 4 + flip). Each
 * iteration is one shuffled epoch of 4,096 images (16 batches): divide by 16
 * for the time per batch.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { iterateBatches } from "../../src/data/batches.ts";
import type { ImageSplit } from "../../src/data/dataset.ts";
import { Rng } from "../../src/util/rng.ts";

await initBackend("wasm");

const SIZE = 4096;
const BATCH = 256;
const rng = new Rng(0);
const split: ImageSplit = {
  size: SIZE,
  images: Uint8Array.from({ length: SIZE * 3072 }, () => rng.int(256)),
  labels: Uint8Array.from({ length: SIZE }, (_, i) => i % 10),
};
const normalisation = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] };
const base = { imageShape: [32, 32, 3] as const, normalisation, batchSize: BATCH };

function epoch(options: Parameters<typeof iterateBatches>[1]) {
  for (const { x, y } of iterateBatches(split, options)) {
    x.dispose();
    y.dispose();
  }
}

Deno.bench({
  name: "iterateBatches (LUT, one pass)",
  group: "epoch of 16 batches 256x32x32x3",
  baseline: true,
  fn: () => epoch({ ...base, rng: new Rng(1) }),
});

Deno.bench({
  name: "iterateBatches + crop/flip",
  group: "epoch of 16 batches 256x32x32x3",
  fn: () =>
    epoch({ ...base, rng: new Rng(1), augment: { crop: { size: 32, padding: 4 }, flip: true } }),
});

Deno.bench({
  name: "tf ops: gather bytes, cast, /255, -mean, /std",
  group: "epoch of 16 batches 256x32x32x3",
  fn() {
    const order = new Rng(1).permutation(SIZE);
    for (let start = 0; start < SIZE; start += BATCH) {
      const bytes = new Int32Array(BATCH * 3072);
      for (let i = 0; i < BATCH; i++) {
        const index = order[start + i] as number;
        bytes.set(split.images.subarray(index * 3072, (index + 1) * 3072), i * 3072);
      }
      const x = tf.tidy(() =>
        tf.tensor4d(bytes, [BATCH, 32, 32, 3], "int32").toFloat().div(255).sub(normalisation.mean)
          .div(normalisation.std)
      );
      const y = tf.tensor1d(split.labels.subarray(start, start + BATCH), "int32");
      x.dispose();
      y.dispose();
    }
  },
});
