/**
 * A subprocess for the thread tests: `deno run -A threads_probe.ts <threads>`
 * initialises wasm on that many threads, runs a forward pass and the
 * gradients of a small CNN (wide enough for XNNPACK to split its kernels
 * across threads) and a filter gradient with a long inner dimension, and
 * prints one JSON line: the threads in use and a SHA-256 of every output's
 * float32 bytes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";

const threads = Number(Deno.args[0] ?? "1");
const info = await initBackend("wasm", { threads });
const seed = (i: number) => 1000 + i;
const x = tf.randomNormal([16, 24, 24, 8], 0, 1, "float32", seed(0)) as tf.Tensor4D;
const w1 = tf.randomNormal([3, 3, 8, 32], 0, 0.2, "float32", seed(1)) as tf.Tensor4D;
const w2 = tf.randomNormal([3, 3, 32, 32], 0, 0.1, "float32", seed(2)) as tf.Tensor4D;
const wd = tf.randomNormal([12 * 12 * 32, 10], 0, 0.05, "float32", seed(3)) as tf.Tensor2D;
const loss = (a: tf.Tensor4D, b: tf.Tensor4D, d: tf.Tensor2D) => {
  const h1 = tf.relu(tf.conv2d(x, a, 1, "same"));
  const h2 = tf.maxPool(tf.relu(tf.conv2d(h1, b, 1, "same")), 2, 2, "valid");
  const logits = tf.matMul(tf.reshape(h2, [16, -1]), d);
  return tf.mean(tf.square(logits)) as tf.Scalar;
};
const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) =>
  loss(ps[0] as tf.Tensor4D, ps[1] as tf.Tensor4D, ps[2] as tf.Tensor2D)
)([w1, w2, wd]);
// A filter gradient with a long inner dimension (32 x 32 x 32 positions) and a one-channel
// output, where a matrix-product library might split the sum across threads.
const xl = tf.randomNormal([32, 32, 32, 16], 0, 1, "float32", seed(4)) as tf.Tensor4D;
const wl = tf.randomNormal([3, 3, 16, 1], 0, 0.1, "float32", seed(5)) as tf.Tensor4D;
const longSum = tf.grad((w: tf.Tensor) =>
  tf.sum(tf.square(tf.conv2d(xl, w as tf.Tensor4D, 1, "same")))
)(
  wl,
);
const hash = crypto.subtle.digest.bind(crypto.subtle);
const parts: string[] = [];
for (const t of [value, ...grads, longSum]) {
  const bytes = new Uint8Array(Float32Array.from(await t.data() as Float32Array).buffer);
  const d = new Uint8Array(await hash("SHA-256", bytes));
  parts.push([...d.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(""));
}
console.log(
  JSON.stringify({ threads: info.threads, loss: (await value.data())[0], hashes: parts }),
);
