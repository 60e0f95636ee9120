import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  type JobCheckpoint,
  loadLatestCheckpoint,
  saveCheckpoint,
} from "../../src/bench/checkpoint.ts";
import { checkpointDue } from "../../src/bench/execute_job.ts";

function sample(epochsDone: number): JobCheckpoint {
  return {
    jobId: "p__m__s0",
    configHash: "f".repeat(64),
    seed: 3,
    epochsDone,
    ...(epochsDone === 2 ? { partialIterations: 5 } : {}),
    epochs: Array.from({ length: epochsDone }, (_, epoch) => ({
      epoch,
      accuracy: 0.1 * epoch + 1 / 3,
      losses: { student: Math.PI * epoch },
      replayBytes: 8,
      counters: { novelImages: 64 },
      trainSeconds: 1.5,
      evalSeconds: 0.25,
    })),
    runner: { images: 128, rng: { i: 1, j: 2, S: [3, 4] } },
    method: {
      json: { partial: { epoch: epochsDone, nextIteration: 5 }, sums: [["student", 0.1 + 0.2, 3]] },
      tensors: {
        "student/0": {
          shape: [2, 3],
          dtype: "float32",
          data: new Float32Array([1.5, -2, 3e-38, NaN, Infinity, epochsDone]),
        },
        "bank/count": { shape: [1], dtype: "int32", data: new Int32Array([-7]) },
        "odd": { shape: [3], dtype: "float32", data: new Float32Array([1, 2, 3]) },
        "empty": { shape: [0, 4], dtype: "float32", data: new Float32Array(0) },
      },
    },
    savedAt: "2026-01-01T00:00:00.000Z",
  };
}

Deno.test("a checkpoint round-trips bit for bit (JSON, float32 incl. NaN, int32, empty tensors)", () => {
  const original = sample(2);
  const back = decodeCheckpoint(encodeCheckpoint(original));
  assert.deepStrictEqual(back, original);
  // A header whose length is not a multiple of 4 still gives aligned tensor data.
  const data = back.method.tensors["student/0"]!.data;
  assert.ok(data instanceof Float32Array);
  assert.ok(Number.isNaN(data[3]));
});

Deno.test("a torn or damaged file is detected", () => {
  const bytes = encodeCheckpoint(sample(1));
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100)), CheckpointError);
  const flipped = bytes.slice();
  flipped[Math.floor(bytes.length / 2)]! ^= 1;
  assert.throws(() => decodeCheckpoint(flipped), /SHA-256 does not match/);
  const foreign = bytes.slice();
  foreign[0] = 0x41;
  assert.throws(() => decodeCheckpoint(foreign), /not a dfkd-bench checkpoint/);
  assert.throws(() => decodeCheckpoint(new Uint8Array(3)), /too short/);
});

Deno.test("saving keeps the newest two; a torn newest one falls back to the previous", async () => {
  const dir = join(await Deno.makeTempDir(), "checkpoints", "job");
  assert.equal(await loadLatestCheckpoint(dir), undefined, "no folder: no checkpoint");
  for (const e of [1, 2, 3]) await saveCheckpoint(dir, sample(e));
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepStrictEqual(names, ["ckpt-000002.bin", "ckpt-000003.bin"]);
  assert.equal((await loadLatestCheckpoint(dir))?.checkpoint.epochsDone, 3);

  // A crash before the rename leaves the last checkpoint as it was, and no temporary file
  // once the next save has run.
  await assert.rejects(
    saveCheckpoint(dir, sample(4), {
      beforeRename: () => {
        throw new Error("simulated crash");
      },
    }),
    /simulated crash/,
  );
  assert.equal((await loadLatestCheckpoint(dir))?.checkpoint.epochsDone, 3);

  // Truncate the newest (a torn write on a file system without atomic rename).
  const newest = join(dir, "ckpt-000003.bin");
  const bytes = await Deno.readFile(newest);
  await Deno.writeFile(newest, bytes.subarray(0, bytes.length >> 1));
  const skipped: string[] = [];
  const found = await loadLatestCheckpoint(
    dir,
    (path, reason) => skipped.push(`${path}: ${reason}`),
  );
  assert.equal(found?.checkpoint.epochsDone, 2);
  assert.equal(found?.path, join(dir, "ckpt-000002.bin"));
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!, /ckpt-000003\.bin: .*(SHA-256|too short)/);
  // The damaged file leaves the rotation; the next save keeps two loadable checkpoints and
  // never reuses a number.
  await saveCheckpoint(dir, sample(5));
  assert.deepStrictEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
    ["ckpt-000002.bin", "ckpt-000003.bin.damaged", "ckpt-000004.bin"],
  );
  assert.equal((await loadLatestCheckpoint(dir))?.checkpoint.epochsDone, 5);
});

Deno.test("checkpoint policy: every N epochs when set, else once a minute; never after the last", () => {
  const base = { epochs: 10, secondsSinceLast: 0 };
  assert.deepStrictEqual(
    Array.from({ length: 10 }, (_, epoch) => checkpointDue({ ...base, epoch, everyEpochs: 3 })),
    [false, false, true, false, false, true, false, false, true, false],
  );
  assert.equal(checkpointDue({ ...base, epoch: 3, secondsSinceLast: 59 }), false);
  assert.equal(checkpointDue({ ...base, epoch: 3, secondsSinceLast: 61 }), true);
  assert.equal(checkpointDue({ ...base, epoch: 9, secondsSinceLast: 600, everyEpochs: 1 }), false);
});

Deno.test("saving removes dead writers' temporary files, never a live writer's", async () => {
  const dir = join(await Deno.makeTempDir(), "job");
  await saveCheckpoint(dir, sample(1));
  // pid 1 is alive on every Linux host (an orphan still writing); 999999999 is nobody.
  const live = join(dir, "ckpt-000009.bin.1-0123abcd.tmp");
  const dead = join(dir, "ckpt-000009.bin.999999999-0123abcd.tmp");
  await Deno.writeFile(live, new Uint8Array(4));
  await Deno.writeFile(dead, new Uint8Array(4));
  await saveCheckpoint(dir, sample(2));
  assert.ok((await Deno.stat(live)).isFile, "a live writer's temporary file is kept");
  await assert.rejects(Deno.stat(dead), "a dead writer's is removed");
  await Deno.remove(dir, { recursive: true });
});
