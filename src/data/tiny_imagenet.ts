/**
 * Tiny-ImageNet-200 (`tiny-imagenet-200/`): 200 classes of 64x64 JPEGs, 500
 * train images per class under `train/<wnid>/images/`, and the labelled val
 * split (`val/images/`, labels in `val/val_annotations.txt`) used as the test
 * split. The unlabelled `test/` folder is ignored.
 *
 * - Class order: the wnids sorted, as torchvision's `ImageFolder` (which the
 *   reference code uses) numbers its class folders.
 * - JPEGs are decoded with `jpeg-js` (strict mode), greyscale ones converted
 *   to RGB (the grey value copied to all three channels), never dropped.
 * - Decoding 110,000 JPEGs is slow, so the first load writes a cache file
 *   (`<dataRoot>/.dfkd-cache/tiny-imagenet-200.u8`: a JSON header then raw
 *   uint8 pixels and labels) that later loads read directly. The header holds
 *   a fingerprint of the source (every image's path, size and modification
 *   time, and the contents of `wnids.txt`, `words.txt` and
 *   `val_annotations.txt`): when the source changes the cache is rebuilt.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { UserError } from "../util/errors.ts";
import { silentLogger } from "../util/logger.ts";
import type { Dataset, DatasetSpec, ImageSplit, LoadOptions } from "./dataset.ts";
import { infoOf, readDataFile, readDataText, readWholeFile, requireFolder } from "./files.ts";

const FOLDER = "tiny-imagenet-200";
const SIZE = 64;
const PIXELS = SIZE * SIZE * 3;
const CLASSES = 200;
const CACHE_MAGIC = "DFKD-TIN\n";
const CACHE_VERSION = 2;

/** One image to decode: its path and class. */
interface Entry {
  path: string;
  label: number;
}

/** The header of the decoded cache file. */
interface CacheHeader {
  version: number;
  fingerprint: string;
  classNames: string[];
  train: number;
  test: number;
  /** SHA-256 (hex) of everything after the header: images and labels of both splits. */
  sha256: string;
}

/**
 * Where the decoded cache of Tiny-ImageNet lives for a data root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tinyImageNetCachePath } from "./tiny_imagenet.ts";
 * assert.equal(tinyImageNetCachePath("/data"), "/data/.dfkd-cache/tiny-imagenet-200.u8");
 * ```
 */
export function tinyImageNetCachePath(dataRoot: string): string {
  return join(dataRoot, ".dfkd-cache", `${FOLDER}.u8`);
}

async function listJpegs(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /\.jpe?g$/i.test(e.name)) names.push(e.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError(`${dir}: folder not found (the dataset is incomplete)`, 1);
    }
    throw new UserError(`${dir}: cannot be listed (${(error as Error).message})`, 1);
  }
  return names.sort();
}

async function readWnids(folder: string): Promise<string[]> {
  const path = join(folder, "wnids.txt");
  const wnids = (await readDataText(path)).split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l !== ""
  );
  const seen = new Set<string>();
  wnids.forEach((w, i) => {
    if (!/^n\d{8}$/.test(w)) {
      throw new UserError(`${path}: line ${i + 1} is ${JSON.stringify(w)}, not a wnid`, 1);
    }
    if (seen.has(w)) throw new UserError(`${path}: wnid ${w} is listed twice`, 1);
    seen.add(w);
  });
  if (wnids.length !== CLASSES) {
    throw new UserError(`${path}: lists ${wnids.length} wnids, expected ${CLASSES}`, 1);
  }
  return wnids.sort();
}

async function readClassNames(folder: string, wnids: string[]): Promise<string[]> {
  const path = join(folder, "words.txt");
  let text: string;
  try {
    text = await readDataText(path);
  } catch {
    return [...wnids];
  }
  const words = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const tab = line.indexOf("\t");
    if (tab > 0) words.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  return wnids.map((w) => words.get(w) ?? w);
}

/** Reads `val_annotations.txt` into file name -> class index, checking every line. */
async function readValAnnotations(folder: string, wnids: string[]): Promise<Map<string, number>> {
  const path = join(folder, "val", "val_annotations.txt");
  const index = new Map(wnids.map((w, i) => [w, i]));
  const labels = new Map<string, number>();
  const lines = (await readDataText(path)).split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const [file, wnid] = line.split("\t");
    const label = wnid === undefined ? undefined : index.get(wnid);
    if (file === undefined || file === "" || label === undefined) {
      throw new UserError(
        `${path}: line ${i + 1} (${
          JSON.stringify(line.slice(0, 60))
        }) needs "<file>\\t<wnid>\\t..." with a wnid from wnids.txt`,
        1,
      );
    }
    if (labels.has(file)) throw new UserError(`${path}: line ${i + 1}: ${file} is listed twice`, 1);
    labels.set(file, label);
  });
  return labels;
}

