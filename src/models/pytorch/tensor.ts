/**
 * PyTorch tensors as a checkpoint holds them: a typed storage (raw
 * little-endian bytes) and a view of it (storage offset, shape and strides
 * in elements). {@linkcode toFloat32} reads a view into a dense row-major
 * `Float32Array`, honouring any strides and converting float64, float16 and
 * bfloat16.
 *
 * @module
 */

/** The element types a storage can hold. */
export type TorchDtype =
  | "float32"
  | "float64"
  | "float16"
  | "bfloat16"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

/** Bytes per element of each dtype. */
export const ELEMENT_SIZE: Record<TorchDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

const STORAGE_NAMES: Record<string, TorchDtype> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

/**
 * The storage classes `torch.save` names (`torch.FloatStorage`, and
 * `torch.cuda.FloatStorage` for tensors saved from a GPU, ...) and their dtypes.
 */
export const STORAGE_DTYPES: Record<string, TorchDtype> = {
  ...Object.fromEntries(Object.entries(STORAGE_NAMES).map(([k, v]) => [`torch.${k}`, v])),
  ...Object.fromEntries(Object.entries(STORAGE_NAMES).map(([k, v]) => [`torch.cuda.${k}`, v])),
  "torch.UntypedStorage": "uint8",
};

/** A typed storage: `bytes` is filled by the format reader (zip entry, legacy tail, safetensors). */
export class TorchStorage {
  /** The raw little-endian bytes (undefined until the reader has them). */
  bytes: Uint8Array | undefined = undefined;
  constructor(
    /** Element type. */
    readonly dtype: TorchDtype,
    /** The storage's key in the file (a zip entry name, a legacy key). */
    readonly key: string,
    /** Declared number of elements (the file's own claim), or undefined. */
    readonly declaredNumel?: number,
  ) {}
}

/** A tensor: a strided view of a storage. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    /** Offset of the first element, in elements. */
    readonly offset: number,
    readonly shape: readonly number[],
    /** Strides in elements. */
    readonly stride: readonly number[],
  ) {}
  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** The dtype of the storage. */
  get dtype(): TorchDtype {
    return this.storage.dtype;
  }
}

/**
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` as
 * data: the unpickler calls it with the pickle's arguments.
 *
 * @example
 * ```ts
 * import { rebuildTensor, TorchStorage } from "./tensor.ts";
 * const t = rebuildTensor([new TorchStorage("float32", "0", 6), 0, [2, 3], [3, 1]]);
 * console.log(t.numel); // 6
 * ```
 */
export function rebuildTensor(args: unknown[]): TorchTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) {
    throw new Error("a tensor whose storage is not a storage record");
  }
  const ints = (v: unknown) =>
    Array.isArray(v) && v.every((d) => Number.isInteger(d) && (d as number) >= 0);
  if (!Number.isInteger(offset) || (offset as number) < 0 || !ints(size) || !ints(stride)) {
    throw new Error("a tensor with a malformed offset, size or stride");
  }
  if ((size as number[]).length !== (stride as number[]).length) {
    throw new Error("a tensor whose size and stride differ in length");
  }
  return new TorchTensor(storage, offset as number, size as number[], stride as number[]);
}

/** One float16 bit pattern as a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function reader(dtype: TorchDtype, view: DataView): (i: number) => number {
  switch (dtype) {
    case "float32":
      return (i) => view.getFloat32(4 * i, true);
    case "float64":
      return (i) => view.getFloat64(8 * i, true);
    case "float16":
      return (i) => halfToFloat(view.getUint16(2 * i, true));
    case "bfloat16": {
      const scratch = new DataView(new ArrayBuffer(4));
      return (i) => {
        scratch.setUint32(0, view.getUint16(2 * i, true) << 16);
        return scratch.getFloat32(0);
      };
    }
    case "int64":
      return (i) => Number(view.getBigInt64(8 * i, true));
    case "int32":
      return (i) => view.getInt32(4 * i, true);
    case "int16":
      return (i) => view.getInt16(2 * i, true);
    case "int8":
      return (i) => view.getInt8(i);
    case "uint8":
    case "bool":
      return (i) => view.getUint8(i);
  }
}

/**
 * The elements of `tensor` as a dense row-major `Float32Array`. A view that
 * reaches past its storage's bytes is an `Error` naming the offsets (the
 * caller adds the file and key).
 *
 * @example
 * ```ts
 * import { toFloat32, TorchStorage, TorchTensor } from "./tensor.ts";
 * const s = new TorchStorage("float32", "0");
 * s.bytes = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
 * // The transpose of a [2, 3] tensor: shape [3, 2], strides [1, 3].
 * console.log(Array.from(toFloat32(new TorchTensor(s, 0, [3, 2], [1, 3])))); // [1, 4, 2, 5, 3, 6]
 * ```
 */
export function toFloat32(tensor: TorchTensor): Float32Array {
  const { storage, offset, shape, stride } = tensor;
  const bytes = storage.bytes;
  if (bytes === undefined) throw new Error(`storage ${storage.key} has no data in the file`);
  const size = ELEMENT_SIZE[storage.dtype];
  const available = Math.floor(bytes.length / size);
  const n = tensor.numel;
  const last = n === 0 ? offset : offset + shape.reduce((a, d, i) => a + (d - 1) * stride[i]!, 0);
  if (last >= available && n > 0) {
    throw new Error(
      `storage offset ${offset} with shape [${shape.join(", ")}] and strides [${
        stride.join(", ")
      }] reaches element ${last}, beyond its storage ${storage.key} of ${available} elements`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  const contiguous = shape.every((_, i) =>
    stride[i] === shape.slice(i + 1).reduce((a, b) => a * b, 1) || shape[i] === 1
  );
  if (contiguous && storage.dtype === "float32") {
    out.set(new Float32Array(bytes.slice(offset * 4, (offset + n) * 4).buffer));
    return out;
  }
  const read = reader(storage.dtype, view);
  const index = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let k = 0; k < n; k++) {
    out[k] = read(at);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      at += stride[d]!;
      if (index[d]! < shape[d]!) break;
      at -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}
