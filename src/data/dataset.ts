/**
 * The dataset interface every loader implements, and the registry entry that
 * names a dataset. Images stay uint8 in memory (NHWC) and are normalised per
 * batch, so CIFAR's 50,000 training images take about 150 MB.
 *
 * @module
 */
import type { RecipeSource } from "./teacher_recipe.ts";
import type { Logger } from "../util/logger.ts";

/** One split of a dataset: uint8 NHWC pixels and class labels. */
export interface ImageSplit {
  /** Number of images. */
  size: number;
  /** Pixels, `size * height * width * channels` bytes, NHWC order. */
  images: Uint8Array;
  /** Class index of each image, `0 .. classes - 1`. */
  labels: Uint8Array;
}

/** Per-channel normalisation applied to pixels scaled to [0, 1]: `(p - mean) / std`. */
export interface Normalisation {
  /** Mean per channel. */
  mean: readonly number[];
  /** Standard deviation per channel. */
  std: readonly number[];
}

/** Static facts about a dataset, known without loading it. */
export interface DatasetInfo {
  /** Registry name (`mnist`, `cifar10`, `cifar100`, `tiny-imagenet`). */
  name: string;
  /** Number of classes. */
  classes: number;
  /** Image shape as `[height, width, channels]` (after any resize the loader does). */
  imageShape: readonly [number, number, number];
  /** Normalisation constants of the reference code. */
  normalisation: Normalisation;
  /** Expected split sizes of the full dataset. */
  sizes: { train: number; test: number };
  /** One line describing the source. */
  description: string;
}

/** A loaded dataset. */
export interface Dataset extends DatasetInfo {
  /** Class names, `classes` entries. */
  classNames: readonly string[];
  /** The training split. */
  train: ImageSplit;
  /** The test split (Tiny-ImageNet: its labelled val split). */
  test: ImageSplit;
}

/** Where loaders look for data and how they report. */
export interface LoadOptions {
  /** The data root (`--data-root`, `DFKD_DATA`, or `~/.cache/dfkd-bench/data`). */
  dataRoot: string;
  /** Progress of slow loads (Tiny-ImageNet's one-off JPEG decoding); silent when absent. */
  log?: Logger;
}

/**
 * The publisher's archive of a dataset, as `datasets fetch` downloads,
 * verifies and extracts it.
 *
 * @example
 * ```ts
 * import type { ArchiveSource } from "./dataset.ts";
 * const source: ArchiveSource = {
 *   url: "https://example.org/data.tar.gz",
 *   fileName: "data.tar.gz",
 *   format: "tar.gz",
 *   folder: "data",
 *   md5: "0123456789abcdef0123456789abcdef",
 * };
 * ```
 */
export interface ArchiveSource {
  /** Download address (the publisher's). */
  url: string;
  /** The archive's file name. */
  fileName: string;
  /** Archive format, which decides the extractor. */
  format: "tar.gz" | "zip";
  /** The folder the archive extracts to, installed as `<dataRoot>/<folder>`. */
  folder: string;
  /** Archive size in bytes, when published. */
  bytes?: number;
  /** MD5 of the archive (hex), when published. */
  md5?: string;
  /** SHA-256 of the archive (hex), when published. */
  sha256?: string;
}

/**
 * A dataset in the registry: its facts and how to load it.
 *
 * @example
 * ```ts
 * import type { DatasetSpec } from "./dataset.ts";
 * declare const spec: DatasetSpec;
 * // const data = await spec.load({ dataRoot: "/data" });
 * ```
 */
export interface DatasetSpec extends DatasetInfo {
  /** Loads both splits; a missing or corrupt source is a `UserError` naming the path. */
  load(options: LoadOptions): Promise<Dataset>;
  /** Where `datasets fetch` gets the data; absent for embedded datasets (MNIST). */
  source?: ArchiveSource;
  /**
   * The default teacher recipe on this dataset, whatever the architecture;
   * absent when it comes from the architecture (`ArchitectureSpec.teacherRecipe`,
   * the CIFAR datasets).
   */
  teacherRecipe?: RecipeSource;
}
