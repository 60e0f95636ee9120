/**
 * The three file formats PyTorch checkpoints come in, read into plain values
 * whose tensors are {@linkcode TorchTensor}s:
 *
 * - the zip format of `torch.save` (PyTorch >= 1.6): `<archive>/data.pkl`
 *   plus one `<archive>/data/<key>` entry per storage, little-endian;
 * - the legacy format (`_use_new_zipfile_serialization=False`, and every
 *   `torch.save` before 1.6): five pickles in a row (magic number, protocol
 *   version, system info, the object, the sorted storage keys) and then each
 *   storage as an 8-byte element count and its raw bytes;
 * - safetensors: an 8-byte header length, a JSON header naming each tensor's
 *   dtype, shape and byte range, and the data.
 *
 * @module
 */
import { unzipSync } from "fflate";
import { UserError } from "../../util/errors.ts";
import { PyGlobal, unpickle } from "./pickle.ts";
import {
  ELEMENT_SIZE,
  STORAGE_DTYPES,
  type TorchDtype,
  TorchStorage,
  TorchTensor,
} from "./tensor.ts";

/** Which format a checkpoint file is in. */
export type CheckpointFormat = "torch-zip" | "torch-legacy" | "safetensors";

/** A checkpoint read from bytes: its format and the unpickled (or safetensors) object. */
export interface RawCheckpoint {
  format: CheckpointFormat;
  /** The saved object: a dict, a whole module ({@linkcode PyObject}), a map of tensors. */
  root: unknown;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * Reads a checkpoint's bytes in whichever of the three formats they are;
 * anything else is a `UserError` naming `file`.
 *
 * @example
 * ```ts
 * import { parseCheckpoint } from "./formats.ts";
 * const bytes = await Deno.readFile("teacher.pth");
 * const { format } = parseCheckpoint(bytes, "teacher.pth");
 * ```
 */
export function parseCheckpoint(bytes: Uint8Array, file: string): RawCheckpoint {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    return { format: "torch-zip", root: readZip(bytes, file) };
  }
  if (bytes[0] === 0x80) return { format: "torch-legacy", root: readLegacy(bytes, file) };
  if (bytes.length >= 9 && bytes[8] === 0x7b) {
    return { format: "safetensors", root: readSafetensors(bytes, file) };
  }
  const head = new TextDecoder().decode(bytes.subarray(0, 24)).replace(/[^\x20-\x7e]/g, "?");
  throw new UserError(
    `${file}: not a PyTorch checkpoint: expected a torch.save zip archive, a legacy torch.save file or safetensors (it ${
      bytes.length === 0 ? "is empty" : `starts with ${JSON.stringify(head)}`
    })`,
    2,
  );
}

function storageFromPid(pid: unknown, file: string): { storage: TorchStorage; view?: unknown } {
  if (!Array.isArray(pid) || pid[0] !== "storage") {
    throw new UserError(
      `${file}: not a readable checkpoint: unknown persistent id ${
        JSON.stringify(String(Array.isArray(pid) ? pid[0] : pid))
      }`,
      2,
    );
  }
  const [, type, key, , numel, view] = pid;
  const typeName = type instanceof PyGlobal ? type.path : String(type);
  const dtype: TorchDtype | undefined = STORAGE_DTYPES[typeName];
  if (dtype === undefined) {
    throw new UserError(
      `${file}: storage ${String(key)} has type ${typeName}, which dfkd-bench does not read`,
      2,
    );
  }
  const count = typeof numel === "number" ? numel : undefined;
  return { storage: new TorchStorage(dtype, String(key), count), view };
}

