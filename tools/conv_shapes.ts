/**
 * The CIFAR-like convolution shapes the kernel benchmarks measure (batch 64,
 * 3x3 kernels, stride 1 and 2), shared by the `deno bench` file and the table
 * script.
 *
 * @module
 */
import type { ConvShape } from "../src/backends/conv_throughput.ts";

/** 32x32x16->32, 16x16x32->64 and 8x8x64->128 at stride 1 and 2, batch 64. */
export const CIFAR_SHAPES: ConvShape[] = [
  [32, 16, 32],
  [16, 32, 64],
  [8, 64, 128],
].flatMap(([size, inC, outC]) =>
  [1, 2].map((stride) => ({
    batch: 64,
    size: size as number,
    inC: inC as number,
    outC: outC as number,
    kernel: 3,
    stride,
  }))
);

/** A short label such as `32x32x16->32 s1`. */
export function shapeLabel(s: ConvShape): string {
  return `${s.size}x${s.size}x${s.inC}->${s.outC} s${s.stride}`;
}
