/**
 * MobileNetV2 as in the PRE-DFKD release (`networks/mobilenet.py`, torchvision's
 * definition with a stride-1 stem for 32x32 input): a 3x3 stem with 32
 * channels, seventeen inverted-residual blocks (expansion t, width c, repeats
 * n, first stride s: [1,16,1,1], [6,24,2,2], [6,32,3,2], [6,64,4,2],
 * [6,96,3,1], [6,160,3,2], [6,320,1,1]) with ReLU6, a 1x1 convolution to
 * 1280 channels, global average pooling, dropout 0.2 and one linear layer.
 * Initialisation as the reference: convolutions kaiming normal (fan out),
 * BatchNorm 1/0, linear normal(0, 0.01) with zero bias. The feature is the
 * pooled 1280-d vector (before dropout). `mobilenetv2-cmi` is CMI's (torchvision's)
 * definition: the same with a stride-2 stem.
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

function buildMobileNetV2(ctx: BuildContext, stemStride: 1 | 2) {
  const { inputShape, classes, rng } = ctx;
  const input = tf.input({ shape: [...inputShape], name: "input" });
  let x = convBnRelu(
    input,
    { name: "features.0", filters: 32, kernel: 3, stride: stemStride },
    rng,
  );
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

function inputCheck(multiple: number, stages: string) {
  return (shape: readonly number[]) => {
    const [h, w] = shape as [number, number];
    return h >= multiple && w >= multiple && h % multiple === 0 && w % multiple === 0
      ? undefined
      : `MobileNetV2 needs height and width that are multiples of ${multiple} (${stages}), got [${
        shape.join(", ")
      }]`;
  };
}

const SOURCES = [
  new URL(import.meta.url),
  LAYERS_SOURCE,
  new URL("./seeded_dropout.ts", import.meta.url),
];

/** MobileNetV2 (2,236,682 parameters for CIFAR-10). */
export const mobilenetV2: ArchitectureSpec = {
  name: "mobilenetv2",
  description: "MobileNetV2 with a stride-1 stem for 32x32 input (PRE-DFKD mobilenet.py)",
  teacherRecipe: CMI_CIFAR_RECIPE,
  sources: SOURCES,
  checkInput: inputCheck(16, "four stride-2 stages"),
  build: (ctx) => buildMobileNetV2(ctx, 1),
};

/**
 * MobileNetV2 as CMI's release defines it (`datafree/models/classifiers/mobilenetv2.py`,
 * torchvision's definition unchanged): the same network with a stride-2 stem,
 * so a 32x32 image reaches the last stage at 1x1. Same keys and shapes as
 * {@linkcode mobilenetV2}: CMI's MobileNetV2 checkpoints load as this one.
 */
export const mobilenetV2Cmi: ArchitectureSpec = {
  name: "mobilenetv2-cmi",
  description: "MobileNetV2 with torchvision's stride-2 stem (CMI mobilenetv2.py)",
  teacherRecipe: CMI_CIFAR_RECIPE,
  sources: SOURCES,
  checkInput: inputCheck(32, "a stride-2 stem and four stride-2 stages"),
  build: (ctx) => buildMobileNetV2(ctx, 2),
};
