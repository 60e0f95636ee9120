import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backends/init_backend.ts";
await initBackend("wasm", { threads: 1 });
for (const [xs, ws] of [[[64, 32, 32, 1], [5, 5, 1, 6]], [[64, 14, 14, 6], [5, 5, 6, 16]], [[64, 5, 5, 16], [5, 5, 16, 120]]] as [number[], number[]][]) {
  const x = tf.randomNormal(xs) as tf.Tensor4D; const w = tf.randomNormal(ws) as tf.Tensor4D;
  const dy = tf.tidy(() => tf.onesLike(tf.conv2d(x, w, 1, "valid")));
  const run = (k: string) => tf.tidy(() => k === "f" ? tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: [1, 1], pad: "valid", dataFormat: "NHWC", filterShape: ws }) as tf.Tensor : k === "i" ? tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, { strides: [1, 1], pad: "valid", dataFormat: "NHWC", inputShape: xs }) as tf.Tensor : tf.conv2d(x, w, 1, "valid")).dataSync();
  for (const k of ["fwd", "i", "f"]) { run(k); const t0 = performance.now(); for (let i = 0; i < 20; i++) run(k); console.log(JSON.stringify(xs), JSON.stringify(ws), k, ((performance.now() - t0) / 20).toFixed(2), "ms"); }
}
