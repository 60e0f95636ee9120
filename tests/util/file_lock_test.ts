import assert from "node:assert/strict";
import { join } from "node:path";
import {
  acquireFileLock,
  processAlive,
  readLockHolder,
  withFileLock,
} from "../../src/util/file_lock.ts";
import { UserError } from "../../src/util/errors.ts";
import { withTempDir } from "../temp_dir.ts";

function holder(pid: number, hostname = Deno.hostname()) {
  return JSON.stringify({ pid, hostname, since: "2026-01-01T00:00:00.000Z" });
}

Deno.test("a lock records its holder and is removed on release", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    const lock = await acquireFileLock(path);
    const h = await readLockHolder(path);
    assert.equal(h?.pid, Deno.pid);
    assert.equal(h?.hostname, Deno.hostname());
    assert.equal(lock.waited, false);
    await lock.release();
    await lock.release(); // idempotent
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a lock held by a live process is refused with its holder named", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    // pid 1 is alive on every Linux host.
    await Deno.writeTextFile(path, holder(1));
    const error = await acquireFileLock(path, { what: "a test" }).then(() => undefined, (e) => e);
    assert.ok(error instanceof UserError);
    assert.equal(error.exitCode, 1);
    assert.match(
      error.message,
      /x\.lock \(a test\) is locked by process 1 on .* since 2026-01-01T00:00:00\.000Z; .*delete .*x\.lock/,
    );
    // The caller chooses the exit code and the message.
    const custom = await acquireFileLock(path, {
      exitCode: 2,
      busyMessage: (h) => `busy: pid ${h?.pid}`,
    }).then(() => undefined, (e) => e);
    assert.equal(custom.exitCode, 2);
    assert.equal(custom.message, "busy: pid 1");
    // Nothing was taken: the holder's file is untouched.
    assert.equal(await Deno.readTextFile(path), holder(1));
  });
});

Deno.test("a stale lock (dead process on this host) is taken over", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    await Deno.writeTextFile(path, holder(999_999_999));
    let takenFrom: number | undefined;
    const lock = await acquireFileLock(path, { onTakeOver: (h) => takenFrom = h?.pid });
    assert.equal(takenFrom, 999_999_999);
    assert.equal((await readLockHolder(path))?.pid, Deno.pid);
    await lock.release();
  });
});

Deno.test("another host's lock is respected until it is older than staleMs", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    await Deno.writeTextFile(path, holder(999_999_999, "elsewhere"));
    await assert.rejects(acquireFileLock(path), /locked by process 999999999 on elsewhere/);
    // Young: still respected with staleMs.
    await assert.rejects(acquireFileLock(path, { staleMs: 60_000 }), /on elsewhere/);
    // Old: taken over.
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(path, old, old);
    const lock = await acquireFileLock(path, { staleMs: 60_000 });
    assert.equal((await readLockHolder(path))?.pid, Deno.pid);
    await lock.release();
  });
});

Deno.test("wait: the second holder waits for the first, and a wait can time out", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    const first = await acquireFileLock(path);
    let notified = 0;
    const second = acquireFileLock(path, { wait: true, pollMs: 5, onWait: () => notified++ });
    await new Promise((r) => setTimeout(r, 50));
    await first.release();
    const lock = await second;
    assert.equal(lock.waited, true);
    assert.equal(notified, 1);
    const error = await acquireFileLock(path, { wait: true, pollMs: 5, timeoutMs: 30 })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof UserError);
    assert.match(
      error.message,
      /Timed out after 30 ms waiting for the lock .*x\.lock, held by process/,
    );
    await lock.release();
  });
});

Deno.test("release never removes a lock that is no longer this acquisition's", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    const lock = await acquireFileLock(path);
    // Someone judged it stale and took it over.
    await Deno.writeTextFile(path, holder(1));
    await lock.release();
    assert.equal(await Deno.readTextFile(path), holder(1));
  });
});

