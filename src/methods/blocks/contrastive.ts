/**
 * CMI's contrastive parts (zju-vipa/CMI `datafree/synthesis/contrastive.py`):
 * the projection head, the instance-discrimination loss between local and
 * global views, and the feature memory bank of earlier rounds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import type { TensorData } from "../method.ts";
import { ParamSet } from "./params.ts";

/**
 * PyTorch's default `nn.Linear` initialisation: weight and bias uniform in
 * `+-1/sqrt(fan_in)`; the weight is stored `[in, out]`.
 */
function torchLinear(p: ParamSet, name: string, inSize: number, outSize: number, rng: Rng) {
  const bound = 1 / Math.sqrt(inSize);
  const w = p.add(
    `${name}/weight`,
    tf.randomUniform([inSize, outSize], -bound, bound, "float32", rng.seed()),
    true,
  );
  const b = p.add(
    `${name}/bias`,
    tf.randomUniform([outSize], -bound, bound, "float32", rng.seed()),
    true,
  );
  return { w, b };
}

/**
 * CMI's `MLPHead(dim_in, dim_feat)`: Linear(D, D), ReLU, Linear(D, d), then
 * each row L2-normalised (`F.normalize`, eps 1e-12).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { MlpHead } from "./contrastive.ts";
 * const head = new MlpHead(6, 4, new Rng(1));
 * assert.deepEqual(head.apply(tf.ones([3, 6])).shape, [3, 4]);
 * ```
 */
export class MlpHead {
  readonly params = new ParamSet();
  readonly #l1: { w: tf.Variable; b: tf.Variable };
  readonly #l2: { w: tf.Variable; b: tf.Variable };

  /** Creates the head for `inSize` features projected to `outSize`. */
  constructor(inSize: number, outSize: number, rng: Rng) {
    this.#l1 = torchLinear(this.params, "head.0", inSize, inSize, rng);
    this.#l2 = torchLinear(this.params, "head.2", inSize, outSize, rng);
  }

  /** Projects `[N, D]` to unit rows `[N, d]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(x, this.#l1.w), this.#l1.b));
      const y = tf.add(tf.matMul(h, this.#l2.w), this.#l2.b) as tf.Tensor2D;
      const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(y), 1, true)), 1e-12);
      return tf.div(y, norm);
    });
  }

  /** Trainable variables. */
  get trainable(): tf.Variable[] {
    return this.params.trainable;
  }

  /** Frees the head's variables. */
  dispose(): void {
    this.params.dispose();
  }
}

/**
 * CMI's contrastive loss on projected local and global features (current
 * rows first, then cached rows): logits `h_l h_g^T / T` with `h_g` treated as
 * a constant, the diagonal as labels, per-row cross-entropy; with cached rows
 * `mean(current rows) + mean(cached rows)`, else the mean of all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { contrastiveLoss } from "./contrastive.ts";
 * const h = tf.tensor2d([[1, 0], [0, 1]]);
 * const v = (await contrastiveLoss(h, h, 2, 1, false).data())[0]!;
 * assert.equal(v.toFixed(4), "0.3133");
 * ```
 */
export function contrastiveLoss(
  projLocal: tf.Tensor2D,
  projGlobal: tf.Tensor2D,
  current: number,
  temperature: number,
  splitCached: boolean,
): tf.Scalar {
  return tf.tidy(() => {
    const logits = tf.div(tf.matMul(projLocal, detach(projGlobal), false, true), temperature);
    const rows = logits.shape[0] as number;
    const logp = tf.logSoftmax(logits as tf.Tensor2D, 1);
    const ce = tf.neg(tf.sum(tf.mul(logp, tf.eye(rows)), 1));
    if (!splitCached || rows === current) return tf.mean(ce);
    return tf.add(
      tf.mean(tf.slice(ce, 0, current)),
      tf.mean(tf.slice(ce, current, rows - current)),
    );
  });
}

/**
 * CMI's whole contrastive term: rows `[local, cachedLocal, global,
 * cachedGlobal]` through the head, split into the local and global halves,
 * then {@linkcode contrastiveLoss}. `cached` is `[M, 2D]` (local | global).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { cmiContrastiveLoss, MlpHead } from "./contrastive.ts";
 * const head = new MlpHead(3, 2, new Rng(1));
 * const f = tf.randomNormal([4, 3]) as tf.Tensor2D;
 * const v = cmiContrastiveLoss(head, f, f, tf.zeros([0, 6]), 0.2, false);
 * assert.deepEqual(v.shape, []);
 * ```
 */
