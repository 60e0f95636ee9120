/**
 * Exports seeded zoo models and their outputs for `torch_crosscheck.py`, which
 * rebuilds each architecture in PyTorch, loads these weights and compares:
 * training-mode logits and the updated BatchNorm running statistics, then
 * inference-mode logits and features.
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
await initBackend("wasm");
const archs = requested.length > 0 ? requested : Object.keys(ARCHITECTURES);
for (const arch of archs) {
  for (const size of arch.startsWith("resnet") ? [32, 64] : [32]) {
    const shape: [number, number, number] = arch.startsWith("lenet")
      ? [32, 32, 1]
      : [size, size, 3];
    const classes = size === 64 ? 200 : 10;
    const c = buildClassifier(arch, { inputShape: shape, classes, seed: 7 });
    const dir = `${out}/${arch}-${size}`;
    await saveClassifier(c, `${dir}/before`);
    const x = tf.randomNormal([4, ...shape], 0, 1, "float32", 8) as tf.Tensor4D;
    const train = forward(c, x, true);
    await saveClassifier(c, `${dir}/after`);
    const evalOut = forward(c, x, false);
    const record = {
      arch,
      classes,
      inputShape: shape,
      x: Array.from(x.dataSync()),
      trainLogits: Array.from(train.logits.dataSync()),
      evalLogits: Array.from(evalOut.logits.dataSync()),
      evalFeatures: Array.from(evalOut.features.dataSync()),
    };
    await Deno.writeTextFile(`${dir}/io.json`, JSON.stringify(record));
    tf.dispose([x, train.logits, train.features, evalOut.logits, evalOut.features]);
    c.model.dispose();
    console.log(`exported ${dir}`);
  }
}
