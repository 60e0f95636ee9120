import assert from "node:assert/strict";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { Zip, type ZipInputFile, zipSync } from "fflate";
import * as tar from "tar";
import { cifar10 } from "../../src/data/cifar10.ts";
import { fetchDataset, INSTALL_RECORD } from "../../src/data/fetch.ts";
import { mnist } from "../../src/data/mnist.ts";
import { tinyImageNet } from "../../src/data/tiny_imagenet.ts";
import { UserError } from "../../src/util/errors.ts";
import type { Logger } from "../../src/util/logger.ts";
import { digests, serveArchives, tarGz, zipFolder } from "./archive_server.ts";
import {
  CIFAR10_TEST_LABELS,
  CIFAR10_TRAIN_LABELS,
  writeCifar10,
  writeTinyImageNet,
} from "./dataset_files.ts";

// One CIFAR-10 archive and one Tiny-ImageNet archive in the publishers' formats.
const workDir = await Deno.makeTempDir();
await writeCifar10(workDir);
const cifarArchive = await tarGz(workDir, "cifar-10-batches-bin");
await writeTinyImageNet(workDir);
const tinyArchive = await zipFolder(workDir, "tiny-imagenet-200");
await Deno.remove(workDir, { recursive: true });

/** A logger that records progress updates and messages. */
function recordingLogger() {
  const events: string[] = [];
  const log: Logger = {
    info: (m) => events.push(`info ${m}`),
    warn: (m) => events.push(`warn ${m}`),
    progress(label, total) {
      events.push(`start ${label} ${total}`);
      return { update: (n) => events.push(`update ${n}`), stop: () => events.push("stop") };
    },
  };
  return { log, events };
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

async function failsCleanly(promise: Promise<unknown>, pattern: RegExp, root: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UserError, String(error));
    assert.equal(error.exitCode, 1);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
    return true;
  });
  assert.deepEqual(await entries(root), [], "nothing left in the data root");
}

