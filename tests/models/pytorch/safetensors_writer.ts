/**
 * Writes safetensors files from float32 tensors, for tests that need a
 * checkpoint with one thing changed (a key dropped, a shape altered).
 *
 * @module
 */
import { toFloat32, type TorchTensor } from "../../../src/models/pytorch/tensor.ts";

/** The safetensors bytes of `tensors` (all written as F32). */
export function safetensorsBytes(tensors: Map<string, TorchTensor>): Uint8Array {
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const values = toFloat32(t);
    const bytes = new Uint8Array(values.buffer);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
