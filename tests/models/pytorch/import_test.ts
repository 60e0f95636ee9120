import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../../src/backends/init_backend.ts";
import { forward } from "../../../src/models/classifier.ts";
import { evaluateAccuracy } from "../../../src/models/evaluate.ts";
import {
  convertPytorchCheckpoint,
  importPytorchTeacher,
  importPytorchTeacherFile,
  loadStateDict,
} from "../../../src/models/pytorch/mod.ts";
import { buildClassifier } from "../../../src/models/registry.ts";
import { getDataset } from "../../../src/data/registry.ts";
import { hashImages, syntheticStateDict } from "./synthetic.ts";

await initBackend("wasm");

const FIXTURES = new URL("./fixtures/", import.meta.url);
const expected: Record<string, { arch: string; dataset: string; logits: number[][] }> = JSON.parse(
  await Deno.readTextFile(new URL("expected.json", FIXTURES)),
);
const layouts: Record<
  string,
  { dataset: string; keys: [string, number[], string][]; logits: number[][] }
> = JSON.parse(await Deno.readTextFile(new URL("layouts.json", FIXTURES)));

/** max |a - b| / max |b|: PyTorch's logits are `b`. */
function relativeError(a: number[][], b: number[][]): number {
  let diff = 0;
  let scale = 0;
  b.forEach((row, i) =>
    row.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(a[i]![j]! - v));
      scale = Math.max(scale, Math.abs(v));
    })
  );
  return diff / scale;
}

function logitsOf(classifier: Parameters<typeof forward>[0], images: Float32Array, n: number) {
  return tf.tidy(() => {
    const x = tf.tensor4d(images, [n, ...classifier.inputShape]);
    return forward(classifier, x, false).logits.arraySync() as number[][];
  });
}

for (const [file, want] of Object.entries(expected)) {
  Deno.test(`imports ${file} with PyTorch's eval-mode logits`, async () => {
    const warnings: string[] = [];
    const path = new URL(file, FIXTURES).pathname;
    const t = await importPytorchTeacherFile(path, {
      arch: want.arch,
      dataset: want.dataset,
      warn: (m) => warnings.push(m),
    });
    try {
      const [h, w, c] = t.classifier.inputShape;
      const got = logitsOf(
        t.classifier,
        hashImages(want.logits.length, h, w, c),
        want.logits.length,
      );
      const err = relativeError(got, want.logits);
      assert.ok(err < 1e-4, `${file}: relative error ${err}`);
      if (file.includes("float64")) assert.match(warnings.join("\n"), /float64 tensors converted/);
      else if (file.includes("float16")) {
        assert.match(warnings.join("\n"), /float16 tensors converted/);
      } else assert.deepEqual(warnings, []);
      assert.equal(t.sha256.length, 64);
      assert.equal(
        t.format,
        file.endsWith(".safetensors")
          ? "safetensors"
          : file.includes("legacy")
          ? "torch-legacy"
          : "torch-zip",
      );
    } finally {
      t.classifier.model.dispose();
    }
  });
}

Deno.test("whole pickled modules are read through their _modules, with the release's class path", async () => {
  const path = new URL("lenet5_half_module_legacy.pth", FIXTURES).pathname;
  const t = await importPytorchTeacherFile(path, { arch: "lenet5-half", dataset: "mnist" });
  t.classifier.model.dispose();
  assert.match(t.container, /networks\.lenet\.LeNet5Half/);
});

for (const [arch, layout] of Object.entries(layouts)) {
  Deno.test(`${arch}: the release's keys and shapes map onto the zoo and give PyTorch's logits`, () => {
    const info = getDataset(layout.dataset);
    const classifier = buildClassifier(arch, {
      inputShape: info.imageShape,
      classes: info.classes,
      seed: 0,
    });
    try {
      loadStateDict(classifier, syntheticStateDict(layout.keys), {
        file: `${arch} (synthetic)`,
        dataset: layout.dataset,
        container: "a bare state dict",
      });
      const got = logitsOf(classifier, hashImages(2, 32, 32, 3, 11), 2);
      const err = relativeError(got, layout.logits);
      assert.ok(err < 1e-4, `${arch}: relative error ${err}`);
    } finally {
      classifier.model.dispose();
    }
  });
}

Deno.test("a converted checkpoint's hash is the SHA-256 of the file's bytes", async () => {
  const bytes = await Deno.readFile(new URL("lenet5_half.safetensors", FIXTURES));
  const t = convertPytorchCheckpoint(bytes, "x.safetensors", {
    arch: "lenet5-half",
    dataset: "mnist",
  });
  t.classifier.model.dispose();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  assert.equal(t.sha256, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
});

Deno.test("a LeNet-5-half trained in PyTorch on dfkd-bench's MNIST split scores what PyTorch measured", async () => {
  const trained: Record<
    string,
    { arch: string; dataset: string; testAccuracy: number; testSize: number }
  > = JSON.parse(await Deno.readTextFile(new URL("trained.json", FIXTURES)));
  for (const [file, want] of Object.entries(trained)) {
    const teacher = await importPytorchTeacher(new URL(file, FIXTURES).pathname, want);
    try {
      const data = await getDataset(want.dataset).load({ dataRoot: "/nonexistent" });
      assert.equal(data.test.size, want.testSize);
      const accuracy = await evaluateAccuracy(teacher, data.test, {
        imageShape: data.imageShape,
        normalisation: data.normalisation,
      });
      // PyTorch and TensorFlow.js may round one near-tied image differently, not more.
      assert.ok(
        Math.abs(accuracy - want.testAccuracy) * want.testSize <= 1,
        `${file}: ${accuracy} here, ${want.testAccuracy} in PyTorch`,
      );
      assert.ok(want.testAccuracy > 0.9, "the fixture is a trained teacher");
    } finally {
      teacher.model.dispose();
    }
  }
});

Deno.test("importing and disposing a teacher leaves no tensors behind, also when the import fails", async () => {
  const before = tf.memory().numTensors;
  const path = new URL("lenet5_half_container.pth", FIXTURES).pathname;
  const t = await importPytorchTeacherFile(path, { arch: "lenet5-half", dataset: "mnist" });
  t.classifier.model.dispose();
  await assert.rejects(importPytorchTeacherFile(path, { arch: "lenet5", dataset: "mnist" }));
  assert.equal(tf.memory().numTensors, before);
});
