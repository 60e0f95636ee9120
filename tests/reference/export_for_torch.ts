/**
 * Exports seeded zoo models and their outputs for `torch_crosscheck.py`, which
 * rebuilds each architecture in PyTorch, loads these weights and compares:
 * training-mode logits, the gradients of the cross-entropy loss and the
 * updated BatchNorm running statistics, then inference-mode logits and
 * features.
 *
 * Usage: `deno run -A tests/reference/export_for_torch.ts <out-dir> [arch...]`,
 * then `/usr/bin/python3 tests/reference/torch_crosscheck.py <out-dir>`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { forward } from "../../src/models/classifier.ts";
import { saveClassifier } from "../../src/models/io.ts";
import { ARCHITECTURES, buildClassifier } from "../../src/models/registry.ts";

const [out, ...requested] = Deno.args;
if (out === undefined) {
  console.error("usage: export_for_torch.ts <out-dir> [arch...]");
  Deno.exit(2);
}
await initBackend((Deno.env.get("DFKD_BACKEND") ?? "wasm") as "wasm" | "cpu");
const archs = requested.length > 0 ? requested : Object.keys(ARCHITECTURES);
for (const arch of archs) {
  // 8x8 input keeps few ReLU inputs near the kink, so gradients can be compared strictly.
  const sizes = arch.startsWith("lenet")
    ? [32]
    : arch === "mobilenetv2-cmi"
    ? [32]
    : arch === "mobilenetv2" || arch === "vgg11"
    ? [32, 16]
    : [32, 8];
  for (const size of arch.startsWith("resnet") ? [...sizes, 64] : sizes) {
    const shape: [number, number, number] = arch.startsWith("lenet")
      ? [32, 32, 1]
      : [size, size, 3];
    const classes = size === 64 ? 200 : 10;
    const c = buildClassifier(arch, { inputShape: shape, classes, seed: 7 });
    const dir = `${out}/${arch}-${size}`;
    await saveClassifier(c, `${dir}/before`);
    const x = tf.randomNormal([4, ...shape], 0, 1, "float32", 8) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 1, 2, 3], "int32");
    // Gradients of the mean cross-entropy in training mode (this forward also updates the running
    // statistics, as PyTorch's does); each weight's gradient summarised by its sum, L2 norm and
    // first values, keyed by the weight's name.
    const vars = c.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const names = c.model.trainableWeights.map((w) => w.originalName);
    let trainLogits: number[] = [];
    const { grads } = tf.variableGrads(() => {
      const { logits } = forward(c, x, true);
      trainLogits = Array.from(logits.dataSync());
      return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits) as tf.Scalar;
    }, vars);
    const gradients: Record<string, { sum: number; norm: number; head: number[] }> = {};
    vars.forEach((v, i) => {
      const g = grads[v.name]!;
      gradients[names[i]!] = {
        sum: g.sum().dataSync()[0]!,
        norm: g.norm().dataSync()[0]!,
        head: Array.from(g.dataSync().slice(0, 16)),
      };
    });
    tf.dispose([labels, ...Object.values(grads)]);
    await saveClassifier(c, `${dir}/after`);
    const evalOut = forward(c, x, false);
    const record = {
      arch,
      classes,
      inputShape: shape,
      x: Array.from(x.dataSync()),
      trainLogits,
      gradients,
      evalLogits: Array.from(evalOut.logits.dataSync()),
      evalFeatures: Array.from(evalOut.features.dataSync()),
    };
    await Deno.writeTextFile(`${dir}/io.json`, JSON.stringify(record));
    tf.dispose([x, evalOut.logits, evalOut.features]);
    c.model.dispose();
    console.log(`exported ${dir}`);
  }
}
