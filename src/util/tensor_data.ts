/**
 * Tensor values as plain data (shape, dtype, typed array): how checkpoints
 * store weights, optimiser slots and replay images. It sits on the ground
 * floor so optimisers, methods and the checkpoint writer share it.
 *
 * @module
 */

/** Tensor data in a checkpoint. */
export interface TensorData {
  /** Shape. */
  shape: number[];
  /** Dtype. */
  dtype: "float32" | "int32";
  /** Values. */
  data: Float32Array | Int32Array;
}
