/**
 * The default teacher recipes of the CIFAR datasets (which declare none of
 * their own), by architecture family; each family file sets its specs'
 * `teacherRecipe` to one of these.
 *
 * - CIFAR ResNets (DAFL `teacher-train.py`, used by PRE-DFKD): SGD lr 0.1,
 *   momentum 0.9, weight decay 5e-4, batch 128, 200 epochs, x0.1 at epochs
 *   80 and 120, random crop 32 (padding 4) and flip.
 * - CIFAR WRN / VGG / MobileNetV2 (CMI / DataFree `train_scratch.py`): SGD lr
 *   0.1, momentum 0.9, weight decay 1e-4, batch 256, 200 epochs, x0.1 at 120,
 *   150, 180, same augmentation.
 *
 * (MNIST's and Tiny-ImageNet's recipes are declared by their dataset specs.)
 *
 * @module
 */
import type { RecipeSource } from "../data/teacher_recipe.ts";

const CIFAR_AUGMENT = { crop: { size: 32, padding: 4 }, flip: true };

/** DAFL's CIFAR ResNet-34 teacher recipe. */
export const DAFL_CIFAR_RESNET_RECIPE: RecipeSource = {
  recipe: {
    epochs: 200,
    batchSize: 128,
    optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
    schedule: { type: "step", milestones: [80, 120], gamma: 0.1 },
    augment: CIFAR_AUGMENT,
    seed: 0,
  },
  source: "DAFL teacher-train.py (CIFAR ResNet-34): SGD 0.1/0.9/5e-4, batch 128, x0.1 at 80, 120",
};

/** CMI / DataFree's `train_scratch.py` recipe (WRN, VGG, MobileNetV2). */
export const CMI_CIFAR_RECIPE: RecipeSource = {
  recipe: {
    epochs: 200,
    batchSize: 256,
    optimizer: { name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
    schedule: { type: "step", milestones: [120, 150, 180], gamma: 0.1 },
    augment: CIFAR_AUGMENT,
    seed: 0,
  },
  source: "CMI / DataFree train_scratch.py: SGD 0.1/0.9/1e-4, batch 256, x0.1 at 120, 150, 180",
};