Deno.test("fetch downloads with progress, verifies, installs; a second fetch does nothing", async () => {
  const server = serveArchives({ "/cifar.tar.gz": cifarArchive });
  const root = await Deno.makeTempDir();
  try {
    const { log, events } = recordingLogger();
    const result = await fetchDataset(cifar10, {
      dataRoot: root,
      url: `${server.base}/cifar.tar.gz`,
      sha256: digests(cifarArchive).sha256,
      log,
    });
    assert.equal(result.status, "installed");
    assert.equal(result.path, join(root, "cifar-10-batches-bin"));
    assert.equal(result.digests?.bytes, cifarArchive.length);
    assert.ok(
      events.includes(`start downloading cifar.tar.gz ${cifarArchive.length}`),
      events.join("\n"),
    );
    assert.ok(events.includes(`update ${cifarArchive.length}`));
    assert.deepEqual(await entries(root), ["cifar-10-batches-bin"]);
    const data = await cifar10.load({ dataRoot: root });
    assert.deepEqual([...data.train.labels], CIFAR10_TRAIN_LABELS.flat());
    assert.deepEqual([...data.test.labels], CIFAR10_TEST_LABELS);
    const record = JSON.parse(
      await Deno.readTextFile(join(root, "cifar-10-batches-bin", INSTALL_RECORD)),
    );
    assert.equal(record.sha256, digests(cifarArchive).sha256);

    const again = await fetchDataset(cifar10, {
      dataRoot: root,
      url: `${server.base}/cifar.tar.gz`,
    });
    assert.equal(again.status, "present");
    assert.equal(server.hits.get("/cifar.tar.gz"), 1);
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a wrong checksum installs nothing and says what was expected", async () => {
  const server = serveArchives({ "/cifar.tar.gz": cifarArchive });
  const root = await Deno.makeTempDir();
  try {
    await failsCleanly(
      fetchDataset(cifar10, {
        dataRoot: root,
        url: `${server.base}/cifar.tar.gz`,
        sha256: "0".repeat(64),
      }),
      new RegExp(
        `cifar\\.tar\\.gz: checksum mismatch \\(SHA-256 ${
          digests(cifarArchive).sha256
        }, expected 0{64}\\); nothing was installed`,
      ),
      root,
    );
    // Without an override the publisher's size and checksums apply.
    await failsCleanly(
      fetchDataset(cifar10, { dataRoot: root, url: `${server.base}/cifar.tar.gz` }),
      /size \d+ bytes, expected 170052171; MD5 [0-9a-f]{32}, expected c32a1d4ab5d03f1284b67883e8d87530; SHA-256/,
      root,
    );
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a connection cut mid-way installs nothing and says so", async () => {
  const server = serveArchives({ "/cifar.tar.gz": cifarArchive });
  const root = await Deno.makeTempDir();
  try {
    await failsCleanly(
      fetchDataset(cifar10, {
        dataRoot: root,
        url: `${server.base}/cut/cifar.tar.gz`,
        sha256: digests(cifarArchive).sha256,
      }),
      new RegExp(
        `Download of ${server.base}/cut/cifar\\.tar\\.gz was cut off after \\d+ of ${cifarArchive.length} bytes .*nothing was installed`,
      ),
      root,
    );
    await failsCleanly(
      fetchDataset(cifar10, {
        dataRoot: root,
        url: `${server.base}/nope.tar.gz`,
        md5: "0".repeat(32),
      }),
      /nope\.tar\.gz failed: HTTP 404/,
      root,
    );
    await failsCleanly(
      fetchDataset(cifar10, {
        dataRoot: root,
        url: "http://127.0.0.1:9/x.tar.gz",
        md5: "0".repeat(32),
      }),
      /Download of http:\/\/127\.0\.0\.1:9\/x\.tar\.gz failed/,
      root,
    );
  } finally {
    await server.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--from installs a local zip; Tiny-ImageNet then loads", async () => {
  const root = await Deno.makeTempDir();
  const archive = join(await Deno.makeTempDir(), "tiny-imagenet-200.zip");
  try {
    await Deno.writeFile(archive, tinyArchive);
    const result = await fetchDataset(tinyImageNet, {
      dataRoot: root,
      from: archive,
      md5: digests(tinyArchive).md5,
    });
    assert.equal(result.status, "installed");
    const data = await tinyImageNet.load({ dataRoot: root });
    assert.equal(data.train.size, 200);
    assert.equal(data.test.size, 3);
    await assert.rejects(
      fetchDataset(tinyImageNet, {
        dataRoot: await Deno.makeTempDir(),
        from: `${archive}.missing`,
        md5: "0".repeat(32),
      }),
      /--from .*\.missing: no such file/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(join(archive, ".."), { recursive: true });
  }
});

Deno.test("archives that are corrupt, lack the folder, or escape it install nothing", async () => {
  const root = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    const install = async (name: string, bytes: Uint8Array, spec = cifar10) => {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      return fetchDataset(spec, { dataRoot: root, from: path, sha256: digests(bytes).sha256 });
    };
    // Truncated gzip whose checksum is "right" (e.g. a bad mirror): extraction fails.
    await failsCleanly(
      install("cut.tar.gz", cifarArchive.subarray(0, cifarArchive.length - 100)),
      /cut\.tar\.gz: cannot be extracted as tar\.gz/,
      root,
    );
    // A valid archive of the wrong folder.
    const other = zipSync({ "something-else/a.txt": new Uint8Array([1]) });
    await failsCleanly(
      install("other.zip", other, tinyImageNet),
      /other\.zip: does not contain the folder tiny-imagenet-200\/; nothing was installed/,
      root,
    );
    // A zip entry pointing outside the extraction folder.
    const evil = zipSync({
      "tiny-imagenet-200/ok.txt": new Uint8Array([1]),
      "../../evil.txt": new Uint8Array([2]),
    });
    await failsCleanly(install("evil.zip", evil, tinyImageNet), /points outside the archive/, root);
    assert.equal(
      await Deno.stat(join(root, "..", "evil.txt")).then(() => true, () => false),
      false,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("symbolic links: a linked dataset folder or a link leading out of it installs nothing and writes nothing outside", async () => {
  const root = join(await Deno.makeTempDir(), "data");
  const dir = await Deno.makeTempDir();
  try {
    const install = async (name: string, bytes: Uint8Array) => {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      return fetchDataset(cifar10, { dataRoot: root, from: path, sha256: digests(bytes).sha256 });
    };
    // The dataset folder is a chain of links that node-tar's lexical check lets through:
    // `a -> .` and `cifar-10-batches-bin -> a/..`, which is really the extraction folder's parent.
    const chain = await Deno.makeTempDir();
    await Deno.symlink(".", join(chain, "a"));
    await Deno.symlink("a/..", join(chain, "cifar-10-batches-bin"));
    const linkedPath = join(chain, "linked.tar.gz");
    await tar.c({ gzip: true, file: linkedPath, cwd: chain }, ["a", "cifar-10-batches-bin"]);
    const linked = await Deno.readFile(linkedPath);
    await Deno.mkdir(root);
    await failsCleanly(
      install("linked.tar.gz", linked),
      /cifar-10-batches-bin\/ is a symbolic link, not a folder/,
      root,
    );
    // A link inside the folder to a file outside it (node-tar refuses it too).
    const inner = await Deno.makeTempDir();
    await Deno.mkdir(join(inner, "cifar-10-batches-bin"));
    await Deno.writeTextFile(join(inner, "cifar-10-batches-bin", "batches.meta.txt"), "a\n");
    await Deno.symlink(
      "../../../etc/passwd",
      join(inner, "cifar-10-batches-bin", "test_batch.bin"),
    );
    await failsCleanly(
      install("inner.tar.gz", await tarGz(inner, "cifar-10-batches-bin")),
      /test_batch\.bin is a symbolic link to \.\.\/outside\.bin, outside the dataset folder|linkpath escapes extraction directory/,
      root,
    );
    // A file that is not an archive of the format says so (not "does not contain the folder").
    await failsCleanly(
      install("notes.zip", new TextEncoder().encode("hello")),
      /is not a gzip-compressed tar archive/,
      root,
    );
    await Deno.remove(chain, { recursive: true });
    await Deno.remove(inner, { recursive: true });
  } finally {
    await Deno.remove(join(root, ".."), { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A zip of `tiny-imagenet-200/zeros.bin`, `mib` MiB of zeros (a deflate
 * stream of a few hundred kB, compressed natively by node:zlib).
 */
function zerosZip(mib: number): Uint8Array {
  const zeros = new Uint8Array(mib << 20);
  const deflated = deflateRawSync(zeros, { level: 9 });
  const parts: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    parts.push(chunk);
  });
  // A file fflate writes as given: already deflated (compression 8), with its CRC and size.
  const file: ZipInputFile = {
    filename: "tiny-imagenet-200/zeros.bin",
    size: zeros.length,
    crc: crc32(zeros),
    compression: 8,
  };
  zip.add(file);
  file.ondata?.(null, new Uint8Array(deflated), true);
  zip.end();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

Deno.test("archive bombs: the expanded size is capped, and zip extraction streams (memory stays far below the expanded size)", async () => {
  const root = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    const bomb = zerosZip(128);
    const path = join(dir, "bomb.zip");
    await Deno.writeFile(path, bomb);
    const options = { dataRoot: root, from: path, sha256: digests(bomb).sha256 };
    await failsCleanly(
      fetchDataset(tinyImageNet, { ...options, expansionLimits: { bytes: 8 << 20, entries: 10 } }),
      /bomb\.zip: expands to more than 8388608 bytes; this is not a dataset archive/,
      root,
    );
    const tarBomb = join(dir, "bomb.tar.gz");
    const parent = await Deno.makeTempDir();
    await Deno.mkdir(join(parent, "cifar-10-batches-bin"));
    await Deno.writeFile(
      join(parent, "cifar-10-batches-bin", "zeros.bin"),
      new Uint8Array(1 << 20),
    );
    const tarBytes = await tarGz(parent, "cifar-10-batches-bin");
    await Deno.writeFile(tarBomb, tarBytes);
    await failsCleanly(
      fetchDataset(cifar10, {
        dataRoot: root,
        from: tarBomb,
        sha256: digests(tarBytes).sha256,
        expansionLimits: { bytes: 1000, entries: 10 },
      }),
      /bomb\.tar\.gz: expands to more than 1000 bytes/,
      root,
    );
    await Deno.remove(parent, { recursive: true });
    // 128 MiB of zeros from a zip of 130 kB, within the default limits: peak memory (sampled
    // while it extracts) grows by far less than 128 MiB (it grew by about 3.3 times that when
    // fflate was handed 1 MiB of compressed input at a time).
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 2);
    const result = await fetchDataset(tinyImageNet, options).finally(() => clearInterval(timer));
    assert.equal(result.status, "installed");
    assert.equal((await Deno.stat(join(root, "tiny-imagenet-200", "zeros.bin"))).size, 128 << 20);
    const grewMiB = (peak - before) / (1 << 20);
    assert.ok(grewMiB < 96, `extracting 128 MiB grew memory by ${grewMiB.toFixed(0)} MiB`);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetching embedded MNIST does nothing", async () => {
  const root = await Deno.makeTempDir();
  try {
    assert.deepEqual(await fetchDataset(mnist, { dataRoot: root }), { status: "embedded" });
    assert.deepEqual(await entries(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
