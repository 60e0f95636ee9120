/**
 * A temporary folder for one test body, removed afterwards.
 *
 * @module
 */

/**
 * Runs `fn` with a fresh temporary folder and removes the folder afterwards.
 *
 * @example
 * ```ts
 * import { withTempDir } from "./temp_dir.ts";
 * await withTempDir(async (dir) => await Deno.writeTextFile(`${dir}/a.txt`, "a"));
 * ```
 */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
