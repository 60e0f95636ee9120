import assert from "node:assert/strict";
import { join } from "node:path";
import { zipSync } from "fflate";
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

Deno.test("fetching embedded MNIST does nothing", async () => {
  const root = await Deno.makeTempDir();
  try {
    assert.deepEqual(await fetchDataset(mnist, { dataRoot: root }), { status: "embedded" });
    assert.deepEqual(await entries(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
