/**
 * Maps a PyTorch state dict onto a zoo classifier. The zoo names every layer
 * after the PyTorch module path of the releases' definitions (`conv1`,
 * `layer2.0.shortcut.0`, `block1.layer.0.convShortcut`, `features.3.conv.1`),
 * so a layer's weights are `<name>.weight` / `.bias` (convolution, linear) or
 * `.weight`, `.bias`, `.running_mean`, `.running_var` (BatchNorm), laid out
 * OIHW -> HWIO, depthwise `[C, 1, kh, kw]` -> `[kh, kw, C, 1]`, linear
 * `[out, in]` -> `[in, out]`. An architecture may declare key aliases for
 * other releases' layouts (CMI's LeNet-5 `features.N` / `fc.N`).
 * `num_batches_tracked` is ignored.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../../util/errors.ts";
import type { Classifier } from "../classifier.ts";
import { ARCHITECTURES, buildClassifier } from "../registry.ts";
import { toFloat32, type TorchDtype, TorchTensor } from "./tensor.ts";

/** One zoo weight and the PyTorch key and shape it comes from. */
export interface WeightSlot {
  /** PyTorch state-dict key. */
  key: string;
  /** Shape the key must have in PyTorch's layout. */
  torchShape: number[];
  /** Permutation from PyTorch's layout to the zoo's. */
  perm: number[] | undefined;
  /** The zoo variable. */
  variable: tf.LayerVariable;
}

const BN_NAMES: Record<string, string> = {
  gamma: "weight",
  beta: "bias",
  moving_mean: "running_mean",
  moving_variance: "running_var",
};

/**
 * The PyTorch key, shape and permutation of every weight of `model`.
 *
 * @example
 * ```ts
 * import { initBackend } from "../../backends/init_backend.ts";
 * import { buildClassifier } from "../registry.ts";
 * import { weightSlots } from "./key_map.ts";
 * await initBackend("cpu");
 * const c = buildClassifier("lenet5", { inputShape: [32, 32, 1], classes: 10, seed: 1 });
 * console.log(weightSlots(c.model)[0]!.key, weightSlots(c.model)[0]!.torchShape); // conv1.weight [6, 1, 5, 5]
 * c.model.dispose();
 * ```
 */
export function weightSlots(model: tf.LayersModel): WeightSlot[] {
  const slots: WeightSlot[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    for (const variable of layer.weights) {
      const part = variable.originalName.split("/").pop() as string;
      const shape = variable.shape as number[];
      let key = `${layer.name}.${
        part === "kernel" || part === "depthwise_kernel" ? "weight" : part
      }`;
      let torchShape = shape;
      let perm: number[] | undefined;
      if (kind === "BatchNormalization") key = `${layer.name}.${BN_NAMES[part] ?? part}`;
      else if (part === "kernel" && kind === "Conv2D") {
        const [kh, kw, i, o] = shape as [number, number, number, number];
        [torchShape, perm] = [[o, i, kh, kw], [2, 3, 1, 0]];
      } else if (part === "depthwise_kernel") {
        const [kh, kw, c, m] = shape as [number, number, number, number];
        [torchShape, perm] = [[c * m, 1, kh, kw], [2, 3, 0, 1]];
      } else if (part === "kernel" && kind === "Dense") {
        const [i, o] = shape as [number, number];
        [torchShape, perm] = [[o, i], [1, 0]];
      }
      slots.push({ key, torchShape, perm, variable });
    }
  }
  return slots;
}

/** Applies an architecture's key aliases when the checkpoint uses the aliased layout. */
export function applyAliases(
  tensors: Map<string, TorchTensor>,
  aliases: readonly (readonly [string, string])[] | undefined,
): Map<string, TorchTensor> {
  if (aliases === undefined || aliases.length === 0) return tensors;
  const keys = [...tensors.keys()];
  if (!aliases.some(([from]) => keys.some((k) => k.startsWith(from)))) return tensors;
  return new Map([...tensors].map(([k, v]) => {
    const alias = aliases.find(([from]) => k.startsWith(from));
    return [alias === undefined ? k : alias[1] + k.slice(alias[0].length), v];
  }));
}

const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;

function fits(slots: WeightSlot[], tensors: Map<string, TorchTensor>): boolean {
  if (slots.length !== tensors.size) return false;
  return slots.every((s) => {
    const t = tensors.get(s.key);
    return t !== undefined && shapeText(t.shape) === shapeText(s.torchShape);
  });
}

/**
 * The other zoo architecture for `classes`-class `inputShape` images whose
 * keys and shapes all fit `tensors`, or undefined.
 */
