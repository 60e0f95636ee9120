/**
 * CMI's generator (zju-vipa/CMI `datafree/models/generator.py`, `Generator`)
 * with its per-round re-initialisation (`reset_model`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../../util/rng.ts";
import { BatchNorm } from "./batch_norm.ts";
import { leakyRelu, upsampleConv3x3 } from "./ops.ts";
import { ParamSet } from "./params.ts";

/**
 * `Linear(nz -> 2ngf (H/4)(W/4))` -> BN(2ngf) -> [upsample x2, Conv3x3(2ngf ->
 * 2ngf, no bias), BN, LeakyReLU 0.2] -> [upsample x2, Conv3x3(2ngf -> ngf, no
 * bias), BN, LeakyReLU 0.2] -> Conv3x3(ngf -> C, bias) -> sigmoid; BN eps
 * 1e-5. Always run in training mode (batch statistics), as CMI does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../../util/rng.ts";
 * import { CmiGenerator } from "./cmi_generator.ts";
 * const g = new CmiGenerator(8, [8, 8, 1], 4);
 * g.reset(new Rng(1));
 * assert.deepEqual(g.forward(tf.randomNormal([2, 8])).shape, [2, 8, 8, 1]);
 * ```
 */
export class CmiGenerator {
  readonly params = new ParamSet();
  readonly #fc: { w: tf.Variable; b: tf.Variable };
  readonly #bn: BatchNorm[];
  readonly #k1: tf.Variable;
  readonly #k2: tf.Variable;
  readonly #k3: tf.Variable;
  readonly #b3: tf.Variable;
  readonly #init: [number, number, number];

  /** Creates the generator (weights zero until {@linkcode CmiGenerator.reset}). */
  constructor(latentDim: number, imageShape: readonly [number, number, number], ngf: number) {
    const [h, w, c] = imageShape;
    if (h % 4 !== 0 || w % 4 !== 0) {
      throw new Error(`CMI's generator needs height and width divisible by 4 (got ${h}x${w})`);
    }
    const p = this.params;
    this.#init = [h / 4, w / 4, 2 * ngf];
    const units = 2 * ngf * (h / 4) * (w / 4);
    this.#fc = {
      w: p.add("l1.0/weight", tf.zeros([latentDim, units]), true),
      b: p.add("l1.0/bias", tf.zeros([units]), true),
    };
    this.#bn = [new BatchNorm(p, "bn0", 2 * ngf)];
    this.#k1 = p.add("conv1/weight", tf.zeros([3, 3, 2 * ngf, 2 * ngf]), true);
    this.#bn.push(new BatchNorm(p, "bn1", 2 * ngf));
    this.#k2 = p.add("conv2/weight", tf.zeros([3, 3, 2 * ngf, ngf]), true);
    this.#bn.push(new BatchNorm(p, "bn2", ngf));
    this.#k3 = p.add("conv3/weight", tf.zeros([3, 3, ngf, c]), true);
    this.#b3 = p.add("conv3/bias", tf.zeros([c]), true);
  }

  /** `reset_model`: weights `N(0, 0.02)`, biases 0, BN weights `N(1, 0.02)` and biases 0. */
  reset(rng: Rng): void {
    tf.tidy(() => {
      for (const v of [this.#fc.w, this.#k1, this.#k2, this.#k3]) {
        v.assign(tf.randomNormal(v.shape, 0, 0.02, "float32", rng.seed()));
      }
      for (const v of [this.#fc.b, this.#b3]) v.assign(tf.zerosLike(v));
      for (const bn of this.#bn) {
        const g = bn.gamma as tf.Variable;
        g.assign(tf.randomNormal(g.shape, 1, 0.02, "float32", rng.seed()));
        (bn.beta as tf.Variable).assign(tf.zerosLike(bn.beta as tf.Variable));
      }
    });
  }

  /** Trainable variables. */
  get trainable(): tf.Variable[] {
    return this.params.trainable;
  }

  /** Codes `[N, nz]` to images `[N, H, W, C]` in [0, 1] (training-mode BN). */
  forward(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const n = z.shape[0];
      const [h0, w0, c0] = this.#init;
      let x = tf.reshape(tf.add(tf.matMul(z, this.#fc.w), this.#fc.b), [
        n,
        h0,
        w0,
        c0,
      ]) as tf.Tensor4D;
      const [bn0, bn1, bn2] = this.#bn as [BatchNorm, BatchNorm, BatchNorm];
      x = bn0.apply(x, true);
      x = leakyRelu(bn1.apply(upsampleConv3x3(x, this.#k1 as tf.Tensor4D), true), 0.2);
      x = leakyRelu(bn2.apply(upsampleConv3x3(x, this.#k2 as tf.Tensor4D), true), 0.2);
      const y = tf.add(tf.conv2d(x, this.#k3 as tf.Tensor4D, 1, "same"), this.#b3);
      return tf.sigmoid(y) as tf.Tensor4D;
    });
  }

  /** Frees the variables. */
  dispose(): void {
    this.params.dispose();
  }
}
