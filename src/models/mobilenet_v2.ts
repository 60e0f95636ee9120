/**
 * MobileNetV2 as in the PRE-DFKD release (`networks/mobilenet.py`, torchvision's
 * definition with a stride-1 stem for 32x32 input): a 3x3 stem with 32
 * channels, seventeen inverted-residual blocks (expansion t, width c, repeats
 * n, first stride s: [1,16,1,1], [6,24,2,2], [6,32,3,2], [6,64,4,2],
 * [6,96,3,1], [6,160,3,2], [6,320,1,1]) with ReLU6, a 1x1 convolution to
 * 1280 channels, global average pooling, dropout 0.2 and one linear layer.
 * Initialisation as the reference: convolutions kaiming normal (fan out),
 * BatchNorm 1/0, linear normal(0, 0.01) with zero bias. The feature is the
 * pooled 1280-d vector (before dropout).
 *
 * @module
 */
import { CMI_CIFAR_RECIPE } from "./cifar_recipes.ts";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.ts";
import { type ArchitectureSpec, type BuildContext, LAYERS_SOURCE } from "./architecture.ts";
import { add, batchNorm, conv2d, globalAvgPool, linear, relu, type Sym } from "./layers.ts";
import { seededDropout } from "./seeded_dropout.ts";

const SETTINGS = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

function convBnRelu(
  x: Sym,
  o: { name: string; filters: number; kernel: number; stride?: number; depthwise?: boolean },
  rng: Rng,
): Sym {
  const y = conv2d(x, {
    name: `${o.name}.0`,
    filters: o.filters,
    kernel: o.kernel,
    stride: o.stride ?? 1,
    padding: (o.kernel - 1) / 2,
    bias: false,
    depthwise: o.depthwise ?? false,
    init: "kaiming-fan-out",
  }, rng);
  return relu(batchNorm(y, `${o.name}.1`), `${o.name}.2`, 6);
}

function invertedResidual(x: Sym, out: number, stride: number, t: number, name: string, rng: Rng) {
  const inp = x.shape[3] as number;
  const hidden = Math.round(inp * t);
  let y = x;
  let i = 0;
  if (t !== 1) y = convBnRelu(y, { name: `${name}.conv.${i++}`, filters: hidden, kernel: 1 }, rng);
  y = convBnRelu(y, {
    name: `${name}.conv.${i++}`,
    filters: hidden,
    kernel: 3,
    stride,
    depthwise: true,
  }, rng);
  y = conv2d(y, {
    name: `${name}.conv.${i++}`,
    filters: out,
    kernel: 1,
    bias: false,
    init: "kaiming-fan-out",
  }, rng);
  y = batchNorm(y, `${name}.conv.${i}`);
  return stride === 1 && inp === out ? add(x, y, `${name}.add`) : y;
}

function buildMobileNetV2(ctx: BuildContext) {
  const { inputShape, classes, rng } = ctx;
  const input = tf.input({ shape: [...inputShape], name: "input" });
  let x = convBnRelu(input, { name: "features.0", filters: 32, kernel: 3 }, rng);
  let index = 1;
  for (const [t, c, n, s] of SETTINGS) {
    // With width multiplier 1 every width is already a multiple of 8 (_make_divisible is identity).
    for (let i = 0; i < n; i++) {
      x = invertedResidual(x, c, i === 0 ? s : 1, t, `features.${index++}`, rng);
    }
  }
  x = convBnRelu(x, { name: `features.${index}`, filters: 1280, kernel: 1 }, rng);
  const features = globalAvgPool(x, "avgpool");
  const dropoutRng = rng.fork("dropout");
  const dropped = seededDropout(features, { name: "classifier.0", rate: 0.2 }, dropoutRng);
  const logits = linear(dropped, {
    name: "classifier.1",
    units: classes,
    init: { normalStd: 0.01 },
  }, rng);
  return {
    model: tf.model({ inputs: input, outputs: [logits, features], name: "mobilenetv2" }),
    featureSize: 1280,
    randomSources: [dropoutRng],
  };
}

/** MobileNetV2 (2,236,682 parameters for CIFAR-10). */
export const mobilenetV2: ArchitectureSpec = {
  name: "mobilenetv2",
  description: "MobileNetV2 with a stride-1 stem for 32x32 input (PRE-DFKD mobilenet.py)",
  teacherRecipe: CMI_CIFAR_RECIPE,
  sources: [
    new URL(import.meta.url),
    LAYERS_SOURCE,
    new URL("./seeded_dropout.ts", import.meta.url),
  ],
  checkInput(shape) {
    const [h, w] = shape;
    return h >= 16 && w >= 16 && h % 16 === 0 && w % 16 === 0
      ? undefined
      : `MobileNetV2 needs height and width that are multiples of 16 (four stride-2 stages), got [${
        shape.join(", ")
      }]`;
  },
  build: buildMobileNetV2,
};
