/**
 * Wide ResNets (Zagoruyko and Komodakis) as used by ZSKT and CMI / DataFree
 * (`wresnet.py`): a 3x3 stem with 16 channels, three groups of n = (depth -
 * 4) / 6 pre-activation basic blocks (16k, 32k, 64k channels; stride 2 from
 * the second group), a final BatchNorm + ReLU, global average pooling and a
 * linear layer. Where a block changes width, the shortcut is a 1x1
 * convolution of the block's pre-activated input, as in the reference.
 * Initialisation as the reference: convolutions normal(0, sqrt(2 / (k^2 *
 * out))), BatchNorm 1/0, linear weight PyTorch's default with zero bias. No
 * dropout (the references' default rate 0). The feature is the pooled 64k-d
 * vector.
 *
 * @module
 */
import { CMI_CIFAR_RECIPE } from "./cifar_recipes.ts";
import * as tf from "@tensorflow/tfjs";
import { type ArchitectureSpec, type BuildContext, LAYERS_SOURCE } from "./architecture.ts";
import { add, batchNorm, conv2d, globalAvgPool, linear, relu, type Sym } from "./layers.ts";

function wideBlock(x: Sym, outPlanes: number, stride: number, name: string, ctx: BuildContext) {
  const { rng } = ctx;
  const equalInOut = (x.shape[3] as number) === outPlanes;
  const init = "kaiming-fan-out";
  const activated = relu(batchNorm(x, `${name}.bn1`), `${name}.relu1`);
  let out = conv2d(activated, {
    name: `${name}.conv1`,
    filters: outPlanes,
    kernel: 3,
    stride,
    padding: 1,
    bias: false,
    init,
  }, rng);
  out = relu(batchNorm(out, `${name}.bn2`), `${name}.relu2`);
  out = conv2d(out, {
    name: `${name}.conv2`,
    filters: outPlanes,
    kernel: 3,
    padding: 1,
    bias: false,
    init,
  }, rng);
  const shortcut = equalInOut ? x : conv2d(activated, {
    name: `${name}.convShortcut`,
    filters: outPlanes,
    kernel: 1,
    stride,
    bias: false,
    init,
  }, rng);
  return add(shortcut, out, `${name}.add`);
}

function buildWideResNet(depth: number, widen: number, name: string, ctx: BuildContext) {
  const { inputShape, classes, rng } = ctx;
  const n = (depth - 4) / 6;
  const channels = [16 * widen, 32 * widen, 64 * widen];
  const input = tf.input({ shape: [...inputShape], name: "input" });
  let x = conv2d(input, {
    name: "conv1",
    filters: 16,
    kernel: 3,
    padding: 1,
    bias: false,
    init: "kaiming-fan-out",
  }, rng);
  channels.forEach((planes, group) => {
    for (let i = 0; i < n; i++) {
      const stride = group > 0 && i === 0 ? 2 : 1;
      x = wideBlock(x, planes, stride, `block${group + 1}.layer.${i}`, ctx);
    }
  });
  x = relu(batchNorm(x, "bn1"), "relu");
  const features = globalAvgPool(x, "avgpool");
  const logits = linear(
    features,
    { name: "fc", units: classes, init: "torch-default-zero-bias" },
    rng,
  );
  const featureSize = channels[2] as number;
  return { model: tf.model({ inputs: input, outputs: [logits, features], name }), featureSize };
}

function checkWrnInput(shape: readonly [number, number, number]): string | undefined {
  const [h, w] = shape;
  return h >= 4 && w >= 4 && h % 4 === 0 && w % 4 === 0
    ? undefined
    : `the wide ResNet needs height and width that are multiples of 4 (two stride-2 groups), got [${
      shape.join(", ")
    }]`;
}

function wrn(depth: number, widen: number): ArchitectureSpec {
  const name = `wrn-${depth}-${widen}`;
  return {
    name,
    description:
      `WRN-${depth}-${widen}: pre-activation wide ResNet, 1x1 projection shortcuts (ZSKT / CMI wresnet.py)`,
    teacherRecipe: CMI_CIFAR_RECIPE,
    sources: [new URL(import.meta.url), LAYERS_SOURCE],
    checkInput: checkWrnInput,
    build: (ctx) => buildWideResNet(depth, widen, name, ctx),
  };
}

/** WRN-16-1 (175,066 parameters for CIFAR-10). */
export const wrn16x1: ArchitectureSpec = wrn(16, 1);
/** WRN-16-2 (691,674 parameters for CIFAR-10). */
export const wrn16x2: ArchitectureSpec = wrn(16, 2);
/** WRN-40-1 (563,930 parameters for CIFAR-10). */
export const wrn40x1: ArchitectureSpec = wrn(40, 1);
/** WRN-40-2 (2,243,546 parameters for CIFAR-10): the CMI / ZSKT teacher. */
export const wrn40x2: ArchitectureSpec = wrn(40, 2);
