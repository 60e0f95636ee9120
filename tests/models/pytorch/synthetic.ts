/**
 * The deterministic numbers of `tests/reference/pytorch_checkpoints.py`:
 * u = fmix32((i * 0x9E3779B1 + salt * 0x85EBCA77) mod 2^32) / 2^31 - 1 in
 * [-1, 1), rounded to float32, and the synthetic state dicts the full-size
 * layouts are filled with (see the script's `synthetic_value`).
 *
 * @module
 */
import { TorchStorage, TorchTensor } from "../../../src/models/pytorch/tensor.ts";

/** `n` hash-uniform numbers for `salt`, as the fixture script computes them. */
export function hashUniform(n: number, salt: number): Float32Array {
  const out = new Float32Array(n);
  const base = Math.imul(salt, 0x85ebca77) >>> 0;
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + base) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    out[i] = (h >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** The fixture script's images as NHWC float32 values. */
export function hashImages(n: number, h: number, w: number, c: number, salt = 7): Float32Array {
  return hashUniform(n * h * w * c, salt);
}

function syntheticValues(name: string, shape: number[], index: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = hashUniform(n, 1000 + index);
  const out = new Float32Array(n);
  const fanIn = shape.length > 1 ? n / shape[0]! : 1;
  for (let i = 0; i < n; i++) {
    const v = u[i]!;
    if (name.endsWith("running_var")) out[i] = 1 + 0.5 * (v + 1);
    else if (name.endsWith("running_mean")) out[i] = 0.1 * v;
    else if (shape.length === 1 && name.endsWith("weight")) out[i] = 1 + 0.2 * v;
    else if (name.endsWith("bias")) out[i] = 0.1 * v;
    else out[i] = v * Math.sqrt(3 / fanIn);
  }
  return out;
}

/** A contiguous float32 tensor holding `values`. */
export function floatTensor(
  values: Float32Array,
  shape: readonly number[],
  key = "0",
): TorchTensor {
  const storage = new TorchStorage("float32", key, values.length);
  storage.bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return new TorchTensor(storage, 0, shape, stride);
}

/** The synthetic state dict of a layout (`[key, shape, dtype]` in state-dict order). */
export function syntheticStateDict(keys: [string, number[], string][]): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  keys.forEach(([name, shape, dtype], index) => {
    if (dtype !== "float32") {
      const storage = new TorchStorage("int64", String(index), 1);
      storage.bytes = new Uint8Array(8);
      out.set(name, new TorchTensor(storage, 0, shape, shape.map(() => 1)));
    } else {
      out.set(name, floatTensor(syntheticValues(name, shape, index), shape, String(index)));
    }
  });
  return out;
}