/** Lists both splits' images with their labels, checking the tree's structure. */
async function listSource(folder: string) {
  const wnids = await readWnids(folder);
  const classNames = await readClassNames(folder, wnids);
  const train: Entry[] = [];
  for (const [label, wnid] of wnids.entries()) {
    const dir = join(folder, "train", wnid, "images");
    const names = await listJpegs(dir);
    if (names.length === 0) throw new UserError(`${dir}: has no JPEG images`, 1);
    for (const name of names) train.push({ path: join(dir, name), label });
  }
  const annotations = await readValAnnotations(folder, wnids);
  const valDir = join(folder, "val", "images");
  const valNames = await listJpegs(valDir);
  const test: Entry[] = [];
  for (const name of valNames) {
    const label = annotations.get(name);
    if (label === undefined) {
      throw new UserError(
        `${join(valDir, name)}: has no line in ${
          join(folder, "val", "val_annotations.txt")
        } (missing val annotation)`,
        1,
      );
    }
    test.push({ path: join(valDir, name), label });
  }
  const present = new Set(valNames);
  for (const name of annotations.keys()) {
    if (!present.has(name)) {
      throw new UserError(
        `${
          join(folder, "val", "val_annotations.txt")
        }: names ${name}, which is missing from ${valDir}`,
        1,
      );
    }
  }
  return { wnids, classNames, train, test };
}

/** A fingerprint of the source: metadata files' contents and every image's path, size and mtime. */
async function fingerprint(folder: string, entries: Entry[]): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`v${CACHE_VERSION}\n`);
  for (const file of ["wnids.txt", "words.txt", join("val", "val_annotations.txt")]) {
    try {
      hash.update(`${file}\n`).update(await readDataFile(join(folder, file)));
    } catch {
      hash.update(`${file} absent\n`);
    }
  }
  for (const e of entries) {
    const info = Deno.statSync(e.path);
    hash.update(
      `${e.path.slice(folder.length)}\t${e.label}\t${info.size}\t${info.mtime?.getTime() ?? 0}\n`,
    );
  }
  return hash.digest("hex");
}

/**
 * Decodes one Tiny-ImageNet JPEG into 64x64 RGB bytes (greyscale replicated
 * to RGB). Errors are one-line `UserError`s naming the file.
 *
 * @example
 * ```ts
 * import { decodeTinyImageNetJpeg } from "./tiny_imagenet.ts";
 * // const rgb = decodeTinyImageNetJpeg(await Deno.readFile(path), path);
 * ```
 */
export function decodeTinyImageNetJpeg(bytes: Uint8Array, path: string): Uint8Array {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: 1,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError(`${path}: unreadable JPEG (${message.split("\n")[0]})`, 1);
  }
  if (image.width !== SIZE || image.height !== SIZE || image.data.length !== PIXELS) {
    throw new UserError(
      `${path}: image is ${image.width}x${image.height}, expected ${SIZE}x${SIZE}`,
      1,
    );
  }
  return image.data;
}

async function decodeSplit(
  entries: Entry[],
  progress: { update(n: number): void },
  offset: number,
): Promise<ImageSplit> {
  const images = new Uint8Array(entries.length * PIXELS);
  const labels = new Uint8Array(entries.length);
  for (const [i, e] of entries.entries()) {
    images.set(decodeTinyImageNetJpeg(await readDataFile(e.path), e.path), i * PIXELS);
    labels[i] = e.label;
    if (i % 500 === 0) progress.update(offset + i);
  }
  return { size: entries.length, images, labels };
}

function encodeHeader(header: CacheHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(CACHE_MAGIC.length + 4 + json.length);
  out.set(new TextEncoder().encode(CACHE_MAGIC));
  new DataView(out.buffer).setUint32(CACHE_MAGIC.length, json.length, true);
  out.set(json, CACHE_MAGIC.length + 4);
  return out;
}

/** Reads the cache if it exists and matches `fp`; returns undefined otherwise. */
async function readCache(
  path: string,
  fp: string,
  log: LoadOptions["log"] = silentLogger,
): Promise<{ header: CacheHeader; train: ImageSplit; test: ImageSplit } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readWholeFile(path);
  } catch {
    return undefined;
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, CACHE_MAGIC.length));
  if (magic !== CACHE_MAGIC || bytes.length < CACHE_MAGIC.length + 4) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(CACHE_MAGIC.length, true);
  const start = CACHE_MAGIC.length + 4;
  let header: CacheHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + length)));
  } catch {
    return undefined;
  }
  if (header.version !== CACHE_VERSION || header.fingerprint !== fp) return undefined;
  let at = start + length;
  const expected = at + (header.train + header.test) * (PIXELS + 1);
  if (bytes.length !== expected) return undefined;
  // A damaged cache (a flipped byte, labels out of range) is rebuilt, never used.
  const body = bytes.subarray(at);
  const classes = header.classNames?.length ?? 0;
  const damage = createHash("sha256").update(body).digest("hex") !== header.sha256
    ? "its SHA-256 does not match its header"
    : labelsOutOfRange(bytes, at, header, classes);
  if (damage !== undefined) {
    log.warn(`tiny-imagenet: the cache ${path} is damaged (${damage}); decoding the JPEGs again`);
    return undefined;
  }
  const take = (n: number) => bytes.subarray(at, at += n);
  // Object literals evaluate left to right: images, then labels.
  const train = {
    size: header.train,
    images: take(header.train * PIXELS),
    labels: take(header.train),
  };
  const test = { size: header.test, images: take(header.test * PIXELS), labels: take(header.test) };
  return { header, train, test };
}