export function suggestArchitecture(
  tensors: Map<string, TorchTensor>,
  inputShape: readonly [number, number, number],
  classes: number,
  exclude: string,
): string | undefined {
  for (const [name, spec] of Object.entries(ARCHITECTURES)) {
    if (name === exclude || spec.checkInput(inputShape) !== undefined) continue;
    const candidate = applyAliases(tensors, spec.pytorchKeyAliases);
    // A quick count check before building anything.
    const c = buildClassifier(name, { inputShape, classes, seed: 0 });
    try {
      if (fits(weightSlots(c.model), candidate)) return name;
    } finally {
      c.model.dispose();
    }
  }
  return undefined;
}

/** What {@linkcode loadStateDict} reports. */
export interface LoadReport {
  /** One line per dtype that was converted to float32 (e.g. float64, float16). */
  warnings: string[];
}

/**
 * Checks `tensors` against `classifier`'s weights (every key present, no
 * extra keys, every shape right, the class count the dataset's) and copies
 * them in. Every problem is a one-line `UserError` naming `file` and the key
 * (and, for a shape, both shapes and the architecture that fits when one does).
 */
export function loadStateDict(
  classifier: Classifier,
  stateDict: Map<string, TorchTensor>,
  context: { file: string; dataset: string; container: string },
): LoadReport {
  const { file } = context;
  const spec = ARCHITECTURES[classifier.arch];
  const tensors = new Map(
    [...applyAliases(stateDict, spec?.pytorchKeyAliases)].filter(([k]) =>
      !k.endsWith("num_batches_tracked")
    ),
  );
  const slots = weightSlots(classifier.model);
  const suggest = () => {
    const other = suggestArchitecture(
      tensors,
      classifier.inputShape,
      classifier.classes,
      classifier.arch,
    );
    return other === undefined ? "" : `; the checkpoint fits --arch ${other}`;
  };
  checkClassCount(classifier, tensors, context);
  for (const slot of slots) {
    const t = tensors.get(slot.key);
    if (t === undefined) {
      const missing = slots.filter((s) => !tensors.has(s.key)).length;
      throw new UserError(
        `${file}: key ${slot.key} of ${classifier.arch} is missing from the state dict (${context.container}; ${missing} of ${slots.length} keys missing)${suggest()}`,
        2,
      );
    }
    if (shapeText(t.shape) !== shapeText(slot.torchShape)) {
      throw new UserError(
        `${file}: key ${slot.key} has shape ${
          shapeText(t.shape)
        } in the checkpoint but ${classifier.arch} needs ${shapeText(slot.torchShape)}${suggest()}`,
        2,
      );
    }
  }
  const known = new Set(slots.map((s) => s.key));
  const extra = [...tensors.keys()].filter((k) => !known.has(k));
  if (extra.length > 0) {
    throw new UserError(
      `${file}: key ${
        extra[0]
      } in the checkpoint is not part of ${classifier.arch} (${extra.length} such keys)${suggest()}`,
      2,
    );
  }
  return { warnings: assign(slots, tensors, file) };
}

function checkClassCount(
  classifier: Classifier,
  tensors: Map<string, TorchTensor>,
  context: { file: string; dataset: string },
): void {
  const head = classifier.model.outputs[0]!.sourceLayer;
  const key = `${head.name}.weight`;
  const t = tensors.get(key);
  const width = (head.weights[0]?.shape[0] ?? 0) as number;
  if (
    t !== undefined && t.shape.length === 2 && t.shape[1] === width &&
    t.shape[0] !== classifier.classes
  ) {
    throw new UserError(
      `${context.file}: the checkpoint predicts ${t.shape[0]} classes (${key} is ${
        shapeText(t.shape)
      }) but ${context.dataset} has ${classifier.classes}`,
      2,
    );
  }
}

const FLOAT: readonly TorchDtype[] = ["float32", "float64", "float16", "bfloat16"];

function assign(slots: WeightSlot[], tensors: Map<string, TorchTensor>, file: string): string[] {
  const converted = new Map<TorchDtype, number>();
  for (const slot of slots) {
    const t = tensors.get(slot.key)!;
    if (!FLOAT.includes(t.dtype)) {
      throw new UserError(
        `${file}: key ${slot.key} holds ${t.dtype} values; a weight must be floating point`,
        2,
      );
    }
    if (t.dtype !== "float32") converted.set(t.dtype, (converted.get(t.dtype) ?? 0) + 1);
    let values: Float32Array;
    try {
      values = toFloat32(t);
    } catch (error) {
      throw new UserError(
        `${file}: key ${slot.key}: ${(error as Error).message} (damaged or truncated file?)`,
        2,
      );
    }
    tf.tidy(() => {
      const torchOrder = tf.tensor(values, slot.torchShape);
      slot.variable.write(
        slot.perm === undefined ? torchOrder : tf.transpose(torchOrder, slot.perm),
      );
    });
  }
  return [...converted].map(([dtype, n]) =>
    `${file}: ${n} ${dtype} tensor${n === 1 ? "" : "s"} converted to float32${
      dtype === "float64" ? " (precision beyond float32 is lost)" : ""
    }`
  );
}
