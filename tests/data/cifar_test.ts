import assert from "node:assert/strict";
import { join } from "node:path";
import { cifar10 } from "../../src/data/cifar10.ts";
import { cifar100 } from "../../src/data/cifar100.ts";
import type { ImageSplit } from "../../src/data/dataset.ts";
import { UserError } from "../../src/util/errors.ts";
import {
  CIFAR100_TEST_LABELS,
  CIFAR100_TRAIN_LABELS,
  CIFAR10_TEST_LABELS,
  CIFAR10_TRAIN_LABELS,
  cifarFile,
  cifarPixel,
  writeCifar10,
  writeCifar100,
} from "./dataset_files.ts";

/** Asserts image `i` of `split` holds fixture record `record`'s pixels in NHWC order. */
function assertRecordPixels(split: ImageSplit, i: number, record: number) {
  for (const [y, x] of [[0, 0], [0, 31], [17, 5], [31, 31]] as const) {
    for (let c = 0; c < 3; c++) {
      assert.equal(
        split.images[((i * 32 + y) * 32 + x) * 3 + c],
        cifarPixel(record, y, x, c),
        `image ${i} (${y}, ${x}, ${c})`,
      );
    }
  }
  // Every byte, checked through the formula.
  for (let p = 0; p < 1024; p++) {
    for (let c = 0; c < 3; c++) {
      if (split.images[(i * 1024 + p) * 3 + c] !== cifarPixel(record, p >> 5, p & 31, c)) {
        assert.fail(`image ${i} pixel ${p} channel ${c}`);
      }
    }
  }
}

async function rejects(promise: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.equal(error.exitCode, 1);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("cifar10 loads binary records with exact NHWC pixels and labels", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeCifar10(root);
    const data = await cifar10.load({ dataRoot: root });
    const trainLabels = CIFAR10_TRAIN_LABELS.flat();
    assert.equal(data.train.size, trainLabels.length);
    assert.deepEqual([...data.train.labels], trainLabels);
    assert.deepEqual([...data.test.labels], CIFAR10_TEST_LABELS);
    for (let i = 0; i < trainLabels.length; i++) assertRecordPixels(data.train, i, i);
    for (let i = 0; i < CIFAR10_TEST_LABELS.length; i++) assertRecordPixels(data.test, i, 100 + i);
    assert.equal(data.classNames[0], "airplane");
    assert.equal(data.classNames[9], "truck");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cifar10 reads class names from batches.meta.txt when present", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeCifar10(root);
    const names = Array.from({ length: 10 }, (_, i) => `name${i}`);
    await Deno.writeTextFile(join(dir, "batches.meta.txt"), names.join("\n") + "\n\n");
    assert.deepEqual((await cifar10.load({ dataRoot: root })).classNames, names);
    await Deno.writeTextFile(join(dir, "batches.meta.txt"), "a\nb\n");
    await rejects(
      cifar10.load({ dataRoot: root }),
      /batches\.meta\.txt: lists 2 class names, expected 10/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cifar100 uses the fine label (second byte) and 3,074-byte records", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeCifar100(root);
    const data = await cifar100.load({ dataRoot: root });
    assert.deepEqual([...data.train.labels], CIFAR100_TRAIN_LABELS.map((l) => l[1]));
    assert.deepEqual([...data.test.labels], CIFAR100_TEST_LABELS.map((l) => l[1]));
    for (let i = 0; i < CIFAR100_TRAIN_LABELS.length; i++) assertRecordPixels(data.train, i, i);
    assertRecordPixels(data.test, 0, 100);
    assert.equal(data.classes, 100);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing folder names the expected path and the fetch command", async () => {
  const root = await Deno.makeTempDir();
  try {
    await rejects(
      cifar10.load({ dataRoot: root }),
      new RegExp(
        `${
          join(root, "cifar-10-batches-bin")
        } was not found; install it with: deno task dfkd datasets fetch cifar10 --data-root ${root}`,
      ),
    );
    await rejects(cifar100.load({ dataRoot: root }), /datasets fetch cifar100/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing batch file is named", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeCifar10(root);
    await Deno.remove(join(dir, "data_batch_4.bin"));
    await rejects(cifar10.load({ dataRoot: root }), /data_batch_4\.bin: file not found/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a file that is not a whole number of records is named with its size", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeCifar10(root);
    const path = join(dir, "data_batch_3.bin");
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 1));
    await rejects(
      cifar10.load({ dataRoot: root }),
      new RegExp(`${path}: size 6145 bytes is not a whole number of 3073-byte records`),
    );
    const dir100 = await writeCifar100(root);
    await Deno.writeFile(join(dir100, "test.bin"), new Uint8Array(3073));
    await rejects(cifar100.load({ dataRoot: root }), /test\.bin: size 3073 bytes .* 3074-byte/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a label out of range names the file and the record index", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeCifar10(root);
    await Deno.writeFile(join(dir, "test_batch.bin"), cifarFile([[1], [2], [10]]));
    await rejects(
      cifar10.load({ dataRoot: root }),
      /test_batch\.bin: record 2 has label 10, outside 0\.\.9/,
    );
    const dir100 = await writeCifar100(root);
    await Deno.writeFile(join(dir100, "train.bin"), cifarFile([[0, 5], [1, 100]]));
    await rejects(
      cifar100.load({ dataRoot: root }),
      /train\.bin: record 1 has label 100, outside 0\.\.99/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