function readZip(bytes: Uint8Array, file: string): unknown {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new UserError(
      `${file}: a damaged or truncated zip archive (${
        (error as Error).message
      }); copy the checkpoint again`,
      2,
    );
  }
  const names = Object.keys(entries);
  const pkl =
    names.filter((n) => /(^|\/)data\.pkl$/.test(n)).sort((a, b) => a.length - b.length)[0];
  if (pkl === undefined) {
    const script = names.some((n) => /(^|\/)constants\.pkl$/.test(n));
    throw new UserError(
      script
        ? `${file}: a TorchScript archive, not a torch.save checkpoint; in PyTorch, save the weights with torch.save(model.state_dict(), path)`
        : `${file}: a zip archive without data.pkl, so not a torch.save checkpoint`,
      2,
    );
  }
  const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
  const order = entries[`${prefix}byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() === "big") {
    throw new UserError(
      `${file}: saved on a big-endian machine, which dfkd-bench does not read`,
      2,
    );
  }
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown) => {
    const key = Array.isArray(pid) ? String(pid[2]) : "";
    const known = storages.get(key);
    if (known !== undefined) return known;
    const { storage } = storageFromPid(pid, file);
    const data = entries[`${prefix}data/${storage.key}`];
    if (data === undefined) {
      throw new UserError(
        `${file}: storage ${storage.key} is missing from the archive (${prefix}data/${storage.key})`,
        2,
      );
    }
    const declared = storage.declaredNumel;
    if (declared !== undefined && declared * ELEMENT_SIZE[storage.dtype] > data.length) {
      throw new UserError(
        `${file}: storage ${storage.key} declares ${declared} ${storage.dtype} elements (${
          declared * ELEMENT_SIZE[storage.dtype]
        } bytes) but its entry holds ${data.length} bytes`,
        2,
      );
    }
    storage.bytes = data;
    storages.set(key, storage);
    return storage;
  };
  return unpickle(entries[pkl]!, { file, persistentLoad }).value;
}

function readLegacy(bytes: Uint8Array, file: string): unknown {
  const magic = unpickle(bytes, { file });
  if (magic.value !== LEGACY_MAGIC) {
    throw new UserError(
      `${file}: a Python pickle but not a torch.save file (no PyTorch magic number)`,
      2,
    );
  }
  const protocol = unpickle(bytes, { file, offset: magic.end });
  if (protocol.value !== 1001) {
    throw new UserError(
      `${file}: torch.save legacy protocol ${String(protocol.value)} is not 1001`,
      2,
    );
  }
  const info = unpickle(bytes, { file, offset: protocol.end });
  if (info.value instanceof Map && info.value.get("little_endian") === false) {
    throw new UserError(
      `${file}: saved on a big-endian machine, which dfkd-bench does not read`,
      2,
    );
  }
  const storages = new Map<string, TorchStorage>();
  const views: { storage: TorchStorage; base: string; offset: number; size: number }[] = [];
  const persistentLoad = (pid: unknown): unknown => {
    if (Array.isArray(pid) && pid[0] === "module") return pid[1]; // A module's class (and its source).
    const { storage, view } = storageFromPid(pid, file);
    let root = storages.get(storage.key);
    if (root === undefined) {
      root = storage;
      storages.set(storage.key, root);
    }
    if (!Array.isArray(view)) return root;
    const [viewKey, offset, size] = view as [string, number, number];
    const viewStorage = new TorchStorage(root.dtype, String(viewKey), size);
    views.push({ storage: viewStorage, base: root.key, offset, size });
    return viewStorage;
  };
  const main = unpickle(bytes, { file, offset: info.end, persistentLoad });
  const keys = unpickle(bytes, { file, offset: main.end });
  let pos = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value as string[]) {
    const storage = storages.get(String(key));
    if (storage === undefined) {
      throw new UserError(`${file}: storage key ${String(key)} is listed but no tensor uses it`, 2);
    }
    if (pos + 8 > bytes.length) {
      throw new UserError(
        `${file}: the file ends before storage ${storage.key} (truncated file?)`,
        2,
      );
    }
    const numel = Number(view.getBigInt64(pos, true));
    const length = numel * ELEMENT_SIZE[storage.dtype];
    if (numel < 0 || pos + 8 + length > bytes.length) {
      throw new UserError(
        `${file}: storage ${storage.key} declares ${numel} ${storage.dtype} elements (${length} bytes) at byte ${
          pos + 8
        } but the file has ${bytes.length - pos - 8} bytes left (truncated file?)`,
        2,
      );
    }
    storage.bytes = bytes.subarray(pos + 8, pos + 8 + length);
    pos += 8 + length;
  }
  for (const v of views) {
    const base = storages.get(v.base)!;
    const size = ELEMENT_SIZE[base.dtype];
    v.storage.bytes = base.bytes?.subarray(v.offset * size, (v.offset + v.size) * size);
  }
  return main.value;
}

const SAFETENSORS_DTYPES: Record<string, TorchDtype> = {
  F32: "float32",
  F64: "float64",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

function readSafetensors(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    throw new UserError(
      `${file}: the safetensors header declares ${headerLength} bytes but the file has ${
        bytes.length - 8
      } after its length (truncated file?)`,
      2,
    );
  }
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: number[] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new UserError(
      `${file}: the safetensors header is not valid JSON (${(error as Error).message})`,
      2,
    );
  }
  const data = bytes.subarray(8 + headerLength);
  const out = new Map<string, TorchTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const dtype = SAFETENSORS_DTYPES[entry.dtype ?? ""];
    const [begin, end] = entry.data_offsets ?? [];
    const shape = entry.shape;
    if (
      dtype === undefined || !Array.isArray(shape) || typeof begin !== "number" ||
      typeof end !== "number"
    ) {
      throw new UserError(
        `${file}: safetensors entry ${name} has no readable dtype, shape and data_offsets`,
        2,
      );
    }
    const needed = shape.reduce((a, b) => a * b, 1) * ELEMENT_SIZE[dtype];
    if (end > data.length || end - begin !== needed || begin < 0) {
      throw new UserError(
        `${file}: safetensors entry ${name} declares bytes ${begin}..${end} (${needed} needed for [${
          shape.join(", ")
        }] ${dtype}) but the data section has ${data.length} bytes (truncated file?)`,
        2,
      );
    }
    const storage = new TorchStorage(dtype, name, needed / ELEMENT_SIZE[dtype]);
    storage.bytes = data.subarray(begin, end);
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    out.set(name, new TorchTensor(storage, 0, shape, stride));
  }
  return out;
}
