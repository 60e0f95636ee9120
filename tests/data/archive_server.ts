/**
 * A local HTTP server on 127.0.0.1 (port chosen by the OS) serving test
 * archives, including one whose connection is cut mid-way, plus helpers that
 * build archives in the publishers' formats from folders.
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { zipSync } from "fflate";
import * as tar from "tar";

/** A running test server. */
export interface ArchiveServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Requests received per path. */
  hits: Map<string, number>;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves `files` by path. `/cut/<path>` serves the first 40% of `<path>`'s
 * bytes with the full Content-Length, then ends the connection; unknown
 * paths are 404.
 */
export function serveArchives(files: Record<string, Uint8Array>): ArchiveServer {
  const hits = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const cut = path.startsWith("/cut/");
    const body = files[cut ? path.slice(4) : path];
    if (body === undefined) return new Response("not found", { status: 404 });
    const headers = { "content-length": String(body.length) };
    if (!cut) return new Response(body.slice(), { headers });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body.slice(0, Math.floor(body.length * 0.4)));
        controller.close(); // fewer bytes than promised: the connection is dropped
      },
    });
    return new Response(stream, { headers });
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    hits,
    close: () => server.shutdown(),
  };
}

/** SHA-256 and MD5 (hex) of `bytes`. */
export function digests(bytes: Uint8Array): { sha256: string; md5: string } {
  return {
    sha256: createHash("sha256").update(bytes).digest("hex"),
    md5: createHash("md5").update(bytes).digest("hex"),
  };
}

/** A `.tar.gz` (node-tar) of `folder` (a child of `parent`), returned as bytes. */
export async function tarGz(parent: string, folder: string): Promise<Uint8Array> {
  const file = join(await Deno.makeTempDir(), "archive.tar.gz");
  await tar.c({ gzip: true, file, cwd: parent }, [folder]);
  const bytes = await Deno.readFile(file);
  await Deno.remove(join(file, ".."), { recursive: true });
  return bytes;
}

/** A `.zip` (fflate) of every file under `parent/folder`, paths relative to `parent`. */
export async function zipFolder(parent: string, folder: string): Promise<Uint8Array> {
  const entries: Record<string, Uint8Array> = {};
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else entries[relative(parent, path)] = await Deno.readFile(path);
    }
  };
  await walk(join(parent, folder));
  return zipSync(entries, { level: 1 });
}