export function cmiContrastiveLoss(
  head: MlpHead,
  local: tf.Tensor2D,
  global: tf.Tensor2D,
  cached: tf.Tensor2D,
  temperature: number,
  splitCached: boolean,
): tf.Scalar {
  return tf.tidy(() => {
    const d = local.shape[1];
    const m = cached.shape[0];
    const cl = tf.slice(cached, [0, 0], [m, d]);
    const cg = tf.slice(cached, [0, d], [m, d]);
    const proj = head.apply(tf.concat([local, cl, global, cg], 0));
    const half = proj.shape[0] / 2;
    return contrastiveLoss(
      tf.slice(proj, [0, 0], [half, -1]),
      tf.slice(proj, [half, 0], [half, -1]),
      local.shape[0],
      temperature,
      splitCached,
    );
  });
}

/**
 * The identity with a zero gradient (PyTorch's `.detach()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { detach } from "./contrastive.ts";
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(detach(x), x)))(tf.tensor1d([2]));
 * assert.deepEqual((await g.data())[0], 2);
 * ```
 */
export function detach<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return op(x) as T;
}

/** The JSON part of a {@linkcode FeatureBank}'s state. */
export interface FeatureBankState {
  pointer: number;
  updates: number;
}

/**
 * CMI's `MemoryBank`: a ring of `capacity` feature rows of width `dim` with a
 * write pointer and a count of rows written. Rows live in JavaScript memory
 * (float32), as the release keeps the bank on the CPU.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { FeatureBank } from "./contrastive.ts";
 * const bank = new FeatureBank(4, 2);
 * bank.add(new Float32Array([1, 2, 3, 4]), 2);
 * assert.deepEqual([bank.sample(8, new Rng(1)).rows, bank.bytes()], [2, 16]);
 * ```
 */
export class FeatureBank {
  readonly capacity: number;
  readonly dim: number;
  #data: Float32Array;
  #pointer = 0;
  #updates = 0;

  /** An empty bank of `capacity` rows of `dim` values. */
  constructor(capacity: number, dim: number) {
    this.capacity = capacity;
    this.dim = dim;
    this.#data = new Float32Array(0);
  }

  /** Rows written so far (all rounds). */
  get updates(): number {
    return this.#updates;
  }

  /** Writes `n` rows at the pointer (`capacity` must be a multiple of `n`, as the release asserts). */
  add(rows: Float32Array, n: number): void {
    if (rows.length !== n * this.dim || this.capacity % n !== 0) {
      throw new Error(`Feature bank of ${this.capacity} rows cannot take ${n} rows of ${this.dim}`);
    }
    if (this.#data.length < this.capacity * this.dim) {
      const grown = new Float32Array(Math.min(this.capacity, this.#pointer + n) * this.dim);
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data.set(rows, this.#pointer * this.dim);
    this.#pointer = (this.#pointer + n) % this.capacity;
    this.#updates += n;
  }

  /**
   * Up to `k` distinct rows drawn uniformly (`random.sample`): from all rows
   * once more than `capacity` were written, else from the first `pointer`
   * rows (none when the pointer has just wrapped, as in the release).
   */
  sample(k: number, rng: Rng): { rows: number; data: Float32Array } {
    const pool = this.#updates > this.capacity ? this.capacity : this.#pointer;
    const take = Math.min(k, pool);
    const order = rng.permutation(pool).subarray(0, take);
    const out = new Float32Array(take * this.dim);
    order.forEach((r, i) =>
      out.set(this.#data.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim)
    );
    return { rows: take, data: out };
  }

  /** Bytes of written rows (float32). */
  bytes(): number {
    return Math.min(this.#updates, this.capacity) * this.dim * 4;
  }

  /** The bank's state. */
  save(): { json: FeatureBankState; tensors: Record<string, TensorData> } {
    const rows = this.#data.length / this.dim;
    return {
      json: { pointer: this.#pointer, updates: this.#updates },
      tensors: { bank: { shape: [rows, this.dim], dtype: "float32", data: this.#data.slice() } },
    };
  }

  /** Restores {@linkcode FeatureBank.save}'s output. */
  restore(json: FeatureBankState, tensors: Record<string, TensorData>): void {
    const t = tensors["bank"];
    if (t === undefined) throw new Error(`Checkpoint lacks tensor "bank"`);
    this.#data = Float32Array.from(t.data as Float32Array);
    this.#pointer = json.pointer;
    this.#updates = json.updates;
  }
}
