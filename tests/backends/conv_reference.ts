/**
 * Float64 reference convolution gradients, written from the definition of a
 * 2-D NHWC convolution (cross-correlation) with TensorFlow's padding rules,
 * for testing the registered kernels.
 *
 * @module
 */

/** The geometry of one test case. */
export interface RefConv {
  n: number;
  h: number;
  w: number;
  c: number;
  /** Output channels (regular) or channel multiplier (depthwise). */
  co: number;
  kh: number;
  kw: number;
  stride: number;
  dilation: number;
  pad: "same" | "valid";
}

/** Output size and leading padding along one axis, TensorFlow's rules. */
export function axis(
  size: number,
  k: number,
  stride: number,
  dilation: number,
  pad: "same" | "valid",
): { out: number; before: number } {
  const eff = (k - 1) * dilation + 1;
  if (pad === "valid") return { out: Math.ceil((size - eff + 1) / stride), before: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + eff - size);
  return { out, before: Math.floor(total / 2) };
}

/** Visits (n, i, j, a, b, y, x) for every tap that reads inside the input. */
function taps(
  g: RefConv,
  visit: (n: number, i: number, j: number, a: number, b: number, y: number, x: number) => void,
): { ho: number; wo: number } {
  const ay = axis(g.h, g.kh, g.stride, g.dilation, g.pad);
  const ax = axis(g.w, g.kw, g.stride, g.dilation, g.pad);
  for (let n = 0; n < g.n; n++) {
    for (let i = 0; i < ay.out; i++) {
      for (let j = 0; j < ax.out; j++) {
        for (let a = 0; a < g.kh; a++) {
          for (let b = 0; b < g.kw; b++) {
            const y = i * g.stride + a * g.dilation - ay.before;
            const x = j * g.stride + b * g.dilation - ax.before;
            if (y >= 0 && y < g.h && x >= 0 && x < g.w) visit(n, i, j, a, b, y, x);
          }
        }
      }
    }
  }
  return { ho: ay.out, wo: ax.out };
}

/** Output spatial size of `g`. */
export function outSize(g: RefConv): { ho: number; wo: number } {
  return {
    ho: axis(g.h, g.kh, g.stride, g.dilation, g.pad).out,
    wo: axis(g.w, g.kw, g.stride, g.dilation, g.pad).out,
  };
}

/** dW[a,b,c,o] = sum x[n,y,x,c] * dy[n,i,j,o] (regular convolution). */
export function refFilterGrad(g: RefConv, x: Float32Array, dy: Float32Array): Float64Array {
  const { ho, wo } = outSize(g);
  const dw = new Float64Array(g.kh * g.kw * g.c * g.co);
  taps(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.c; c++) {
      const xv = x[((n * g.h + y) * g.w + xx) * g.c + c] as number;
      for (let o = 0; o < g.co; o++) {
        dw[((a * g.kw + b) * g.c + c) * g.co + o]! += xv *
          (dy[((n * ho + i) * wo + j) * g.co + o] as number);
      }
    }
  });
  return dw;
}

/** dx[n,y,x,c] = sum W[a,b,c,o] * dy[n,i,j,o] (regular convolution). */
export function refInputGrad(g: RefConv, w: Float32Array, dy: Float32Array): Float64Array {
  const { ho, wo } = outSize(g);
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  taps(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.c; c++) {
      let s = 0;
      for (let o = 0; o < g.co; o++) {
        s += (w[((a * g.kw + b) * g.c + c) * g.co + o] as number) *
          (dy[((n * ho + i) * wo + j) * g.co + o] as number);
      }
      dx[((n * g.h + y) * g.w + xx) * g.c + c]! += s;
    }
  });
  return dx;
}

/** Depthwise filter gradient; `g.co` is the channel multiplier. */
export function refDepthwiseFilterGrad(
  g: RefConv,
  x: Float32Array,
  dy: Float32Array,
): Float64Array {
  const { ho, wo } = outSize(g);
  const m = g.co;
  const dw = new Float64Array(g.kh * g.kw * g.c * m);
  taps(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.c; c++) {
      const xv = x[((n * g.h + y) * g.w + xx) * g.c + c] as number;
      for (let q = 0; q < m; q++) {
        dw[((a * g.kw + b) * g.c + c) * m + q]! += xv *
          (dy[((n * ho + i) * wo + j) * g.c * m + c * m + q] as number);
      }
    }
  });
  return dw;
}

/** Depthwise input gradient; `g.co` is the channel multiplier. */
export function refDepthwiseInputGrad(g: RefConv, w: Float32Array, dy: Float32Array): Float64Array {
  const { ho, wo } = outSize(g);
  const m = g.co;
  const dx = new Float64Array(g.n * g.h * g.w * g.c);
  taps(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.c; c++) {
      for (let q = 0; q < m; q++) {
        dx[((n * g.h + y) * g.w + xx) * g.c + c]! +=
          (w[((a * g.kw + b) * g.c + c) * m + q] as number) *
          (dy[((n * ho + i) * wo + j) * g.c * m + c * m + q] as number);
      }
    }
  });
  return dx;
}

/** max |got - want| / max |want| (0 when both are zero). */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`Length ${got.length} != ${want.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    scale = Math.max(scale, Math.abs(want[i] as number));
  }
  return scale === 0 ? diff : diff / scale;
}
