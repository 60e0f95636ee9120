/**
 * The shape of a model-zoo entry: what an architecture is called, which
 * inputs it fits, its default teacher recipe, and how it builds its layers
 * model.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { RecipeSource } from "../data/teacher_recipe.ts";
import type { Rng } from "../util/rng.ts";

/** What a family file's builder receives. */
export interface BuildContext {
  /** Input shape `[height, width, channels]` (already checked by `checkInput`). */
  inputShape: readonly [number, number, number];
  /** Number of classes. */
  classes: number;
  /** The generator every initialiser draws its seed from, in build order. */
  rng: Rng;
}

/** What a family file's builder returns. */
export interface BuiltModel {
  /** Inputs NHWC images; outputs `[logits, features]`. */
  model: tf.LayersModel;
  /** Size of the feature vector (the second output). */
  featureSize: number;
  /** Generators the training-mode forward pass draws from (see `Classifier.randomSources`). */
  randomSources?: readonly Rng[];
}

/**
 * A model-zoo architecture. Adding one is one family file exporting specs
 * plus one line in `registry.ts`. The datasets it fits are derived from
 * `checkInput` (`datasetsFor` in `registry.ts`).
 *
 * @example
 * ```ts
 * import type { ArchitectureSpec } from "./architecture.ts";
 * declare const spec: ArchitectureSpec;
 * console.log(spec.name, spec.checkInput([32, 32, 3]));
 * ```
 */
export interface ArchitectureSpec {
  /** Registry name (e.g. `resnet18`). */
  name: string;
  /** One line: what it is and where the definition comes from. */
  description: string;
  /**
   * The default teacher recipe on datasets that declare none of their own
   * (`DatasetSpec.teacherRecipe`: the CIFAR ones); absent when the family has
   * none (training it as a teacher there is then an explicit error).
   */
  teacherRecipe?: RecipeSource;
  /**
   * The source files that define the architecture (its family file and the
   * shared layers), whose text is part of a cached teacher's hash.
   */
  sources: readonly URL[];
  /**
   * Other releases' PyTorch key layouts for this architecture, as prefix
   * renames `[theirs, ours]` (the zoo's own layer names are the reference
   * release's module paths), used when importing a PyTorch checkpoint.
   */
  pytorchKeyAliases?: readonly (readonly [string, string])[];
  /** Why `inputShape` does not fit (e.g. LeNet-5 needs 32x32x1), or undefined when it does. */
  checkInput(inputShape: readonly [number, number, number]): string | undefined;
  /** Builds the layers model. */
  build(context: BuildContext): BuiltModel;
}

/** The source URL of the shared layers file, part of every architecture's `sources`. */
export const LAYERS_SOURCE: URL = new URL("./layers.ts", import.meta.url);