Deno.test("withFileLock releases the lock when the work throws", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    await assert.rejects(withFileLock(path, () => Promise.reject(new Error("boom"))), /boom/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("processes updating one file under the lock lose no update", async () => {
  await withTempDir(async (dir) => {
    const counter = join(dir, "counter.txt");
    await Deno.writeTextFile(counter, "0");
    const module = new URL("../../src/util/file_lock.ts", import.meta.url).href;
    const script = `
      import { withFileLock } from ${JSON.stringify(module)};
      const path = ${JSON.stringify(counter)};
      for (let i = 0; i < 20; i++) {
        await withFileLock(path + ".lock", async () => {
          const n = Number(await Deno.readTextFile(path));
          await new Promise((r) => setTimeout(r, 1));
          await Deno.writeTextFile(path, String(n + 1));
        }, { pollMs: 2 });
      }`;
    const children = [0, 1, 2].map(() =>
      new Deno.Command(Deno.execPath(), { args: ["eval", script], stderr: "piped" }).output()
    );
    for (const out of await Promise.all(children)) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    assert.equal(await Deno.readTextFile(counter), "60");
  });
});

/** Resolves to what `promise` settled with, or "still running" after `ms`. */
function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T | Error | "still running"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"still running">((r) =>
    timer = setTimeout(() => r("still running"), ms)
  );
  return Promise.race([promise.catch((e: Error) => e), late]).finally(() => clearTimeout(timer));
}

Deno.test("a stale lock that cannot be removed fails at once, warning once, naming the file", async () => {
  await withTempDir(async (dir) => {
    // A directory where the lock file should be, old enough to look abandoned, not empty.
    const path = join(dir, "x.lock");
    await Deno.mkdir(join(path, "inside"), { recursive: true });
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(path, old, old);
    let warnings = 0;
    const outcome = await settleWithin(
      acquireFileLock(path, { wait: true, timeoutMs: 30_000, onTakeOver: () => warnings++ }),
      3000,
    );
    assert.ok(outcome instanceof UserError, `expected a UserError, got ${outcome}`);
    assert.match(outcome.message, /x\.lock is a directory, not a lock file; remove it/);
    assert.ok(warnings <= 1, `${warnings} takeover warnings`);
  });
});

Deno.test("a stale lock is taken over by exactly one of many concurrent acquirers", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.lock");
    for (let trial = 0; trial < 30; trial++) {
      await Deno.writeTextFile(path, holder(999_999_999));
      const attempts = [0, 1, 2, 3].map(() =>
        acquireFileLock(path).then((lock) => lock, () => undefined)
      );
      const won = (await Promise.all(attempts)).filter((lock) => lock !== undefined);
      assert.equal(won.length, 1, `trial ${trial}: ${won.length} acquirers hold the lock`);
      await won[0]?.release();
    }
    // The takeover leaves nothing behind.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a zombie holder (exited, not yet reaped by its new parent) is dead: its lock is taken over", async () => {
  // `sleep 0.05 &` exits at once; its parent then execs `sleep 5`, which never
  // reaps it, so it stays a zombie with a /proc entry for five seconds: as a
  // job process killed after its runner died, before init reaps it.
  const child = new Deno.Command("sh", {
    args: ["-c", "sleep 0.05 & echo $!; exec sleep 5"],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  const zombie = Number(new TextDecoder().decode(value).trim());
  try {
    let state = "";
    for (let i = 0; i < 100 && state !== "Z"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const stat = Deno.readTextFileSync(`/proc/${zombie}/stat`);
      state = stat.slice(stat.lastIndexOf(")") + 1).trim()[0] ?? "";
    }
    assert.equal(state, "Z", "the test needs a zombie");
    assert.equal(processAlive(zombie), false);
    await withTempDir(async (dir) => {
      const path = join(dir, "x.lock");
      await Deno.writeTextFile(path, holder(zombie));
      const lock = await acquireFileLock(path, { onTakeOver: () => {} });
      assert.equal((await readLockHolder(path))?.pid, Deno.pid);
      await lock.release();
    });
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});
