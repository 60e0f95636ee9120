/**
 * Bilinear resizing of uint8 images exactly as Pillow does it (`Image.resize`
 * with `BILINEAR`), which is what torchvision's `Resize((32, 32))` runs on the
 * PIL images of `torchvision.datasets.MNIST` in the reference code (DAFL,
 * PRE-DFKD).
 *
 * Pillow's algorithm (`libImaging/Resample.c`): a triangle filter whose support
 * is scaled by the shrink factor (1 when enlarging), coefficients normalised to
 * sum 1 and turned into 22-bit fixed point, a horizontal pass into a uint8
 * intermediate image (rounded and clipped), then a vertical pass.
 *
 * @module
 */

/** Pillow's fixed-point precision for 8-bit images: `32 - 8 - 2` bits. */
const PRECISION_BITS = 22;

interface Coefficients {
  /** Filter taps per output position. */
  ksize: number;
  /** First input index per output position. */
  start: Int32Array;
  /** Number of taps used per output position. */
  count: Int32Array;
  /** Fixed-point coefficients, `ksize` per output position. */
  weights: Int32Array;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear (triangle) filter. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    pre.fill(0);
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? (pre[x] as number) / ww : (pre[x] as number);
      weights[xx * ksize + x] = k < 0
        ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS))
        : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

/** Pillow's `clip8`: fixed point back to a byte, clipped to 0..255. */
function clip8(v: number): number {
  if (v >= 1 << PRECISION_BITS << 8) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/**
 * Resizes one uint8 HWC image with Pillow's bilinear filter, bit for bit
 * (checked against Pillow 9.4 in `tests/data/resize_test.ts`). Channels are
 * resized independently, as Pillow does for `L` and `RGB` images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinearPil } from "./resize.ts";
 * const src = new Uint8Array(28 * 28).fill(255);
 * const out = resizeBilinearPil(src, 28, 28, 1, 32, 32);
 * assert.equal(out.length, 1024);
 * assert.equal(out[0], 255);
 * ```
 */
export function resizeBilinearPil(
  src: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  if (src.length !== height * width * channels) {
    throw new RangeError(
      `resizeBilinearPil: ${src.length} bytes is not ${height}x${width}x${channels}`,
    );
  }
  const h = coefficients(width, outWidth);
  const v = coefficients(height, outHeight);
  const half = 1 << (PRECISION_BITS - 1);
  // Horizontal pass: height x outWidth, rounded to bytes as Pillow does.
  const temp = new Uint8Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const x0 = h.start[xx] as number;
      const n = h.count[xx] as number;
      const k = xx * h.ksize;
      for (let c = 0; c < channels; c++) {
        let ss = half;
        for (let x = 0; x < n; x++) {
          ss += (src[row + (x0 + x) * channels + c] as number) * (h.weights[k + x] as number);
        }
        temp[(y * outWidth + xx) * channels + c] = clip8(ss);
      }
    }
  }
  // Vertical pass: outHeight x outWidth.
  const out = new Uint8Array(outHeight * outWidth * channels);
  const rowStride = outWidth * channels;
  for (let yy = 0; yy < outHeight; yy++) {
    const y0 = v.start[yy] as number;
    const n = v.count[yy] as number;
    const k = yy * v.ksize;
    for (let i = 0; i < rowStride; i++) {
      let ss = half;
      for (let y = 0; y < n; y++) {
        ss += (temp[(y0 + y) * rowStride + i] as number) * (v.weights[k + y] as number);
      }
      out[yy * rowStride + i] = clip8(ss);
    }
  }
  return out;
}
