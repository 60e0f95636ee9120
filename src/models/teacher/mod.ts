/**
 * Teachers: declarations with public-recipe defaults, training, the hashed
 * cache, and bring-your-own loading.
 *
 * @example
 * ```ts
 * import { declareTeacher, obtainTeacher } from "./mod.ts";
 * import { lineLogger } from "../../util/logger.ts";
 * const t = await obtainTeacher(declareTeacher("lenet5", "mnist"), { dataRoot: "/tmp", log: lineLogger() });
 * t.classifier.model.dispose();
 * ```
 *
 * @module
 */
export {
  declareTeacher,
  defaultRecipe,
  recipeProblem,
  type RecipeSource,
  type TeacherDeclaration,
  type TeacherRecipe,
} from "./recipe.ts";
export {
  type StepSums,
  type TeacherEpoch,
  type TrainedTeacher,
  trainStep,
  trainTeacher,
  type TrainTeacherOptions,
} from "./train.ts";
export {
  type CachedTeacherEntry,
  keyFor,
  listCachedTeachers,
  type ObtainedTeacher,
  obtainTeacher,
  type ObtainTeacherOptions,
  resolveTeacherCacheDir,
  TEACHER_CACHE_ENV,
  TEACHER_TRAINING_VERSION,
  type TeacherKey,
  teacherKey,
  type TeacherMeta,
} from "./cache.ts";
export { loadTeacherFromPath, type TeacherExpectation, teacherFileHash } from "./load.ts";
