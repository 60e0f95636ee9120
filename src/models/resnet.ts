/**
 * The CIFAR ResNets of DAFL and PRE-DFKD (the release's `networks/resnet.py`):
 * a 3x3 stride-1 stem without max pool, four stages of basic blocks (64, 128,
 * 256, 512 channels; stride 2 from the second), convolutions without bias,
 * 1x1 projection shortcuts where the shape changes, average pooling and one
 * linear layer, PyTorch's default initialisation. The release pools with
 * `avg_pool2d(out, 4)`, which on 32x32 input is global pooling; here it is
 * global pooling at any size, so the same networks run Tiny-ImageNet's 64x64
 * images. The feature is the pooled 512-d vector.
 *
 * @module
 */
import { DAFL_CIFAR_RESNET_RECIPE } from "./cifar_recipes.ts";
import * as tf from "@tensorflow/tfjs";
import { type ArchitectureSpec, type BuildContext, LAYERS_SOURCE } from "./architecture.ts";
import { add, batchNorm, conv2d, globalAvgPool, linear, relu, type Sym } from "./layers.ts";

function basicBlock(x: Sym, planes: number, stride: number, name: string, ctx: BuildContext): Sym {
  const { rng } = ctx;
  const inPlanes = x.shape[3] as number;
  const init = "torch-default";
  let out = conv2d(x, {
    name: `${name}.conv1`,
    filters: planes,
    kernel: 3,
    stride,
    padding: 1,
    bias: false,
    init,
  }, rng);
  out = relu(batchNorm(out, `${name}.bn1`), `${name}.relu1`);
  out = conv2d(out, {
    name: `${name}.conv2`,
    filters: planes,
    kernel: 3,
    padding: 1,
    bias: false,
    init,
  }, rng);
  out = batchNorm(out, `${name}.bn2`);
  let shortcut = x;
  if (stride !== 1 || inPlanes !== planes) {
    shortcut = conv2d(x, {
      name: `${name}.shortcut.0`,
      filters: planes,
      kernel: 1,
      stride,
      bias: false,
      init,
    }, rng);
    shortcut = batchNorm(shortcut, `${name}.shortcut.1`);
  }
  return relu(add(out, shortcut, `${name}.add`), `${name}.relu2`);
}

function buildResNet(blocks: readonly number[], name: string, ctx: BuildContext) {
  const { inputShape, classes, rng } = ctx;
  const input = tf.input({ shape: [...inputShape], name: "input" });
  let x = conv2d(input, {
    name: "conv1",
    filters: 64,
    kernel: 3,
    padding: 1,
    bias: false,
    init: "torch-default",
  }, rng);
  x = relu(batchNorm(x, "bn1"), "relu");
  const planes = [64, 128, 256, 512];
  blocks.forEach((n, stage) => {
    for (let i = 0; i < n; i++) {
      const stride = stage > 0 && i === 0 ? 2 : 1;
      x = basicBlock(x, planes[stage] as number, stride, `layer${stage + 1}.${i}`, ctx);
    }
  });
  const features = globalAvgPool(x, "avgpool");
  const logits = linear(features, { name: "linear", units: classes, init: "torch-default" }, rng);
  return {
    model: tf.model({ inputs: input, outputs: [logits, features], name }),
    featureSize: 512,
  };
}

function checkResNetInput(shape: readonly [number, number, number]): string | undefined {
  const [h, w] = shape;
  return h >= 8 && w >= 8 && h % 8 === 0 && w % 8 === 0
    ? undefined
    : `the CIFAR ResNet needs height and width that are multiples of 8 (three stride-2 stages), got [${
      shape.join(", ")
    }]`;
}

const SOURCES = [new URL(import.meta.url), LAYERS_SOURCE];

/** ResNet-18 (11,173,962 parameters for CIFAR-10): the CIFAR student of DAFL and PRE-DFKD. */
export const resnet18: ArchitectureSpec = {
  name: "resnet18",
  description:
    "CIFAR ResNet-18: 3x3 stem, no max pool, [2,2,2,2] basic blocks (PRE-DFKD resnet.py)",
  teacherRecipe: DAFL_CIFAR_RESNET_RECIPE,
  sources: SOURCES,
  checkInput: checkResNetInput,
  build: (ctx) => buildResNet([2, 2, 2, 2], "resnet18", ctx),
};

/** ResNet-34 (21,282,122 parameters for CIFAR-10): the CIFAR teacher of DAFL and PRE-DFKD. */
export const resnet34: ArchitectureSpec = {
  name: "resnet34",
  description:
    "CIFAR ResNet-34: 3x3 stem, no max pool, [3,4,6,3] basic blocks (PRE-DFKD resnet.py)",
  teacherRecipe: DAFL_CIFAR_RESNET_RECIPE,
  sources: SOURCES,
  checkInput: checkResNetInput,
  build: (ctx) => buildResNet([3, 4, 6, 3], "resnet34", ctx),
};
