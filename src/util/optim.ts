/**
 * Optimisers with PyTorch's semantics on top of TensorFlow.js's: SGD with
 * momentum and coupled weight decay (`grad += weightDecay * w`, as
 * `torch.optim.SGD`), and Adam with PyTorch's epsilon (1e-8) and the same
 * weight decay. Their slots can be saved and restored for checkpoints.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorData } from "./tensor_data.ts";

/** Checkpoint keys of Adam's running powers beta1^t and beta2^t, and their tfjs fields. */
const ADAM_POWERS = [["adam/accBeta1", "accBeta1"], ["adam/accBeta2", "accBeta2"]] as const;

/** An optimiser declaration. */
export type OptimizerSpec =
  | { name: "sgd"; lr: number; momentum?: number; weightDecay?: number }
  | {
    name: "adam";
    lr: number;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
  };

/**
 * A TensorFlow.js optimiser with weight decay, a settable learning rate and
 * saveable slots.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Optimizer } from "./optim.ts";
 * const w = tf.variable(tf.ones([2]));
 * const opt = new Optimizer({ name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * opt.minimize(() => w.square().sum(), [w]);
 * opt.setLearningRate(0.01);
 * ```
 */
export class Optimizer {
  readonly spec: OptimizerSpec;
  #opt: tf.Optimizer;

  /** Creates the optimiser from its declaration. */
  constructor(spec: OptimizerSpec) {
    this.spec = spec;
    this.#opt = spec.name === "sgd"
      ? (spec.momentum ?? 0) > 0
        ? tf.train.momentum(spec.lr, spec.momentum ?? 0)
        : tf.train.sgd(spec.lr)
      : tf.train.adam(spec.lr, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.eps ?? 1e-8);
  }

  /** The current learning rate. */
  get learningRate(): number {
    return (this.#opt as unknown as { learningRate: number }).learningRate;
  }

  /** Sets the learning rate (for schedules). */
  setLearningRate(lr: number): void {
    // SGD and momentum keep the rate as a scalar tensor too, refreshed by their setLearningRate;
    // Adam reads the field at every step. (tfjs optimisers' instanceof is duck-typed, so test
    // for the method itself.)
    const opt = this.#opt as unknown as {
      learningRate: number;
      setLearningRate?: (lr: number) => void;
    };
    if (typeof opt.setLearningRate === "function") opt.setLearningRate(lr);
    else opt.learningRate = lr;
  }

  /**
   * Computes the gradients of `loss` with respect to `vars`, adds weight
   * decay, applies them, and returns the loss value (the scalar is disposed).
   */
  async minimize(loss: () => tf.Scalar, vars: tf.Variable[]): Promise<number> {
    const { value, grads } = tf.variableGrads(loss, vars);
    this.applyGradients(grads, vars);
    const v = (await value.data())[0] as number;
    value.dispose();
    return v;
  }

  /** Applies precomputed gradients (disposes them), adding weight decay first. */
  applyGradients(grads: tf.NamedTensorMap, vars: tf.Variable[]): void {
    const wd = this.spec.weightDecay ?? 0;
    const ordered: tf.NamedTensorMap = {};
    for (const v of vars) {
      const g = grads[v.name];
      if (g === undefined) continue;
      ordered[v.name] = wd > 0 ? tf.tidy(() => g.add(v.mul(wd))) : g;
    }
    this.#opt.applyGradients(ordered);
    tf.dispose(Object.values(grads));
    if (wd > 0) tf.dispose(Object.values(ordered));
  }

  /** The optimiser's slots (momentum, Adam moments, iteration count) as named tensor data. */
  async saveState(): Promise<Record<string, TensorData>> {
    const weights = await this.#opt.getWeights();
    const out: Record<string, TensorData> = {};
    const toData = async (tensor: tf.Tensor): Promise<TensorData> => ({
      shape: tensor.shape,
      dtype: tensor.dtype === "int32" ? "int32" : "float32",
      data: await tensor.data() as Float32Array | Int32Array,
    });
    for (const { name, tensor } of weights) out[name] = await toData(tensor);
    // The iteration count comes as a fresh scalar (the slots are the optimiser's own variables).
    for (const { name, tensor } of weights) if (name === "iter") tensor.dispose();
    // TensorFlow.js's Adam restores beta^t as pow(beta, t), which differs in the last bits from
    // the running product it keeps; saving the products makes a restored run continue exactly.
    for (const [key, field] of ADAM_POWERS) {
      const v = (this.#opt as unknown as Record<string, tf.Tensor | undefined>)[field];
      if (v !== undefined) out[key] = await toData(v);
    }
    return out;
  }

  /** Restores {@linkcode saveState}'s output. */
  async restoreState(state: Record<string, TensorData>): Promise<void> {
    const powers = new Set<string>(ADAM_POWERS.map(([key]) => key));
    const named = Object.entries(state).filter(([name]) => !powers.has(name)).map((
      [name, t],
    ) => ({
      name,
      tensor: tf.tensor(t.data, t.shape, t.dtype),
    }));
    try {
      await this.#opt.setWeights(named);
    } finally {
      // The optimiser makes its own variables from these (sharing their data) and keeps no reference.
      for (const { tensor } of named) tensor.dispose();
    }
    for (const [key, field] of ADAM_POWERS) {
      const saved = state[key];
      const v = (this.#opt as unknown as Record<string, tf.Variable | undefined>)[field];
      if (saved !== undefined && v !== undefined) {
        const value = tf.tensor(saved.data, saved.shape, saved.dtype);
        v.assign(value);
        value.dispose();
      }
    }
  }

  /** Frees the optimiser's slots. */
  dispose(): void {
    this.#opt.dispose();
  }
}
