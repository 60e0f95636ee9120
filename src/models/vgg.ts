/**
 * VGG-11 with batch normalisation in the CIFAR form of CMI / DataFree
 * (`vgg.py`, configuration "A", from RepDistiller): five blocks of 3x3
 * convolutions with bias, each followed by BatchNorm and ReLU ([64], [128],
 * [256, 256], [512, 512], [512, 512]), 2x2 max pools after the first three
 * blocks (and after the fourth only for 64x64 input, as the reference does),
 * global average pooling and one linear layer. Initialisation as the
 * reference: convolutions normal(0, sqrt(2 / (k^2 * out))) with zero bias,
 * the linear layer normal(0, 0.01) with zero bias. The feature is the pooled
 * 512-d vector.
 *
 * @module
 */
import { CMI_CIFAR_RECIPE } from "./cifar_recipes.ts";
import * as tf from "@tensorflow/tfjs";
import { type ArchitectureSpec, type BuildContext, LAYERS_SOURCE } from "./architecture.ts";
import { batchNorm, conv2d, globalAvgPool, linear, maxPool2, relu, type Sym } from "./layers.ts";

const CONFIG_A = [[64], [128], [256, 256], [512, 512], [512, 512]] as const;

function buildVgg(config: readonly (readonly number[])[], name: string, ctx: BuildContext) {
  const { inputShape, classes, rng } = ctx;
  const input = tf.input({ shape: [...inputShape], name: "input" });
  let x: Sym = input;
  config.forEach((widths, b) => {
    widths.forEach((filters, i) => {
      x = conv2d(x, {
        name: `block${b}.${3 * i}`,
        filters,
        kernel: 3,
        padding: 1,
        init: "kaiming-fan-out",
      }, rng);
      x = relu(batchNorm(x, `block${b}.${3 * i + 1}`), `block${b}.${3 * i + 2}`);
    });
    if (b < 3 || (b === 3 && inputShape[0] === 64)) x = maxPool2(x, `pool${b}`);
  });
  const features = globalAvgPool(x, "pool4");
  const logits = linear(
    features,
    { name: "classifier", units: classes, init: { normalStd: 0.01 } },
    rng,
  );
  return {
    model: tf.model({ inputs: input, outputs: [logits, features], name }),
    featureSize: 512,
  };
}

/** VGG-11 with BatchNorm (9,231,114 parameters for CIFAR-10). */
export const vgg11: ArchitectureSpec = {
  name: "vgg11",
  description: "VGG-11 with BatchNorm, CIFAR form (CMI / DataFree vgg.py vgg11_bn)",
  teacherRecipe: CMI_CIFAR_RECIPE,
  sources: [new URL(import.meta.url), LAYERS_SOURCE],
  checkInput(shape) {
    const [h, w] = shape;
    return h >= 8 && w >= 8 && h % 8 === 0 && w % 8 === 0
      ? undefined
      : `VGG-11 needs height and width that are multiples of 8 (three 2x2 max pools), got [${
        shape.join(", ")
      }]`;
  },
  build: (ctx) => buildVgg(CONFIG_A, "vgg11", ctx),
};
