import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { tinyImageNet, tinyImageNetCachePath } from "../../src/data/tiny_imagenet.ts";
import { UserError } from "../../src/util/errors.ts";
import { encodeJpeg, greyJpeg, TINY_WNIDS, tinyImage, writeTinyImageNet } from "./dataset_files.ts";

const PIXELS = 64 * 64 * 3;

/** What jpeg-js itself decodes from `bytes`, as RGB. */
function decodeRgb(bytes: Uint8Array): Uint8Array {
  return jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false }).data;
}

async function exists(path: string) {
  return await Deno.stat(path).then(() => true, () => false);
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

Deno.test("tiny-imagenet loads train and val with sorted-wnid labels and decoded pixels", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = await writeTinyImageNet(root);
    const data = await tinyImageNet.load({ dataRoot: root });
    assert.equal(data.train.size, 200);
    assert.equal(data.test.size, 3);
    assert.deepEqual(data.imageShape, [64, 64, 3]);
    // Class k is the k-th wnid in sorted order (ImageFolder's numbering); one image per class.
    assert.deepEqual([...data.train.labels], Array.from({ length: 200 }, (_, k) => k));
    const sorted = [...TINY_WNIDS].sort();
    const k7 = TINY_WNIDS.indexOf(sorted[7] as string);
    assert.equal(data.classNames[7], `thing ${k7}, other name`);
    // Pixels are exactly what the JPEG decoder gives, and close to what was encoded.
    const train0 = data.train.images.subarray(0, PIXELS);
    assert.deepEqual(train0, decodeRgb(await Deno.readFile(tree.train0)));
    assert.deepEqual(
      data.train.images.subarray(199 * PIXELS),
      decodeRgb(await Deno.readFile(tree.train199)),
    );
    const source = tinyImage(1);
    const maxError = train0.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - (source[i] as number))),
      0,
    );
    assert.ok(maxError <= 6, `JPEG error ${maxError}`);
    // Val: labels from val_annotations.txt, in file-name order.
    assert.deepEqual([...data.test.labels], tree.val.map((v) => v.label));
    for (const [i, v] of tree.val.entries()) {
      assert.deepEqual(data.test.images.subarray(i * PIXELS, (i + 1) * PIXELS), decodeRgb(v.jpeg));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a greyscale JPEG becomes RGB with equal channels", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeTinyImageNet(root);
    const data = await tinyImageNet.load({ dataRoot: root });
    const grey = data.test.images.subarray(1 * PIXELS, 2 * PIXELS); // val_1.JPEG
    for (let p = 0; p < 64 * 64; p++) {
      assert.equal(grey[p * 3], grey[p * 3 + 1]);
      assert.equal(grey[p * 3], grey[p * 3 + 2]);
    }
    // First row as jpeg-js decodes it (Pillow's libjpeg gives 0, 3, 6, ...: within 1 level).
    assert.deepEqual([...grey.subarray(0, 24)].filter((_, i) => i % 3 === 0), [
      1,
      3,
      6,
      9,
      12,
      15,
      18,
      21,
    ]);
    assert.equal(greyJpeg().length, 964);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the decoded cache is written once, reused, and rebuilt when a source image changes", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = await writeTinyImageNet(root);
    const cache = tinyImageNetCachePath(root);
    const first = await tinyImageNet.load({ dataRoot: root });
    const written = await Deno.stat(cache);
    // "DFKD-TIN\n", a uint32 header length, the JSON header, then 203 images and labels.
    const bytes = await Deno.readFile(cache);
    const headerLength = new DataView(bytes.buffer).getUint32(9, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(13, 13 + headerLength)));
    assert.equal(header.train, 200);
    assert.equal(header.test, 3);
    assert.equal(written.size, 13 + headerLength + 203 * (PIXELS + 1));

    // Same size and mtime but unreadable bytes: only a cache hit can still load it.
    const info = await Deno.stat(tree.train0);
    const original = await Deno.readFile(tree.train0);
    await Deno.writeFile(tree.train0, new Uint8Array(original.length).fill(7));
    await Deno.utime(tree.train0, info.atime as Date, info.mtime as Date);
    const second = await tinyImageNet.load({ dataRoot: root });
    assert.deepEqual(second.train.images, first.train.images);
    assert.deepEqual(second.test.labels, first.test.labels);
    assert.equal((await Deno.stat(cache)).mtime?.getTime(), written.mtime?.getTime());

    // A real change (new content, new size): the cache is rebuilt with the new pixels.
    const replacement = encodeJpeg(tinyImage(9));
    await Deno.writeFile(tree.train0, replacement);
    const third = await tinyImageNet.load({ dataRoot: root });
    assert.deepEqual(third.train.images.subarray(0, PIXELS), decodeRgb(replacement));
    assert.notDeepEqual(
      third.train.images.subarray(0, PIXELS),
      first.train.images.subarray(0, PIXELS),
    );
    const fourth = await tinyImageNet.load({ dataRoot: root });
    assert.deepEqual(fourth.train.images, third.train.images);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a val image without an annotation is named, and nothing is written", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = await writeTinyImageNet(root);
    await Deno.writeFile(join(tree.folder, "val", "images", "val_3.JPEG"), tree.val[0]!.jpeg);
    await rejects(
      tinyImageNet.load({ dataRoot: root }),
      /val\/images\/val_3\.JPEG: has no line in .*val_annotations\.txt \(missing val annotation\)/,
    );
    assert.equal(await exists(tinyImageNetCachePath(root)), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an annotation naming a missing image or an unknown wnid is an error", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = await writeTinyImageNet(root);
    const annotations = join(tree.folder, "val", "val_annotations.txt");
    const text = await Deno.readTextFile(annotations);
    await Deno.writeTextFile(annotations, text + `val_9.JPEG\t${TINY_WNIDS[0]}\t0\t0\t1\t1\n`);
    await rejects(tinyImageNet.load({ dataRoot: root }), /names val_9\.JPEG, which is missing/);
    await Deno.writeTextFile(annotations, text + "val_9.JPEG\tn99999999\t0\t0\t1\t1\n");
    await rejects(
      tinyImageNet.load({ dataRoot: root }),
      /val_annotations\.txt: line 4 .*wnid from wnids\.txt/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an unreadable JPEG is named, and nothing is written", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = await writeTinyImageNet(root);
    const bytes = await Deno.readFile(tree.train199);
    await Deno.writeFile(tree.train199, bytes.subarray(0, 300)); // truncated
    await rejects(
      tinyImageNet.load({ dataRoot: root }),
      new RegExp(`${tree.train199}: unreadable JPEG`),
    );
    await Deno.writeTextFile(tree.train199, "not a jpeg");
    await rejects(tinyImageNet.load({ dataRoot: root }), /unreadable JPEG \(SOI not found\)/);
    assert.equal(await exists(tinyImageNetCachePath(root)), false);
    assert.equal(await exists(join(root, ".dfkd-cache")), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a wrong image size, a short wnids.txt and a missing folder are errors", async () => {
  const root = await Deno.makeTempDir();
  try {
    await rejects(
      tinyImageNet.load({ dataRoot: root }),
      /tiny-imagenet-200 was not found; install it with: deno task dfkd datasets fetch tiny-imagenet/,
    );
    const tree = await writeTinyImageNet(root);
    const small = encodeJpeg(new Uint8Array(32 * 32 * 3), 32, 32);
    await Deno.writeFile(join(tree.folder, "val", "images", "val_2.JPEG"), small);
    await rejects(
      tinyImageNet.load({ dataRoot: root }),
      /val_2\.JPEG: image is 32x32, expected 64x64/,
    );
    await Deno.writeTextFile(join(tree.folder, "wnids.txt"), TINY_WNIDS.slice(0, 10).join("\n"));
    await rejects(
      tinyImageNet.load({ dataRoot: root }),
      /wnids\.txt: lists 10 wnids, expected 200/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a damaged cache (a flipped pixel, an out-of-range label) is rebuilt from the JPEGs, with a warning", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeTinyImageNet(root);
    const cache = tinyImageNetCachePath(root);
    const first = await tinyImageNet.load({ dataRoot: root });
    const good = await Deno.readFile(cache);
    const warnings: string[] = [];
    const log = {
      info() {},
      warn: (m: string) => warnings.push(m),
      progress: () => ({ update() {}, stop() {} }),
    };
    for (
      const [what, offset, value] of [
        ["a pixel", good.length - 203 - 5, 0],
        ["the last label", good.length - 1, 250],
      ] as const
    ) {
      const bad = good.slice();
      bad[offset] = bad[offset] === value ? value + 1 : value;
      await Deno.writeFile(cache, bad);
      const loaded = await tinyImageNet.load({ dataRoot: root, log });
      assert.deepEqual(loaded.train.images, first.train.images, what);
      assert.deepEqual(loaded.test.labels, first.test.labels, what);
      assert.match(warnings.pop() ?? "", /the cache .* is damaged .*; decoding the JPEGs again/);
      assert.deepEqual(await Deno.readFile(cache), good, `${what}: the cache is written again`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
