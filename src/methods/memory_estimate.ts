/**
 * A job's memory estimated from shapes alone, before anything is allocated,
 * so `validate` and a run's preflight refuse settings that cannot fit (a
 * batch of 65536, a generator at 64x width) with the fields to lower, instead
 * of a job dying minutes later in a wasm allocation that names no cause.
 *
 * A job holds, per network, its parameters (4 bytes each; a trained one also
 * its gradient and Adam's two moments: 16 bytes) and, per image of a batch,
 * the activations of a forward pass, kept for the backward pass, and their
 * gradients (2 x 4 bytes per activation float). Plug-ins declare their
 * networks' sizes as {@linkcode MemoryPart}s (`MethodPlugin.memory`); the
 * runner adds the teacher and the student (their layers' output sizes). It is
 * an estimate, not a bound: kernel temporaries and the runtime come on top,
 * and not every activation is alive at once. It is held to the backend's
 * limit ({@linkcode memoryLimitFor}): the 4 GiB wasm heap, the machine's
 * memory on the CPU backends, none on the GPU ones.
 *
 * @module
 */

/** One network (or buffer) of a job, as the memory estimate counts it. */
export interface MemoryPart {
  /** What it is, for messages (`generator`, `VAE`, `memory bank`). */
  what: string;
  /** Parameter floats. */
  parameters: number;
  /** Whether it is trained (gradients and Adam's moments) or frozen. */
  trained: boolean;
  /** Activation floats of one forward pass of one image. */
  activationsPerImage: number;
  /** Images per forward pass (usually the batch size). */
  batch: number;
  /** Plain buffers in floats (a memory bank's stored images). */
  bufferFloats?: number;
  /** The benchmark fields that set its size, to name when it is too big. */
  fields: readonly string[];
}

/** The most a wasm job can address: tfjs-backend-wasm's 32-bit heap, 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** The memory a job may use on a backend, and how to say it. */
export interface MemoryLimit {
  /** Bytes. */
  bytes: number;
  /** What the limit is, for messages (`the 4.0 GiB a wasm job can address`). */
  describe: string;
}

/**
 * The limit the estimate is held to on `backend`: the wasm heap; the machine's
 * memory for the JavaScript and native CPU backends; none for the GPU
 * backends (their device memory is not known before the run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryLimitFor, WASM_HEAP_BYTES } from "./memory_estimate.ts";
 * assert.equal(memoryLimitFor("wasm")?.bytes, WASM_HEAP_BYTES);
 * assert.equal(memoryLimitFor("webgpu"), undefined);
 * ```
 */
export function memoryLimitFor(backend: string, systemBytes?: number): MemoryLimit | undefined {
  if (backend === "wasm") {
    return {
      bytes: WASM_HEAP_BYTES,
      describe: `the ${gib(WASM_HEAP_BYTES)} a wasm job can address`,
    };
  }
  if (backend === "cpu" || backend === "tfjs-node") {
    const bytes = systemBytes ?? Deno.systemMemoryInfo().total;
    return { bytes, describe: `this machine's ${gib(bytes)} (backend ${backend})` };
  }
  return undefined;
}

/** Bytes a part takes: parameters (x4 when trained), activations x2, buffers. */
export function partBytes(part: MemoryPart): number {
  const parameterBytes = part.parameters * 4 * (part.trained ? 4 : 1);
  const activationBytes = part.activationsPerImage * part.batch * 4 * 2;
  return parameterBytes + activationBytes + (part.bufferFloats ?? 0) * 4;
}

/**
 * The parts' total and, when it exceeds `limit`, a message naming the largest
 * parts and the fields that size them (undefined when it fits, or when there
 * is no limit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryLimitFor, memoryProblem } from "./memory_estimate.ts";
 * const part = {
 *   what: "generator", parameters: 2e9, trained: true, activationsPerImage: 0, batch: 1,
 *   fields: ["hyperparameters.generatorWidth"],
 * };
 * const wasm = memoryLimitFor("wasm");
 * assert.match(memoryProblem([part], wasm) ?? "", /generatorWidth/);
 * assert.equal(memoryProblem([{ ...part, parameters: 1000 }], wasm), undefined);
 * ```
 */
