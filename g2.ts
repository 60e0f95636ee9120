import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
console.log(await tf.setBackend("webgpu"));
await tf.ready();
const a = tf.randomNormal([64, 64], 0, 1, "float32", 1);
const t = performance.now();
const r = await tf.matMul(a, a).data();
console.log(r[0], performance.now() - t);
const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 2) as tf.Tensor4D, w = tf.randomNormal([3,3,3,4],0,1,"float32",3) as tf.Tensor4D;
const g = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same")))([x, w]);
console.log((await g[1]!.data()).slice(0, 3));
try { a.dataSync(); console.log("dataSync ok"); } catch (e) { console.log("dataSync fails:", String(e).slice(0, 100)); }