/** Why the cache's labels are unusable (one not below `classes`), or undefined. */
function labelsOutOfRange(
  bytes: Uint8Array,
  start: number,
  header: CacheHeader,
  classes: number,
): string | undefined {
  const trainLabels = start + header.train * PIXELS;
  const testLabels = trainLabels + header.train + header.test * PIXELS;
  for (const [from, n] of [[trainLabels, header.train], [testLabels, header.test]] as const) {
    for (let i = from; i < from + n; i++) {
      if ((bytes[i] as number) >= classes) {
        return `a label ${bytes[i]} is not below its ${classes} classes`;
      }
    }
  }
  return undefined;
}

/** Writes the cache atomically (temporary file, then rename); a failure is only a warning. */
async function writeCache(
  path: string,
  header: CacheHeader,
  train: ImageSplit,
  test: ImageSplit,
): Promise<string | undefined> {
  const dir = join(path, "..");
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for (
        const part of [encodeHeader(header), train.images, train.labels, test.images, test.labels]
      ) {
        let written = 0;
        while (written < part.length) written += await file.write(part.subarray(written));
      }
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
    return undefined;
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    return error instanceof Error ? error.message : String(error);
  }
}

async function loadTinyImageNet({ dataRoot, log = silentLogger }: LoadOptions): Promise<Dataset> {
  const folder = await requireFolder("tiny-imagenet", dataRoot, FOLDER);
  const source = await listSource(folder);
  const fp = await fingerprint(folder, [...source.train, ...source.test]);
  const cachePath = tinyImageNetCachePath(dataRoot);
  const cached = await readCache(cachePath, fp, log);
  if (cached !== undefined) {
    return {
      ...infoOf(tinyImageNet),
      classNames: cached.header.classNames,
      train: cached.train,
      test: cached.test,
    };
  }
  const total = source.train.length + source.test.length;
  log.info(`tiny-imagenet: decoding ${total} JPEGs once into ${cachePath}`);
  const progress = log.progress("decoding tiny-imagenet", total);
  const train = await decodeSplit(source.train, progress, 0);
  const test = await decodeSplit(source.test, progress, source.train.length);
  progress.update(total);
  progress.stop();
  const header: CacheHeader = {
    version: CACHE_VERSION,
    fingerprint: fp,
    classNames: source.classNames,
    train: train.size,
    test: test.size,
    sha256: createHash("sha256").update(train.images).update(train.labels).update(test.images)
      .update(test.labels).digest("hex"),
  };
  const failure = await writeCache(cachePath, header, train, test);
  if (failure !== undefined) {
    log.warn(`tiny-imagenet: could not write the cache ${cachePath} (${failure}); continuing`);
  }
  return { ...infoOf(tinyImageNet), classNames: source.classNames, train, test };
}

/**
 * Tiny-ImageNet-200 from `<dataRoot>/tiny-imagenet-200` (fetched from the
 * publisher's `tiny-imagenet-200.zip`): 200 classes, 64x64x3, 100,000 train
 * and 10,000 val (test) images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tinyImageNet } from "./tiny_imagenet.ts";
 * assert.deepEqual(tinyImageNet.imageShape, [64, 64, 3]);
 * // const data = await tinyImageNet.load({ dataRoot: "/data" });
 * ```
 */
export const tinyImageNet: DatasetSpec = {
  name: "tiny-imagenet",
  classes: CLASSES,
  imageShape: [SIZE, SIZE, 3],
  normalisation: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  sizes: { train: 100000, test: 10000 },
  description: "Tiny-ImageNet-200 (Stanford CS231n), 64x64 RGB, val split as test",
  source: {
    url: "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
    fileName: "tiny-imagenet-200.zip",
    format: "zip",
    folder: FOLDER,
    md5: "90528d7ca1a48142e341f4ef8d21d0de",
  },
  load: loadTinyImageNet,
  teacherRecipe: {
    recipe: {
      epochs: 200,
      batchSize: 128,
      optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
      schedule: { type: "cosine", tMax: 200 },
      augment: { crop: { size: 64, padding: 8 }, flip: true },
      seed: 0,
    },
    source:
      "our choice (no public DFKD teacher script for Tiny-ImageNet): the DAFL CIFAR recipe with cosine annealing, crop 64 pad 8 + flip",
  },
};
