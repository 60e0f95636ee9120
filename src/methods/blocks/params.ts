/**
 * Named variables of a network built from plain TensorFlow.js ops (the
 * generators and the encoder), with PyTorch's parameter count, the release's
 * uniform initialisation and checkpoint conversion.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorData } from "../../util/tensor_data.ts";
import type { Rng } from "../../util/rng.ts";

/**
 * The variables of one network by name: trainable parameters (what PyTorch
 * counts as parameters) and state (BatchNorm running statistics, spectral-norm
 * vectors). Names are local to the network; TensorFlow.js's own variable names
 * are left unique and automatic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { ParamSet } from "./params.ts";
 * const p = new ParamSet();
 * p.add("w", tf.zeros([3, 2]), true);
 * p.add("runningMean", tf.zeros([2]), false);
 * assert.equal(p.parameterCount(), 6);
 * ```
 */
export class ParamSet {
  readonly #vars = new Map<string, tf.Variable>();
  readonly #trainable: tf.Variable[] = [];

  /** Adds a variable holding `initial` (which it takes over) under `name`. */
  add(name: string, initial: tf.Tensor, trainable: boolean): tf.Variable {
    if (this.#vars.has(name)) throw new Error(`Duplicate parameter name "${name}"`);
    const v = tf.variable(initial, trainable);
    initial.dispose();
    this.#vars.set(name, v);
    if (trainable) this.#trainable.push(v);
    return v;
  }

  /** The variable named `name` (as given to {@linkcode ParamSet.add}). */
  get(name: string): tf.Variable {
    const v = this.#vars.get(name);
    if (v === undefined) throw new Error(`No parameter named "${name}"`);
    return v;
  }

  /** Every variable's name, in creation order. */
  names(): string[] {
    return [...this.#vars.keys()];
  }

  /** Trainable variables in creation order (what an optimiser updates). */
  get trainable(): tf.Variable[] {
    return [...this.#trainable];
  }

  /** Number of trainable scalars (PyTorch's parameter count). */
  parameterCount(): number {
    return this.#trainable.reduce((n, v) => n + v.size, 0);
  }

  /** Every variable (parameters and state) as checkpoint data, names prefixed by `prefix`. */
  async save(prefix: string): Promise<Record<string, TensorData>> {
    const out: Record<string, TensorData> = {};
    for (const [name, v] of this.#vars) out[`${prefix}${name}`] = await tensorData(v);
    return out;
  }

  /** Restores {@linkcode ParamSet.save}'s output (every variable must be present). */
  load(prefix: string, tensors: Record<string, TensorData>): void {
    for (const [name, v] of this.#vars) {
      const t = tensors[`${prefix}${name}`];
      if (t === undefined) throw new Error(`Checkpoint lacks tensor "${prefix}${name}"`);
      assignData(v, t, `${prefix}${name}`);
    }
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.#vars.values()) v.dispose();
    this.#vars.clear();
    this.#trainable.length = 0;
  }
}

/**
 * The release's initialisation of conv and linear weights: uniform in
 * [-0.08, 0.08] (`nn.init.uniform_(w, a=-0.08, b=0.08)`), seeded from `rng`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { uniformInit } from "./params.ts";
 * const w = uniformInit([3, 3, 1, 8], new Rng(1));
 * assert.deepEqual(w.shape, [3, 3, 1, 8]);
 * ```
 */
export function uniformInit(shape: number[], rng: Rng, limit = 0.08): tf.Tensor {
  return tf.randomUniform(shape, -limit, limit, "float32", rng.seed());
}

/**
 * A tensor's values as checkpoint data (a copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tensorData } from "./params.ts";
 * assert.deepEqual((await tensorData(tf.ones([2]))).shape, [2]);
 * ```
 */
export async function tensorData(t: tf.Tensor): Promise<TensorData> {
  const dtype = t.dtype === "int32" ? "int32" : "float32";
  const data = await t.data();
  return {
    shape: [...t.shape],
    dtype,
    data: dtype === "int32" ? Int32Array.from(data as Int32Array) : Float32Array.from(data),
  };
}

/**
 * A tensor built from checkpoint data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromTensorData } from "./params.ts";
 * const t = fromTensorData({ shape: [2], dtype: "float32", data: new Float32Array([1, 2]) });
 * assert.deepEqual(t.shape, [2]);
 * ```
 */
export function fromTensorData(t: TensorData): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}

/**
 * Writes checkpoint data into a variable (shapes must match).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { assignData } from "./params.ts";
 * const v = tf.variable(tf.zeros([2]));
 * assignData(v, { shape: [2], dtype: "float32", data: new Float32Array([1, 2]) }, "v");
 * ```
 */
export function assignData(v: tf.Variable, t: TensorData, name: string): void {
  if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
    throw new Error(
      `Checkpoint tensor "${name}" has shape [${t.shape}] but the variable has [${v.shape}]`,
    );
  }
  const value = fromTensorData(t);
  v.assign(value);
  value.dispose();
}
