import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./src/backends/init_backend.ts";
import { Encoder } from "./src/methods/blocks/encoder.ts";
import { Rng } from "./src/util/rng.ts";
async function run(b: "cpu" | "webgpu") {
  await initBackend(b);
  const e = new Encoder({ latentDim: 16, imageShape: [8, 8, 1], width: 0.125, rng: new Rng(6) });
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, "float32", 12) as tf.Tensor4D;
  const { grads } = tf.variableGrads(() => {
    const { mu, logVar } = e.forward(x, true);
    return tf.add(tf.sum(mu), tf.sum(tf.square(logVar))) as tf.Scalar;
  }, e.params.trainable);
  const out: [string, Float32Array][] = [];
  for (const v of e.params.trainable) out.push([v.name, await grads[v.name]!.data() as Float32Array]);
  return out;
}
const a = await run("cpu"), b = await run("webgpu");
for (let i = 0; i < a.length; i++) {
  const [n, x] = a[i]!; const y = b[i]![1];
  let d = 0, s = 0; for (let j = 0; j < x.length; j++) { d = Math.max(d, Math.abs(x[j]! - y[j]!)); s = Math.max(s, Math.abs(x[j]!)); }
  console.log(n, x.length, s.toExponential(2), (d / s).toExponential(2));
}


for (const i of [13, 14, 15]) console.log(Array.from(a[i]![1].slice(0, 4)).map(v=>v.toFixed(4)).join(" "), "|", Array.from(b[i]![1].slice(0, 4)).map(v=>v.toFixed(4)).join(" "));
