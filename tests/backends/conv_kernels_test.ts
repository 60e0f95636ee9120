import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { trainingKernelConfigs } from "../../src/backends/training_kernels.ts";
import { filterGradientRoute } from "../../src/backends/kernels/native_conv2d_backprop_filter.ts";
import { Rng } from "../../src/util/rng.ts";
import {
  outSize,
  type RefConv,
  refDepthwiseFilterGrad,
  refDepthwiseInputGrad,
  refFilterGrad,
  refInputGrad,
  relativeError,
} from "./conv_reference.ts";

const BACKENDS = ["wasm", "cpu"] as const;
const CASES = 40;

async function use(backend: (typeof BACKENDS)[number]): Promise<void> {
  assert.equal((await initBackend(backend)).name, backend);
}

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** A random case in the ranges the issue asks for; valid padding only where the kernel fits. */
function randomCase(rng: Rng, depthwise: boolean): RefConv {
  for (;;) {
    const k = [1, 3, 5][rng.int(3)] as number;
    const stride = 1 + rng.int(2);
    const dilation = depthwise && stride === 1 && rng.next() < 0.3 ? 2 : 1;
    const g: RefConv = {
      n: 1 + rng.int(8),
      h: 5 + rng.int(13),
      w: 5 + rng.int(13),
      c: 1 + rng.int(16),
      co: depthwise ? 1 + rng.int(3) : 1 + rng.int(16),
      kh: k,
      kw: rng.next() < 0.2 ? [1, 3, 5][rng.int(3)] as number : k,
      stride,
      dilation,
      pad: rng.next() < 0.5 ? "same" : "valid",
    };
    const { ho, wo } = outSize(g);
    if (ho >= 1 && wo >= 1) return g;
  }
}

function describe(g: RefConv): string {
  return `n${g.n} ${g.h}x${g.w}x${g.c} k${g.kh}x${g.kw} co/m${g.co} s${g.stride} d${g.dilation} ${g.pad}`;
}

for (const backend of BACKENDS) {
  Deno.test(`Conv2DBackpropFilter on ${backend} matches the float64 reference on random shapes`, async () => {
    await use(backend);
    const rng = new Rng(`filter-${backend}`);
    const routes = new Set<string>();
    for (let t = 0; t < CASES; t++) {
      const g = randomCase(rng, false);
      routes.add(filterGradientRoute(g.c, g.co, g.kh, g.kw));
      const { ho, wo } = outSize(g);
      const x = randomArray(rng, g.n * g.h * g.w * g.c);
      const dy = randomArray(rng, g.n * ho * wo * g.co);
      const got = tf.tidy(() =>
        (tf.engine().runKernel(tf.Conv2DBackpropFilter, {
          x: tf.tensor4d(x, [g.n, g.h, g.w, g.c]),
          dy: tf.tensor4d(dy, [g.n, ho, wo, g.co]),
        }, {
          strides: [g.stride, g.stride],
          pad: g.pad,
          dataFormat: "NHWC",
          filterShape: [g.kh, g.kw, g.c, g.co],
        }) as tf.Tensor).dataSync()
      );
      const err = relativeError(got, refFilterGrad(g, x, dy));
      assert.ok(err < 1e-5, `${describe(g)}: relative error ${err}`);
    }
    // Every route of the native (oneDNN) kernel was among the shapes.
    assert.deepEqual([...routes].sort(), ["columns", "im2col", "tap-products"]);
  });

  Deno.test(`Conv2DBackpropInput on ${backend} matches the float64 reference on random shapes`, async () => {
    // cpu keeps its own input gradient (faster than ours there); it is checked all the same.
    await use(backend);
    const rng = new Rng(`input-${backend}`);
    for (let t = 0; t < CASES; t++) {
      const g = randomCase(rng, false);
      const { ho, wo } = outSize(g);
      const w = randomArray(rng, g.kh * g.kw * g.c * g.co);
      const dy = randomArray(rng, g.n * ho * wo * g.co);
      const got = tf.tidy(() =>
        (tf.engine().runKernel(tf.Conv2DBackpropInput, {
          dy: tf.tensor4d(dy, [g.n, ho, wo, g.co]),
          filter: tf.tensor4d(w, [g.kh, g.kw, g.c, g.co]),
        }, {
          strides: [g.stride, g.stride],
          pad: g.pad,
          dataFormat: "NHWC",
          inputShape: [g.n, g.h, g.w, g.c],
        }) as tf.Tensor).dataSync()
      );
      const err = relativeError(got, refInputGrad(g, w, dy));
      assert.ok(err < 1e-5, `${describe(g)}: relative error ${err}`);
    }
  });

  const registered = trainingKernelConfigs(backend).map((k) => k.kernelName);
  Deno.test({
    name: `depthwise gradient kernels on ${backend} match the float64 reference`,
    ignore: !registered.includes(tf.DepthwiseConv2dNativeBackpropFilter),
  }, async () => {
    await use(backend);
    const rng = new Rng(`depthwise-${backend}`);
    for (let t = 0; t < CASES; t++) {
      const g = randomCase(rng, true);
      const { ho, wo } = outSize(g);
      const x = randomArray(rng, g.n * g.h * g.w * g.c);
      const w = randomArray(rng, g.kh * g.kw * g.c * g.co);
      const dy = randomArray(rng, g.n * ho * wo * g.c * g.co);
      const attrs = {
        strides: [g.stride, g.stride],
        dilations: [g.dilation, g.dilation],
        pad: g.pad,
      };
      const [dw, dx] = tf.tidy(() => {
        const dyT = tf.tensor4d(dy, [g.n, ho, wo, g.c * g.co]);
        const dwT = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, {
          x: tf.tensor4d(x, [g.n, g.h, g.w, g.c]),
          dy: dyT,
        }, { ...attrs, filterShape: [g.kh, g.kw, g.c, g.co] }) as tf.Tensor;
        const dxT = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, {
          dy: dyT,
          filter: tf.tensor4d(w, [g.kh, g.kw, g.c, g.co]),
        }, { ...attrs, inputShape: [g.n, g.h, g.w, g.c] }) as tf.Tensor;
        return [dwT.dataSync(), dxT.dataSync()];
      });
      const errW = relativeError(dw as Float32Array, refDepthwiseFilterGrad(g, x, dy));
      const errX = relativeError(dx as Float32Array, refDepthwiseInputGrad(g, w, dy));
      assert.ok(errW < 1e-5, `${describe(g)}: filter relative error ${errW}`);
      assert.ok(errX < 1e-5, `${describe(g)}: input relative error ${errX}`);
    }
  });

  Deno.test(`gradient kernels on ${backend} free every intermediate buffer`, async () => {
    await use(backend);
    // 3 -> 5 channels: im2col routes; 6 -> 2: the per-tap-product routes (with oneDNN).
    for (const [inC, outC] of [[3, 5], [6, 2]] as const) {
      const x = tf.randomNormal([4, 9, 9, inC], 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, inC, outC], 0, 1, "float32", 2) as tf.Tensor4D;
      const step = () =>
        tf.tidy(() => {
          const [gx, gw] = tf.grads((a, b) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same").square().sum()
          )([x, w]);
          return (gx as tf.Tensor).sum().add((gw as tf.Tensor).sum()).dataSync();
        });
      step();
      const tensors = tf.memory().numTensors;
      const dataIds = tf.engine().backend.numDataIds();
      for (let i = 0; i < 3; i++) step();
      assert.equal(tf.memory().numTensors, tensors);
      assert.equal(tf.engine().backend.numDataIds(), dataIds);
      tf.dispose([x, w]);
    }
  });
}

