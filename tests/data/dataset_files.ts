/**
 * Small datasets in the publishers' real formats, written by the tests
 * themselves: CIFAR binary records with known pixels and labels, and a
 * Tiny-ImageNet tree of real JPEGs encoded with jpeg-js.
 */
import { join } from "node:path";
import jpeg from "jpeg-js";

/** The pixel every fixture record holds at (row y, column x, channel c). */
export function cifarPixel(record: number, y: number, x: number, c: number): number {
  return (record * 7 + y * 3 + x * 5 + c * 11) % 256;
}

/** One CIFAR binary record: label bytes, then R, G, B planes from {@linkcode cifarPixel}. */
export function cifarRecord(labels: number[], record: number): Uint8Array {
  const out = new Uint8Array(labels.length + 3072);
  out.set(labels);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        out[labels.length + c * 1024 + y * 32 + x] = cifarPixel(record, y, x, c);
      }
    }
  }
  return out;
}

/** Concatenated records, record `start + i` labelled `labels[i]`. */
export function cifarFile(labels: number[][], start = 0): Uint8Array {
  const parts = labels.map((l, i) => cifarRecord(l, start + i));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** CIFAR-10 train labels per batch file and test labels of {@linkcode writeCifar10}. */
export const CIFAR10_TRAIN_LABELS = [[3, 9], [0], [1, 1], [7], [2, 5, 8]];
/** Test labels of {@linkcode writeCifar10}. */
export const CIFAR10_TEST_LABELS = [4, 6];

/**
 * Writes `cifar-10-batches-bin/` under `root`: five train files (records
 * numbered 0.. across them, in order) and a test file (records 100..).
 */
export async function writeCifar10(root: string): Promise<string> {
  const dir = join(root, "cifar-10-batches-bin");
  await Deno.mkdir(dir, { recursive: true });
  let record = 0;
  for (const [i, labels] of CIFAR10_TRAIN_LABELS.entries()) {
    await Deno.writeFile(
      join(dir, `data_batch_${i + 1}.bin`),
      cifarFile(labels.map((l) => [l]), record),
    );
    record += labels.length;
  }
  await Deno.writeFile(
    join(dir, "test_batch.bin"),
    cifarFile(CIFAR10_TEST_LABELS.map((l) => [l]), 100),
  );
  return dir;
}

/** `[coarse, fine]` labels of the CIFAR-100 fixture's train and test records. */
export const CIFAR100_TRAIN_LABELS = [[3, 99], [19, 0], [0, 42]];
/** Test labels of the CIFAR-100 fixture. */
export const CIFAR100_TEST_LABELS = [[7, 13]];

/** Writes `cifar-100-binary/` under `root` (train records 0.., test records 100..). */
export async function writeCifar100(root: string): Promise<string> {
  const dir = join(root, "cifar-100-binary");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(join(dir, "train.bin"), cifarFile(CIFAR100_TRAIN_LABELS, 0));
  await Deno.writeFile(join(dir, "test.bin"), cifarFile(CIFAR100_TEST_LABELS, 100));
  return dir;
}

/** A 64x64 RGB test image whose content depends on `seed`. */
export function tinyImage(seed: number): Uint8Array {
  const rgb = new Uint8Array(64 * 64 * 3);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      for (let c = 0; c < 3; c++) {
        // Smooth gradients (JPEG keeps them close) that differ per seed and channel, <= 250.
        rgb[(y * 64 + x) * 3 + c] = 10 + seed * 10 + Math.floor(0.8 * (x + y)) + c * 25;
      }
    }
  }
  return rgb;
}

/** Encodes 64x64 RGB bytes as a real JPEG with jpeg-js (quality 95). */
export function encodeJpeg(rgb: Uint8Array, width = 64, height = 64): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width, height, data: rgba }, 95).data);
}

/**
 * A 64x64 greyscale (one-component) JPEG, pixel (y, x) = (3x + 2y) % 256
 * before compression, made with Pillow 9.4 (`Image.fromarray(a, "L").save(buf,
 * "JPEG", quality=90)`), since jpeg-js only encodes colour. Pillow decodes it
 * within 1 grey level of jpeg-js (660 of 12,288 values differ by 1).
 */
