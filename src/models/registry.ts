/**
 * The model zoo by name. Adding an architecture is one family file plus one
 * line here.
 *
 * @module
 */
import { DATASETS } from "../data/registry.ts";
import { UserError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import type { ArchitectureSpec } from "./architecture.ts";
import type { Classifier } from "./classifier.ts";
import { lenet5, lenet5Half } from "./lenet.ts";
import { mobilenetV2, mobilenetV2Cmi } from "./mobilenet_v2.ts";
import { resnet18, resnet34 } from "./resnet.ts";
import { vgg11 } from "./vgg.ts";
import { wrn16x1, wrn16x2, wrn40x1, wrn40x2 } from "./wide_resnet.ts";

/** Every architecture by registry name. */
export const ARCHITECTURES: Record<string, ArchitectureSpec> = {
  "lenet5": lenet5,
  "lenet5-half": lenet5Half,
  "resnet18": resnet18,
  "resnet34": resnet34,
  "wrn-16-1": wrn16x1,
  "wrn-16-2": wrn16x2,
  "wrn-40-1": wrn40x1,
  "wrn-40-2": wrn40x2,
  "vgg11": vgg11,
  "mobilenetv2": mobilenetV2,
  "mobilenetv2-cmi": mobilenetV2Cmi,
};

/**
 * The architecture registered as `name`, or a `UserError` listing the valid
 * names.
 *
 * @example
 * ```ts
 * import { getArchitecture } from "./registry.ts";
 * console.log(getArchitecture("resnet18").description);
 * ```
 */
export function getArchitecture(name: string): ArchitectureSpec {
  const spec = Object.hasOwn(ARCHITECTURES, name) ? ARCHITECTURES[name] : undefined;
  if (spec === undefined) {
    throw new UserError(
      `Unknown architecture ${JSON.stringify(name)}; valid names: ${
        Object.keys(ARCHITECTURES).join(", ")
      }`,
    );
  }
  return spec;
}

/**
 * Registry names of the datasets whose images `arch` can take (derived from
 * its `checkInput`, so no list is kept by hand).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetsFor } from "./registry.ts";
 * assert.deepEqual(datasetsFor("lenet5"), ["mnist"]);
 * assert.ok(datasetsFor("resnet18").includes("tiny-imagenet"));
 * ```
 */
export function datasetsFor(arch: string): string[] {
  const spec = getArchitecture(arch);
  return Object.values(DATASETS)
    .filter((d) => spec.checkInput(d.imageShape) === undefined)
    .map((d) => d.name);
}

/** Options of {@linkcode buildClassifier}. */
export interface BuildOptions {
  /** Input shape `[height, width, channels]`. */
  inputShape: readonly [number, number, number];
  /** Number of classes. */
  classes: number;
  /**
   * The initialisation seed: a number or string (a fresh `Rng`), or an `Rng`
   * to draw from (every initialiser takes `rng.seed()` in build order).
   */
  seed: number | string | Rng;
}

/**
 * Builds a freshly initialised classifier of architecture `arch`. The same
 * seed gives identical weights. An unknown name or an input shape the
 * architecture cannot take is a `UserError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "../backends/init_backend.ts";
 * import { buildClassifier } from "./registry.ts";
 * await initBackend("auto");
 * const c = buildClassifier("lenet5", { inputShape: [32, 32, 1], classes: 10, seed: 1 });
 * assert.equal(c.featureSize, 120);
 * c.model.dispose();
 * ```
 */
export function buildClassifier(arch: string, options: BuildOptions): Classifier {
  const spec = getArchitecture(arch);
  const { inputShape, classes } = options;
  if (
    inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw new UserError(
      `${arch}: input shape must be three positive whole numbers [height, width, channels], got ${
        JSON.stringify(inputShape)
      }`,
    );
  }
  if (!Number.isInteger(classes) || classes < 2) {
    throw new UserError(`${arch}: classes must be a whole number of at least 2, got ${classes}`);
  }
  const problem = spec.checkInput(inputShape);
  if (problem !== undefined) throw new UserError(`${arch}: ${problem}`);
  const rng = options.seed instanceof Rng ? options.seed : new Rng(options.seed);
  const { model, featureSize, randomSources } = spec.build({ inputShape, classes, rng });
  return {
    arch,
    inputShape: [...inputShape],
    classes,
    featureSize,
    model,
    ...(randomSources === undefined ? {} : { randomSources }),
  };
}
