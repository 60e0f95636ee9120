import assert from "node:assert/strict";
import { join } from "node:path";
import { digests, serveArchives, tarGz } from "../data/archive_server.ts";
import { cifarFile, writeCifar10, writeTinyImageNet } from "../data/dataset_files.ts";
import { runCli } from "./run_cli.ts";

const dfkd = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

/** Exit code 1, one `error:` line on stderr, no stack trace. */
function assertCleanFailure(r: { code: number; stderr: string }, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.doesNotMatch(r.stderr, /looks like a bug/);
  assert.equal(r.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).length, 1);
}

Deno.test("datasets check mnist --json reports the 8,000 / 2,000 split and per-class counts", async () => {
  const r = await dfkd(["datasets", "check", "mnist", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    name: "mnist",
    classes: 10,
    splits: {
      train: { size: 8000, perClass: [801, 927, 791, 832, 780, 663, 814, 870, 744, 778] },
      test: { size: 2000, perClass: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200] },
    },
  });
});

Deno.test("datasets check: missing folder and bad records exit 1 with one line, no stack", async () => {
  const root = await Deno.makeTempDir();
  try {
    const missing = await dfkd(["datasets", "check", "cifar10", "--data-root", root]);
    assertCleanFailure(
      missing,
      new RegExp(
        `error: cifar10: expected folder ${
          join(root, "cifar-10-batches-bin")
        } was not found; install it with: deno task dfkd datasets fetch cifar10 --data-root ${root}`,
      ),
    );
    const dir = await writeCifar10(root);
    const ok = await dfkd(["datasets", "check", "cifar10"], { DFKD_DATA: root });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /train +9 images/);
    assert.match(ok.stdout, /3 cat +1 \/ +0/);
    assert.match(ok.stderr, /note: train split has 9 images; the published dataset has 50000/);
    await Deno.writeFile(join(dir, "data_batch_2.bin"), cifarFile([[1], [11]]));
    const badLabel = await dfkd(["datasets", "check", "cifar10", "--data-root", root]);
    assertCleanFailure(badLabel, /data_batch_2\.bin: record 1 has label 11, outside 0\.\.9/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("datasets check tiny-imagenet: an unreadable JPEG exits 1 and writes no cache", async () => {
  const root = await Deno.makeTempDir();
  try {
    const tree = await writeTinyImageNet(root);
    await Deno.writeTextFile(tree.train0, "garbage");
    const r = await dfkd(["datasets", "check", "tiny-imagenet", "--data-root", root]);
    assertCleanFailure(r, new RegExp(`${tree.train0}: unreadable JPEG`));
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["tiny-imagenet-200"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("datasets fetch: wrong checksum exits 1 and installs nothing; the right one installs", async () => {
  const work = await Deno.makeTempDir();
  await writeCifar10(work);
  const archive = await tarGz(work, "cifar-10-batches-bin");
  const server = serveArchives({ "/c.tar.gz": archive });
  const root = join(work, "root");
  try {
    const url = `${server.base}/c.tar.gz`;
    const wrong = await dfkd([
      "datasets",
      "fetch",
      "cifar10",
      "--data-root",
      root,
      "--url",
      url,
      "--md5",
      "0".repeat(32),
    ]);
    assertCleanFailure(
      wrong,
      /c\.tar\.gz: checksum mismatch \(MD5 [0-9a-f]{32}, expected 0{32}\); nothing was installed/,
    );
    assert.deepEqual([...Deno.readDirSync(root)], []);
    const right = await dfkd([
      "datasets",
      "fetch",
      "cifar10",
      "--data-root",
      root,
      "--url",
      url,
      "--sha256",
      digests(archive).sha256,
    ]);
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stdout, /cifar10 installed at .*cifar-10-batches-bin/);
    assert.match(right.stderr, /downloading c\.tar\.gz \d+\/\d+/);
    const again = await dfkd(["datasets", "fetch", "cifar10", "--data-root", root]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already installed/);
    const check = await dfkd(["datasets", "check", "cifar10", "--data-root", root, "--json"]);
    assert.equal(JSON.parse(check.stdout).splits.test.size, 2);
  } finally {
    await server.close();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("datasets: unknown names and bad flags exit 2", async () => {
  const unknown = await dfkd(["datasets", "check", "imagenet"]);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /Unknown dataset "imagenet"; valid names: mnist, cifar10, cifar100, tiny-imagenet/,
  );
  const badHex = await dfkd(["datasets", "fetch", "cifar10", "--md5", "xyz"]);
  assert.equal(badHex.code, 2);
  assert.match(badHex.stderr, /--md5 must be 32 hex digits/);
  const noVerb = await dfkd(["datasets"]);
  assert.equal(noVerb.code, 2);
  assert.match(noVerb.stderr, /datasets needs list, fetch or check/);
  const list = await dfkd(["datasets", "list", "--data-root", "/nonexistent"]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /mnist +10 +32x32x1 +8000 +2000 +embedded/);
  assert.match(list.stdout, /cifar10 .* not installed/);
});
