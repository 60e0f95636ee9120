/**
 * The runner's {@linkcode Toolkit} wired to dfkd-bench's registries: datasets
 * (`src/data/registry.ts`), the model zoo and teachers (`src/models/`), and
 * the method plug-ins (`src/methods/registry.ts`).
 *
 * @module
 */
import { initBackend } from "../backends/init_backend.ts";
import { resolveDataRoot } from "../data/data_root.ts";
import { DATASETS, getDataset } from "../data/registry.ts";
import { getMethod, METHODS } from "../methods/registry.ts";
import { evaluateAccuracy } from "../models/evaluate.ts";
import { ARCHITECTURES, buildClassifier } from "../models/registry.ts";
import {
  declareTeacher,
  loadTeacherFromPath,
  obtainTeacher,
  recipeProblem,
  resolveTeacherCacheDir,
  teacherFileHash,
} from "../models/teacher/mod.ts";
import { UserError } from "../util/errors.ts";
import { obtainPytorchTeacher } from "../models/pytorch/cache.ts";
import type { Catalogue } from "./spec.ts";
import type { Toolkit } from "./toolkit.ts";

/** The registries as a benchmark-file {@linkcode Catalogue}. */
export function defaultCatalogue(): Catalogue {
  return {
    datasets: DATASETS,
    architectures: Object.keys(ARCHITECTURES),
    methods: METHODS,
    architectureProblem: (arch, shape) => ARCHITECTURES[arch]?.checkInput(shape),
    recipeProblem: (arch, dataset, recipe) => {
      try {
        return recipeProblem(arch, dataset, recipe);
      } catch (error) {
        // An unknown architecture or dataset: the schema reports those fields itself.
        if (error instanceof UserError) return error.message;
        throw error;
      }
    },
  };
}

/**
 * The real toolkit (what `dfkd run` and its job processes use).
 *
 * @example
 * ```ts
 * import { toolkit } from "./default_toolkit.ts";
 * console.log(Object.keys(toolkit.catalogue().methods));
 * ```
 */
export const toolkit: Toolkit = {
  catalogue: defaultCatalogue,
  resolveDataRoot,
  initBackend: (request) => initBackend(request),
  datasetInfo: (name) => getDataset(name),
  loadDataset: (name, { dataRoot, log }) => getDataset(name).load({ dataRoot, log }),
  async prepareTeacher(spec, dataset, { dataRoot, data, cacheDir, log }) {
    if (spec.kind === "recipe") {
      const declaration = declareTeacher(spec.arch, dataset, spec.recipe, "teacher recipe");
      const obtained = await obtainTeacher(declaration, {
        dataRoot,
        dataset: data,
        log,
        ...(cacheDir !== undefined ? { cacheDir } : {}),
      });
      obtained.classifier.model.dispose();
      return {
        arch: spec.arch,
        source: "recipe",
        hash: obtained.hash,
        path: obtained.path,
        testAccuracy: obtained.testAccuracy,
        recipe: spec.recipe,
      };
    }
    if (spec.kind === "pytorch") {
      const obtained = await obtainPytorchTeacher(spec.file, {
        arch: spec.arch,
        dataset,
        cacheDir: resolveTeacherCacheDir(cacheDir),
        log,
        data,
      });
      obtained.classifier.model.dispose();
      const { meta } = obtained;
      return {
        arch: spec.arch,
        source: "pytorch",
        hash: meta.source.sha256,
        file: meta.source.file,
        path: obtained.path,
        testAccuracy: meta.testAccuracy ?? NaN,
      };
    }
    const classifier = await loadTeacherFromPath(spec.path, {
      inputShape: data.imageShape,
      classes: data.classes,
    });
    try {
      if (spec.arch !== undefined && classifier.arch !== spec.arch) {
        log.warn(
          `${spec.path}: the benchmark file says ${spec.arch}, the saved model says ${classifier.arch}`,
        );
      }
      const testAccuracy = await evaluateAccuracy(classifier, data.test, {
        imageShape: data.imageShape,
        normalisation: data.normalisation,
      });
      return {
        arch: spec.arch ?? classifier.arch,
        source: "path",
        hash: await teacherFileHash(spec.path),
        path: spec.path,
        testAccuracy,
      };
    } finally {
      classifier.model.dispose();
    }
  },
  loadTeacher: (teacher, expected) => loadTeacherFromPath(teacher.path, expected),
  buildStudent: (arch, options) => buildClassifier(arch, options),
  evaluate(classifier, split, { dataset, batchSize }) {
    const info = getDataset(dataset);
    return evaluateAccuracy(classifier, split, {
      imageShape: info.imageShape,
      normalisation: info.normalisation,
      batchSize,
    });
  },
  getMethod,
};