export const GREY_JPEG_BASE64 =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/wAALCABAAEABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APzY0TTfu8V6Bomm/d4r0DRNN+7xXoGiab93ivQNE037vFegaJpv3eK9A0TTfu8V6Bomm/d4r8atE037vFegaJpv3eK9A0TTfu8V6Bomm/d4r0DRNN+7xXoGiab93ivQNE037vFegaJpv3eK/GrRNN+7xXoGiab93ivQNE037vFegaJpv3eK9A0TTfu8V6Bomm/d4r0DRNN+7xXoGiab93ivxp0TTfu8V6Bomm/d4r0DRNN+7xXoGiab93ivQNE037vFegaJpv3eK9A0TTfu8V6Bomm/d4r8atE037vFegaJpv3eK9A0TTfu8V6Bomm/d4r0DRNN+7xXoGiab93ivQNE037vFeKft7ftV/8ADKXwaT+xLjyfiH4l8y18Pb7Pz4odhj+0XL7iEHlpINobdmR48o6CTHwromm/d4r0DRNN+7xXoGiab93ivQNE037vFegaJpv3eK9A0TTfu8V0HiTxb4d+Fng3VPFnizVbfQ/D2lQm4vL+5J2xrkAAAAlmZiqqigszMqqCSAfwJ/aC+OmuftQ/GXWfH2t2/wBg+17ILHSkuHmi0+1jG2OFC/4uxUKrSSSOFXfgfYGiab93ivQNE037vFegaJpv3eK9A0TTfu8V6Bomm/d4r0DRNN+7xX5a/wDBVX9rObxv4zb4K+E7+4h8PeH5v+KjmtrmNoNUvcRukB2ZO22YMGVmH77cGjBgRj8P6Jpv3eK/RXRNN+7xXoGiab93ivQNE037vFegaJpv3eK9A0TTfu8V4p+3t+1X/wAMpfBpP7EuPJ+IfiXzLXw9vs/Pih2GP7RcvuIQeWkg2ht2ZHjyjoJMfh/omm/d4r0DRNN+7xX/2Q==";

/** The greyscale fixture's bytes. */
export function greyJpeg(): Uint8Array {
  return Uint8Array.from(atob(GREY_JPEG_BASE64), (ch) => ch.charCodeAt(0));
}

/** The fixture wnids: 200 made-up ids, written to wnids.txt in reverse order. */
export const TINY_WNIDS = Array.from(
  { length: 200 },
  (_, i) => `n${String(10_000_000 + i * 37).padStart(8, "0")}`,
);

/** The files of {@linkcode writeTinyImageNet}'s tree that the tests look at. */
export interface TinyTree {
  folder: string;
  /** Train JPEG of class index 0 (first wnid in sorted order), from tinyImage(1). */
  train0: string;
  /** Train JPEG of class index 199, from tinyImage(2). */
  train199: string;
  /** Val images in sorted file-name order with their class index and source. */
  val: { name: string; label: number; jpeg: Uint8Array }[];
}

/**
 * Writes a tiny but complete `tiny-imagenet-200/` tree under `root`: the 200
 * fixture wnids, one train JPEG per class (class 0 and 199 with distinct
 * images, the rest sharing one), three val JPEGs (one greyscale) with their
 * annotations, `words.txt` and an unlabelled `test/` image.
 */
export async function writeTinyImageNet(root: string): Promise<TinyTree> {
  const folder = join(root, "tiny-imagenet-200");
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(join(folder, "wnids.txt"), [...TINY_WNIDS].reverse().join("\n") + "\n");
  await Deno.writeTextFile(
    join(folder, "words.txt"),
    TINY_WNIDS.map((w, i) => `${w}\tthing ${i}, other name`).join("\n") + "\n",
  );
  const shared = encodeJpeg(tinyImage(0));
  const sorted = [...TINY_WNIDS].sort();
  let train0 = "";
  let train199 = "";
  for (const [k, wnid] of sorted.entries()) {
    const dir = join(folder, "train", wnid, "images");
    await Deno.mkdir(dir, { recursive: true });
    const path = join(dir, `${wnid}_0.JPEG`);
    const bytes = k === 0
      ? encodeJpeg(tinyImage(1))
      : k === 199
      ? encodeJpeg(tinyImage(2))
      : shared;
    await Deno.writeFile(path, bytes);
    await Deno.writeTextFile(
      join(folder, "train", wnid, `${wnid}_boxes.txt`),
      `${wnid}_0.JPEG\t0\t0\t63\t63\n`,
    );
    if (k === 0) train0 = path;
    if (k === 199) train199 = path;
  }
  const val = [
    { name: "val_0.JPEG", label: 5, jpeg: encodeJpeg(tinyImage(3)) },
    { name: "val_1.JPEG", label: 0, jpeg: greyJpeg() },
    { name: "val_2.JPEG", label: 199, jpeg: encodeJpeg(tinyImage(4)) },
  ];
  await Deno.mkdir(join(folder, "val", "images"), { recursive: true });
  for (const v of val) await Deno.writeFile(join(folder, "val", "images", v.name), v.jpeg);
  await Deno.writeTextFile(
    join(folder, "val", "val_annotations.txt"),
    val.map((v) => `${v.name}\t${sorted[v.label]}\t0\t0\t63\t63`).join("\n") + "\n",
  );
  await Deno.mkdir(join(folder, "test", "images"), { recursive: true });
  await Deno.writeFile(join(folder, "test", "images", "test_0.JPEG"), shared);
  return { folder, train0, train199, val };
}
