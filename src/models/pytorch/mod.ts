/**
 * PyTorch checkpoints as teachers: the formats (`torch.save` zip and legacy,
 * safetensors), a pickle reader that executes nothing, containers, key maps
 * onto the zoo, and {@linkcode importPytorchTeacher}.
 *
 * @example
 * ```ts
 * import { importPytorchTeacher } from "./mod.ts";
 * const t = await importPytorchTeacher("wrn40_2.pth", { arch: "wrn-40-2", dataset: "cifar100" });
 * t.model.dispose();
 * ```
 *
 * @module
 */
export {
  convertPytorchCheckpoint,
  type ImportedPytorchTeacher,
  type ImportPytorchOptions,
  importPytorchTeacher,
  importPytorchTeacherFile,
} from "./import.ts";
export { type CheckpointFormat, parseCheckpoint, type RawCheckpoint } from "./formats.ts";
export { findStateDict, type FoundStateDict } from "./state_dict.ts";
export { loadStateDict, suggestArchitecture, type WeightSlot, weightSlots } from "./key_map.ts";
export { PICKLE_CALLABLES, PyGlobal, PyObject, unpickle, type UnpickleOptions } from "./pickle.ts";
export { toFloat32, type TorchDtype, TorchStorage, TorchTensor } from "./tensor.ts";
export {
  listPytorchTeachers,
  type ObtainedPytorchTeacher,
  obtainPytorchTeacher,
  type ObtainPytorchTeacherOptions,
  PYTORCH_IMPORT_VERSION,
  pytorchTeacherKey,
  type PytorchTeacherMeta,
} from "./cache.ts";