export function memoryProblem(
  parts: readonly MemoryPart[],
  limit: MemoryLimit | undefined,
): string | undefined {
  if (limit === undefined) return undefined;
  const sized = parts.map((p) => ({ part: p, bytes: partBytes(p) }));
  const total = sized.reduce((s, p) => s + p.bytes, 0);
  if (total <= limit.bytes) return undefined;
  const largest = [...sized].sort((a, b) => b.bytes - a.bytes).filter((p) =>
    p.bytes >= 0.1 * total
  );
  const terms = largest.map(({ part, bytes }) =>
    `${part.what} ${gib(bytes)} (set by ${part.fields.join(", ")})`
  );
  return `needs at least ${gib(total)} of memory, more than ${limit.describe}: ${
    terms.join("; ")
  }; lower those fields (or run on a GPU backend)`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GiB`;
}

/**
 * The DCGAN-style generator of `blocks/generator.ts` (latent -> `c1 x H/4 x
 * W/4` -> two upsampling 3x3 convolutions -> image): its parameters and the
 * activation floats of one image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generatorPart } from "./memory_estimate.ts";
 * const part = generatorPart(1000, [32, 32, 1], 1, 64, ["hyperparameters.generatorWidth"]);
 * assert.ok(part.parameters > 8e6); // the 1000 x 8192 linear layer
 * ```
 */
export function generatorPart(
  latentDim: number,
  imageShape: readonly [number, number, number],
  width: number,
  batch: number,
  fields: readonly string[],
  what = "generator",
): MemoryPart {
  const [h, w, c] = imageShape;
  const c1 = Math.max(1, Math.round(128 * width));
  const c2 = Math.max(1, Math.round(64 * width));
  const parameters = (latentDim + 1) * c1 * (h / 4) * (w / 4) + 9 * c1 * c1 + 9 * c1 * c2 +
    9 * c2 * c;
  // Linear output, first upsampled map, conv1, second upsampled map, conv2, image; each with
  // its batch norm and activation.
  const activationsPerImage = 2 *
    (c1 * (h / 4) * (w / 4) + 2 * c1 * (h / 2) * (w / 2) + c1 * h * w + c2 * h * w + c * h * w);
  return { what, parameters, trained: true, activationsPerImage, batch, fields };
}

/**
 * PRE-DFKD's VAE (`blocks/encoder.ts`: convolutions of widths `64w` and
 * `128w`, two linear heads from `128w x H/8 x W/8` to `latentDim`; the decoder
 * shaped as the generator).
 */
export function vaePart(
  latentDim: number,
  imageShape: readonly [number, number, number],
  width: number,
  batch: number,
  fields: readonly string[],
): MemoryPart {
  const [h, w, c] = imageShape;
  const e1 = Math.max(1, Math.round(64 * width));
  const e2 = Math.max(1, Math.round(128 * width));
  const flat = e2 * (h / 8) * (w / 8);
  const encoderParameters = 9 * c * e1 + 9 * e1 * e2 + 9 * e2 * e2 + 2 * flat * latentDim;
  const encoderActivations = 2 * (e1 * h * w + e2 * h * w + e2 * (h / 2) * (w / 2) + flat);
  const decoder = generatorPart(latentDim, imageShape, width, batch, fields);
  return {
    what: "VAE",
    parameters: encoderParameters + decoder.parameters,
    trained: true,
    activationsPerImage: encoderActivations + decoder.activationsPerImage,
    batch,
    fields,
  };
}

/**
 * A teacher or student from the model registry: its parameter count and the
 * output floats of its layers for one image (0 for what a model does not
 * report, as a test double's stand-in model).
 */
export function classifierPart(
  what: string,
  classifier: { model: { countParams?(): number; layers?: { outputShape: unknown }[] } },
  trained: boolean,
  batch: number,
): MemoryPart {
  let activationsPerImage = 0;
  for (const layer of classifier.model.layers ?? []) {
    const shape = layer.outputShape;
    if (!Array.isArray(shape)) continue;
    const shapes = (Array.isArray(shape[0]) ? shape : [shape]) as (number | null)[][];
    for (const dims of shapes) {
      activationsPerImage += dims.slice(1).reduce<number>((p, d) => p * (d ?? 1), 1);
    }
  }
  return {
    what,
    parameters: classifier.model.countParams?.() ?? 0,
    trained,
    activationsPerImage,
    batch,
    fields: ["budget.batchSize"],
  };
}
