/**
 * Small tmpfs mounts for tests of environment failures that root cannot
 * otherwise meet: a read-only file system (root ignores permission bits) and
 * a full disk. Mounting needs root (CI runs as root); where it is not
 * possible, `CAN_MOUNT` is false and those tests are skipped, saying why.
 *
 * @module
 */

function mount(args: string[]): boolean {
  try {
    return new Deno.Command("mount", { args, stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

function canMount(): boolean {
  const dir = Deno.makeTempDirSync();
  try {
    if (!mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir])) return false;
    new Deno.Command("umount", { args: [dir] }).outputSync();
    return true;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Whether this process may mount a tmpfs (root on Linux). */
export const CAN_MOUNT: boolean = Deno.build.os === "linux" && canMount();

/** A mounted tmpfs: its folder, and how to make it read-only or full. */
export interface Tmpfs {
  /** The mount point. */
  dir: string;
  /** Remounts it read-only (what is there stays readable). */
  readOnly(): void;
  /** Fills it until no byte is left. */
  fill(): Promise<void>;
}

/**
 * Runs `fn` with a fresh tmpfs of `sizeKb` KiB, unmounted and removed afterwards.
 *
 * @example
 * ```ts
 * import { CAN_MOUNT, withTmpfs } from "./tmpfs.ts";
 * if (CAN_MOUNT) await withTmpfs(2048, async (fs) => await fs.fill());
 * ```
 */
export async function withTmpfs(sizeKb: number, fn: (fs: Tmpfs) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  if (!mount(["-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", dir])) {
    throw new Error(`cannot mount a tmpfs on ${dir}`);
  }
  try {
    await fn({
      dir,
      readOnly: () => {
        if (!mount(["-o", "remount,ro", dir])) throw new Error(`cannot remount ${dir} read-only`);
      },
      fill: async () => {
        try {
          await Deno.writeFile(`${dir}/fill`, new Uint8Array((sizeKb + 64) * 1024));
        } catch {
          // Full: that was the point.
        }
      },
    });
  } finally {
    new Deno.Command("umount", { args: [dir] }).outputSync();
    await Deno.remove(dir, { recursive: true });
  }
}