Deno.test("the chunked path (batch split to bound temporary memory) matches the reference", async () => {
  await use("wasm");
  // 48 x 32 x 32 output positions x (5*5*16) taps = 19.7M floats > the 16.8M-float budget:
  // two chunks (40 + 8 images) for both the filter and the (stride-2) input gradient.
  const g: RefConv = {
    n: 48,
    h: 64,
    w: 64,
    c: 16,
    co: 4,
    kh: 5,
    kw: 5,
    stride: 2,
    dilation: 1,
    pad: "same",
  };
  const rng = new Rng("chunked");
  const x = randomArray(rng, g.n * g.h * g.w * g.c);
  const dy = randomArray(rng, g.n * 32 * 32 * g.co);
  const w = randomArray(rng, g.kh * g.kw * g.c * g.co);
  const [dw, dx] = tf.tidy(() => {
    const dyT = tf.tensor4d(dy, [g.n, 32, 32, g.co]);
    const attrs = { strides: [2, 2], pad: "same", dataFormat: "NHWC" };
    return [
      (tf.engine().runKernel(tf.Conv2DBackpropFilter, {
        x: tf.tensor4d(x, [g.n, g.h, g.w, g.c]),
        dy: dyT,
      }, {
        ...attrs,
        filterShape: [g.kh, g.kw, g.c, g.co],
      }) as tf.Tensor).dataSync(),
      (tf.engine().runKernel(tf.Conv2DBackpropInput, {
        dy: dyT,
        filter: tf.tensor4d(w, [5, 5, 16, 4]),
      }, {
        ...attrs,
        inputShape: [g.n, g.h, g.w, g.c],
      }) as tf.Tensor).dataSync(),
    ];
  });
  assert.ok(relativeError(dw as Float32Array, refFilterGrad(g, x, dy)) < 1e-5);
  assert.ok(relativeError(dx as Float32Array, refInputGrad(g, w, dy)) < 1e-5);
});

Deno.test("the filter gradient's im2col route (as many output as input channels) chunks and matches the reference", async () => {
  await use("wasm");
  // 64 x 64 positions x (5*5*64) taps = 6.6M floats per image: three images take two chunks;
  // with oneDNN the chunks accumulate in the product (beta 1).
  const g: RefConv = {
    n: 3,
    h: 64,
    w: 64,
    c: 64,
    co: 32,
    kh: 5,
    kw: 5,
    stride: 1,
    dilation: 1,
    pad: "same",
  };
  const rng = new Rng("chunked-im2col");
  const x = randomArray(rng, g.n * g.h * g.w * g.c);
  const dy = randomArray(rng, g.n * g.h * g.w * g.co);
  const dw = tf.tidy(() =>
    (tf.engine().runKernel(tf.Conv2DBackpropFilter, {
      x: tf.tensor4d(x, [g.n, g.h, g.w, g.c]),
      dy: tf.tensor4d(dy, [g.n, g.h, g.w, g.co]),
    }, {
      strides: [1, 1],
      pad: "same",
      dataFormat: "NHWC",
      filterShape: [g.kh, g.kw, g.c, g.co],
    }) as tf.Tensor).dataSync()
  );
  assert.ok(relativeError(dw as Float32Array, refFilterGrad(g, x, dy)) < 1e-5);
});
