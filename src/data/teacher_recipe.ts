/**
 * What a teacher training recipe is. Datasets and architectures declare
 * their default recipe (`teacherRecipe` of their specs); the teacher module
 * (`src/models/teacher/recipe.ts`) merges a benchmark file's overrides into
 * it and checks them.
 *
 * @module
 */
import type { LrSchedule } from "../util/lr_schedule.ts";
import type { OptimizerSpec } from "../util/optim.ts";
import type { AugmentOptions } from "./batches.ts";

/** How a teacher is trained. Everything here is part of the teacher's hash. */
export interface TeacherRecipe {
  /** Passes over the training split. */
  epochs: number;
  /** Images per step (the last, smaller batch of an epoch is kept, as PyTorch's DataLoader). */
  batchSize: number;
  /** Optimiser and its settings (PyTorch semantics). */
  optimizer: OptimizerSpec;
  /** Learning-rate schedule, stepped once per epoch. */
  schedule: LrSchedule;
  /** Training augmentation (`{}` for none). */
  augment: AugmentOptions;
  /** Seed of initialisation, shuffling and augmentation. */
  seed: number;
}

/** Where a default recipe comes from (shown by `teacher train --help` and the README). */
export interface RecipeSource {
  /** The recipe. */
  recipe: TeacherRecipe;
  /** The public code it follows, and what was adapted. */
  source: string;
}
