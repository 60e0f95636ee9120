/**
 * LeNet-5 and LeNet-5-half as used by DAFL and PRE-DFKD for MNIST (the
 * release's `networks/lenet.py`): three 5x5 convolutions (the third, with 120
 * or 60 channels, reduces the 32x32 input to 1x1), two 2x2 max pools, two
 * linear layers, PyTorch's default initialisation. The feature is the
 * 120-d (60-d) output of the third convolution after its ReLU, as the
 * release's `out_feature` returns.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type ArchitectureSpec, type BuildContext, LAYERS_SOURCE } from "./architecture.ts";
import { conv2d, linear, maxPool2, relu, type Sym } from "./layers.ts";

interface LeNetWidths {
  conv: readonly [number, number, number];
  hidden: number;
}

function buildLeNet(widths: LeNetWidths, name: string, { inputShape, classes, rng }: BuildContext) {
  const input = tf.input({ shape: [...inputShape], name: "input" });
  const [c1, c2, c3] = widths.conv;
  const init = "torch-default";
  let x: Sym = conv2d(input, { name: "conv1", filters: c1, kernel: 5, init }, rng);
  x = maxPool2(relu(x, "relu1"), "maxpool1");
  x = conv2d(x, { name: "conv2", filters: c2, kernel: 5, init }, rng);
  x = maxPool2(relu(x, "relu2"), "maxpool2");
  x = relu(conv2d(x, { name: "conv3", filters: c3, kernel: 5, init }, rng), "relu3");
  const features = tf.layers.flatten({ name: "features" }).apply(x) as Sym;
  const hidden = relu(linear(features, { name: "fc1", units: widths.hidden, init }, rng), "relu4");
  const logits = linear(hidden, { name: "fc2", units: classes, init }, rng);
  return { model: tf.model({ inputs: input, outputs: [logits, features], name }), featureSize: c3 };
}

function checkLeNetInput(shape: readonly [number, number, number]): string | undefined {
  return shape[0] === 32 && shape[1] === 32 && shape[2] === 1
    ? undefined
    : `LeNet-5 takes 32x32 greyscale input ([32, 32, 1]), got [${shape.join(", ")}]`;
}

const SOURCES = [new URL(import.meta.url), LAYERS_SOURCE];

/** CMI / DataFree's `lenet.py` keeps the same layers in `features` and `fc` sequentials. */
const CMI_KEYS = [
  ["features.0.", "conv1."],
  ["features.3.", "conv2."],
  ["features.6.", "conv3."],
  ["fc.0.", "fc1."],
  ["fc.2.", "fc2."],
] as const;

/** LeNet-5 (61,706 parameters for 10 classes): the MNIST teacher of DAFL and PRE-DFKD. */
export const lenet5: ArchitectureSpec = {
  name: "lenet5",
  description: "LeNet-5 with a 120-channel 5x5 third conv (DAFL / PRE-DFKD lenet.py)",
  sources: SOURCES,
  checkInput: checkLeNetInput,
  pytorchKeyAliases: CMI_KEYS,
  build: (ctx) => buildLeNet({ conv: [6, 16, 120], hidden: 84 }, "lenet5", ctx),
};

/** LeNet-5-half (15,738 parameters for 10 classes): the MNIST student. */
export const lenet5Half: ArchitectureSpec = {
  name: "lenet5-half",
  description: "LeNet-5 at half width: 3/8/60 channels, 42 hidden (DAFL / PRE-DFKD lenet.py)",
  sources: SOURCES,
  checkInput: checkLeNetInput,
  pytorchKeyAliases: CMI_KEYS,
  build: (ctx) => buildLeNet({ conv: [3, 8, 60], hidden: 42 }, "lenet5-half", ctx),
};
