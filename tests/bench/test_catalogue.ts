/**
 * A small catalogue for schema tests, independent of the real registries.
 *
 * @module
 */
import type { Catalogue } from "../../src/bench/spec.ts";

/** Three methods with number, string and boolean hyperparameters. */
export const TEST_CATALOGUE: Catalogue = {
  datasets: {
    mnist: { classes: 10, imageShape: [32, 32, 1] },
    cifar10: { classes: 10, imageShape: [32, 32, 3] },
  },
  architectures: ["lenet5", "lenet5-half", "resnet18", "resnet34"],
  architectureProblem: (arch, shape) =>
    arch.startsWith("lenet") && shape[2] !== 1 ? "takes 1 channel" : undefined,
  recipeProblem: (_arch, _dataset, recipe) =>
    recipe.epochs !== undefined && !(Number.isInteger(recipe.epochs) && Number(recipe.epochs) >= 1)
      ? `recipe.epochs: must be a whole number of at least 1 (got ${JSON.stringify(recipe.epochs)})`
      : undefined,
  methods: {
    "pre-dfkd": {
      description: "PRE-DFKD.",
      hyperparameters: {
        generatorLr: { default: 0.02, description: "Generator learning rate" },
        studentOptimizer: { default: "sgd", description: "Student optimiser" },
        selfReplay: { default: true, description: "VAE self-replay" },
      },
    },
    "no-replay": {
      description: "No replay.",
      hyperparameters: {
        generatorLr: { default: 0.02, description: "Generator learning rate" },
        studentOptimizer: { default: "sgd", description: "Student optimiser" },
      },
    },
    "memory-bank": {
      description: "Memory bank.",
      hyperparameters: {
        generatorLr: { default: 0.02, description: "Generator learning rate" },
        capacity: { default: 10, description: "Stored batches" },
      },
    },
  },
};

/** A minimal valid file. */
export function minimalFile(): Record<string, unknown> {
  return {
    name: "mini",
    dataset: "mnist",
    pairs: [{ teacher: { arch: "lenet5" }, student: "lenet5-half" }],
  };
}
