import assert from "node:assert/strict";
import { join } from "node:path";
import {
  addToHistory,
  filterEntries,
  parseHistoryRef,
  previousComparable,
  readHistory,
  resolveHistoryRef,
} from "../../src/tracking/history.ts";
import {
  buildRunSummary,
  type RunSummary,
  summariseResults,
} from "../../src/tracking/run_summary.ts";
import { UserError } from "../../src/util/errors.ts";
import {
  jobs,
  makeRun,
  type RunSpec,
  testEnvironment,
  writeResults,
} from "../bench/results_fixture.ts";

function summary(spec: RunSpec, machine?: string): RunSummary {
  const { run, jobs } = makeRun(spec);
  return buildRunSummary(run, jobs, machine === undefined ? {} : { machine });
}

function commit(c: string) {
  return c.repeat(40).slice(0, 40);
}

function run(id: string, date: string, c: string, host = "host-a", backend = "wasm") {
  return summary({
    runId: id,
    startedAt: date,
    env: testEnvironment({ hostname: host, backend, gitCommit: commit(c) }),
    jobs: jobs(["pre-dfkd", "no-replay"], [0.9, 0.91]),
  });
}

Deno.test("summariseResults reads a results folder the runner's way", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeResults(root, {
      runId: "r1",
      jobs: [
        ...jobs(["pre-dfkd"], [0.9, 0.92], [10, 12]),
        { method: "no-replay", seed: 1, accuracies: [0.5], status: "failed" },
      ],
    });
    const s = await summariseResults(dir);
    assert.equal(s.benchmark, "mnist-quick");
    assert.equal(s.machine, "test-host");
    assert.equal(s.backend, "wasm");
    const pre = s.entries.find((e) => e.method === "pre-dfkd")!;
    assert.equal(pre.status, "completed");
    assert.deepEqual(pre.seeds.map((x) => x.seed), [1, 2]);
    assert.ok(Math.abs(pre.seeds[0]!.mu! - 0.9) < 1e-12);
    assert.ok(Math.abs(pre.seeds[1]!.wallPerEpoch! - 12 / 5) < 1e-12);
    assert.equal(s.entries.find((e) => e.method === "no-replay")!.status, "failed");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("summariseResults validates records with the runner's reader (exit 2, file and field)", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeResults(root, { runId: "r1", jobs: jobs(["pre-dfkd"], [0.9]) });
    const path = join(dir, "jobs", "lenet5-lenet5half__pre-dfkd__s1.json");
    const job = JSON.parse(await Deno.readTextFile(path));
    job.epochs[0].accuracy = 1.5;
    await Deno.writeTextFile(path, JSON.stringify(job));
    const error = await summariseResults(dir).then(() => undefined, (e) => e);
    assert.ok(error instanceof UserError);
    assert.equal(error.exitCode, 2);
    assert.match(
      error.message,
      /__s1\.json: epochs\[0\]\.accuracy: must be at most 1 \(got 1\.5\)/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("history add appends in date order and is idempotent for the same run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "mnist-quick.jsonl");
    const r2 = await addToHistory(dir, run("r2", "2026-01-02T00:00:00Z", "b"));
    assert.equal(r2.status, "added");
    assert.equal(r2.path, path);
    await addToHistory(dir, run("r1", "2026-01-01T00:00:00Z", "a"));
    await addToHistory(dir, run("r3", "2026-01-03T00:00:00Z", "c"));
    const before = await Deno.readTextFile(path);
    const again = await addToHistory(dir, run("r2", "2026-01-02T00:00:00Z", "b"));
    assert.equal(again.status, "unchanged");
    assert.equal(await Deno.readTextFile(path), before, "re-adding changes nothing");
    const lines = before.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.ok(before.endsWith("\n"));
    assert.deepEqual(lines.map((l) => JSON.parse(l).runId), ["r1", "r2", "r3"]);
    const replaced = await addToHistory(dir, run("r2", "2026-01-02T00:00:00Z", "b"), {
      replace: true,
    });
    assert.equal(replaced.status, "replaced");
    assert.equal((await readHistory(path)).length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history append is atomic: a crash before the rename leaves the old file intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "mnist-quick.jsonl");
    await addToHistory(dir, run("r1", "2026-01-01T00:00:00Z", "a"));
    const before = await Deno.readTextFile(path);
    let tempSeen = "";
    await assert.rejects(
      addToHistory(dir, run("r2", "2026-01-02T00:00:00Z", "b"), {
        beforeRename: async (temp) => {
          tempSeen = temp;
          // The full new content is on disk, beside the target, before the rename.
          const text = await Deno.readTextFile(temp);
          assert.equal(text.trimEnd().split("\n").length, 2);
          throw new Error("simulated crash");
        },
      }),
      /simulated crash/,
    );
    assert.equal(await Deno.readTextFile(path), before, "old file untouched");
    assert.ok(tempSeen.startsWith(path) && tempSeen.endsWith(".tmp"));
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left, ["mnist-quick.jsonl"], "no temporary or lock file left behind");
    // Every line of the file is a whole JSON object.
    for (const line of before.trimEnd().split("\n")) JSON.parse(line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrent adds do not lose entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Promise.all(
      [1, 2, 3, 4, 5, 6].map((i) =>
        addToHistory(dir, run(`r${i}`, `2026-01-0${i}T00:00:00Z`, String(i)))
      ),
    );
    const all = await readHistory(join(dir, "mnist-quick.jsonl"));
    assert.deepEqual(all.map((e) => e.runId), ["r1", "r2", "r3", "r4", "r5", "r6"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("entries of other machines and backends are kept apart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "mnist-quick.jsonl");
    await addToHistory(dir, run("a1", "2026-01-01T00:00:00Z", "1", "host-a"));
    await addToHistory(dir, run("b1", "2026-01-01T12:00:00Z", "1", "host-b"));
    await addToHistory(dir, run("a2", "2026-01-02T00:00:00Z", "2", "host-a"));
    await addToHistory(dir, run("a2", "2026-01-02T00:00:00Z", "2", "host-a", "cpu"));
    const b2 = run("b2", "2026-01-03T00:00:00Z", "3", "host-b");
    await addToHistory(dir, b2);
    // The same run id on another machine is a different entry (identity includes the key).
    const sameId = run("a2", "2026-01-02T00:00:00Z", "2", "host-b");
    assert.equal((await addToHistory(dir, sameId)).status, "added");

    const all = await readHistory(path);
    assert.equal(all.length, 6);
    // host-b's previous comparable entry is host-b's, not host-a's newer one.
    assert.equal(previousComparable(all, b2)?.runId, "a2");
    assert.equal(previousComparable(all, b2)?.machine, "host-b");
    const a2 = all.find((e) => e.runId === "a2" && e.machine === "host-a" && e.backend === "wasm")!;
    assert.equal(previousComparable(all, a2)?.runId, "a1");
    const a2cpu = all.find((e) => e.machine === "host-a" && e.backend === "cpu")!;
    assert.equal(previousComparable(all, a2cpu), undefined, "first cpu entry");

    assert.deepEqual(
      filterEntries(all, { machine: "host-a", backend: "wasm" }).map((e) => e.runId),
      ["a1", "a2"],
    );
    // Indices count within one machine/backend; ambiguous without a filter.
    const ref = parseHistoryRef("history:mnist-quick@-1")!;
    assert.equal(resolveHistoryRef(all, ref, { machine: "host-a", backend: "wasm" }).runId, "a2");
    assert.equal(resolveHistoryRef(all, ref, { machine: "host-b", backend: "wasm" }).runId, "b2");
    assert.throws(() => resolveHistoryRef(all, ref, {}), /index is ambiguous/);
    assert.equal(
      resolveHistoryRef(all, parseHistoryRef("history:mnist-quick@0")!, {
        machine: "host-b",
        backend: "wasm",
      }).runId,
      "b1",
    );
    // A commit prefix resolves within the filter.
    const byCommit = resolveHistoryRef(all, { benchmark: "mnist-quick", ref: "3333" }, {
      machine: "host-b",
    });
    assert.equal(byCommit.runId, "b2");
    assert.throws(
      () =>
        resolveHistoryRef(all, { benchmark: "mnist-quick", ref: "5" }, {
          machine: "host-a",
          backend: "wasm",
        }),
      (e) =>
        e instanceof UserError && e.exitCode === 2 && /index 5 is out of range/.test(e.message),
    );
    assert.throws(
      () => resolveHistoryRef(all, ref, { machine: "host-z" }),
      /no entry for host-z\/any backend .*host-a\/wasm \(2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history references parse, and malformed history lines are named", async () => {
  assert.deepEqual(parseHistoryRef("history:mnist-quick"), {
    benchmark: "mnist-quick",
    ref: "latest",
  });
  assert.deepEqual(parseHistoryRef("history:mnist-quick@abc1234"), {
    benchmark: "mnist-quick",
    ref: "abc1234",
  });
  assert.equal(parseHistoryRef("results/mnist-quick/r1"), undefined);
  assert.throws(() => parseHistoryRef("history:@1"), /Bad history reference/);

  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "mnist-quick.jsonl");
    await addToHistory(dir, run("r1", "2026-01-01T00:00:00Z", "a"));
    await Deno.writeTextFile(path, '{"schema": "dfkd-bench/history@1", "runId', { append: true });
    await assert.rejects(
      readHistory(path),
      (e) => e instanceof UserError && e.message.startsWith(`${path}:2: not a JSON line`),
    );
    await assert.rejects(
      addToHistory(dir, { ...run("r2", "2026-01-02T00:00:00Z", "b"), benchmark: "../evil" }),
      /cannot name a history file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a git merge of two branches' history files keeps both (merge=union) and reads clean", async () => {
  const repo = await Deno.makeTempDir();
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  try {
    const attributes = await Deno.readTextFile(new URL("../../.gitattributes", import.meta.url));
    await Deno.writeTextFile(join(repo, ".gitattributes"), attributes);
    const dir = join(repo, "results", "history");
    await git("init", "-q", "-b", "main");
    await addToHistory(dir, run("r1", "2026-01-01T00:00:00Z", "a"));
    await git("add", "-A");
    await git("commit", "-qm", "r1");
    await git("checkout", "-qb", "other");
    await addToHistory(dir, run("r3", "2026-01-03T00:00:00Z", "c", "host-b"));
    await addToHistory(dir, run("r2", "2026-01-02T00:00:00Z", "b"), { now: new Date(1000) });
    await git("commit", "-qam", "r3 and r2");
    await git("checkout", "-q", "main");
    await addToHistory(dir, run("r2", "2026-01-02T00:00:00Z", "b"), { now: new Date(2000) });
    await addToHistory(dir, run("r4", "2026-01-04T00:00:00Z", "d"));
    await git("commit", "-qam", "r2 and r4");
    await git("merge", "-q", "--no-edit", "other");
    const all = await readHistory(join(dir, "mnist-quick.jsonl"));
    assert.deepEqual(all.map((e) => `${e.runId}@${e.machine}`), [
      "r1@host-a",
      "r2@host-a",
      "r3@host-b",
      "r4@host-a",
    ]);
    assert.equal(all[1]!.addedAt, new Date(2000).toISOString(), "the later add of r2 wins");
  } finally {
    await Deno.remove(repo, { recursive: true });
  }
});
