/**
 * The memory-bank baseline (MB-DFKD, as re-implemented in public code, e.g.
 * gaurav104/LRA `agents/predfkd_memory.py` and `utils/replay_memory_DFKD.py`):
 * a FIFO of stored synthetic batches, one of which, chosen uniformly at
 * random, joins every student step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  ADVERSARIAL_HYPERPARAMETERS,
  AdversarialLoop,
  generatorMemory,
  type LoopHandle,
  type Replay,
} from "./adversarial.ts";
import { fromTensorData, tensorData } from "./blocks/params.ts";
import { HyperReader, type HyperTable } from "./hyper.ts";
import type { MethodPlugin, TensorData } from "./method.ts";

/** The memory bank's own hyperparameters (on top of the shared ones). */
export const MEMORY_BANK_HYPERPARAMETERS = {
  ...ADVERSARIAL_HYPERPARAMETERS,
  bankCapacity: {
    default: 10,
    description: "Stored batches at most; the oldest is overwritten when full (memory_capacity).",
    min: 1,
    integer: true,
  },
  bankPushPeriod: {
    default: 5,
    description: "Push at the end of every epoch whose index is a multiple of this (epoch % 5 " +
      "== 0: after epochs 0, 5, 10, ...).",
    min: 1,
    integer: true,
  },
  bankBatchDivisor: {
    default: 8,
    description: "Each stored batch is the first floor(B / divisor) images of the epoch's last " +
      "novel batch (B/8).",
    min: 1,
    integer: true,
  },
} as const satisfies HyperTable;

/**
 * A FIFO ring of stored image batches (float32, as the generator produced
 * them: its final BatchNorm outputs normalised floats, so storing uint8 would
 * change the data).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { BatchBank } from "./memory_bank.ts";
 * const bank = new BatchBank(2);
 * bank.push(tf.zeros([4, 8, 8, 1]));
 * assert.equal(bank.bytes(), 1024); // 4 x 8 x 8 x 1 float32 values
 * ```
 */
export class BatchBank {
  readonly capacity: number;
  #batches: tf.Tensor4D[] = [];
  #position = 0;

  /** Creates an empty bank holding at most `capacity` batches. */
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Number of stored batches. */
  get length(): number {
    return this.#batches.length;
  }

  /** Stores a copy of `batch`, overwriting the oldest when full. */
  push(batch: tf.Tensor4D): void {
    const copy = tf.keep(tf.clone(batch));
    if (this.#batches.length < this.capacity) {
      this.#batches.push(copy);
    } else {
      this.#batches[this.#position]?.dispose();
      this.#batches[this.#position] = copy;
    }
    this.#position = (this.#position + 1) % this.capacity;
  }

  /** Stored batch `i` (owned by the bank: do not dispose). */
  get(i: number): tf.Tensor4D {
    const b = this.#batches[i];
    if (b === undefined) throw new RangeError(`No stored batch ${i} (have ${this.length})`);
    return b;
  }

  /** Bytes of stored pixels: every stored value is a 4-byte float32. */
  bytes(): number {
    return this.#batches.reduce((n, b) => n + b.size * 4, 0);
  }

  /** The bank's contents and write position. */
  async save(): Promise<
    { json: { position: number; count: number }; tensors: Record<string, TensorData> }
  > {
    const tensors: Record<string, TensorData> = {};
    for (const [i, b] of this.#batches.entries()) tensors[`bank/${i}`] = await tensorData(b);
    return { json: { position: this.#position, count: this.#batches.length }, tensors };
  }

  /** Restores {@linkcode BatchBank.save}'s output. */
  restore(json: { position: number; count: number }, tensors: Record<string, TensorData>): void {
    this.dispose();
    for (let i = 0; i < json.count; i++) {
      const t = tensors[`bank/${i}`];
      if (t === undefined) throw new Error(`Checkpoint lacks tensor "bank/${i}"`);
      this.#batches.push(fromTensorData(t) as tf.Tensor4D);
    }
    this.#position = json.position;
  }

  /** Frees the stored batches. */
  dispose(): void {
    tf.dispose(this.#batches);
    this.#batches = [];
    this.#position = 0;
  }
}

/** The memory bank as the loop's replay. */
class MemoryBankReplay implements Replay {
  readonly bank: BatchBank;
  readonly #pushPeriod: number;
  readonly #divisor: number;
  readonly #loop: LoopHandle;

  constructor(capacity: number, pushPeriod: number, divisor: number, loop: LoopHandle) {
    this.bank = new BatchBank(capacity);
    this.#pushPeriod = pushPeriod;
    this.#divisor = divisor;
    this.#loop = loop;
  }

  sample(): tf.Tensor4D | null {
    if (this.bank.length === 0) return null;
    return tf.clone(this.bank.get(this.#loop.rng.int(this.bank.length)));
  }

  afterStudentStep(novel: tf.Tensor4D, step: { epoch: number; lastOfEpoch: boolean }, meter: {
    count(name: string, by?: number): void;
  }): void {
    if (!step.lastOfEpoch || step.epoch % this.#pushPeriod !== 0) return;
    const n = Math.floor(novel.shape[0] / this.#divisor);
    const first = tf.slice(novel, 0, n);
    this.bank.push(first);
    first.dispose();
    meter.count("bankPushes");
  }

  replayBytes(): number {
    return this.bank.bytes();
  }

  save() {
    return this.bank.save();
  }

  restore(json: unknown, tensors: Record<string, TensorData>): Promise<void> {
    this.bank.restore(json as { position: number; count: number }, tensors);
    return Promise.resolve();
  }

  dispose(): void {
    this.bank.dispose();
  }
}

/**
 * The `memory-bank` method: at the end of every `bankPushPeriod`-th epoch
 * the first B/8 images of the epoch's last novel batch are stored (float32)
 * in a FIFO of `bankCapacity` batches; every student step appends one stored
 * batch chosen uniformly at random. Replay memory = bytes of stored pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryBank } from "./memory_bank.ts";
 * assert.equal(memoryBank.hyperparameters.bankCapacity?.default, 10);
 * ```
 */
export const memoryBank: MethodPlugin = {
  name: "memory-bank",
  description: "MB-DFKD: adversarial DFKD replaying stored synthetic batches from a FIFO memory " +
    "bank (capacity 10 batches of B/8, a push every 5 epochs).",
  hyperparameters: MEMORY_BANK_HYPERPARAMETERS,
  create(context) {
    const h = new HyperReader("memory-bank", MEMORY_BANK_HYPERPARAMETERS, context.hyper);
    const { bankCapacity: capacity, bankPushPeriod: period, bankBatchDivisor: divisor } = h
      .values(MEMORY_BANK_HYPERPARAMETERS);
    if (Math.floor(context.budget.batchSize / divisor) < 1) {
      throw h.error(
        "bankBatchDivisor",
        `batch size ${context.budget.batchSize} / ${divisor} leaves no image to store`,
      );
    }
    return new AdversarialLoop(
      "memory-bank",
      context,
      h,
      (_ctx, _h, loop) => new MemoryBankReplay(capacity, period, divisor, loop),
    );
  },
  memory(settings) {
    const h = new HyperReader("memory-bank", MEMORY_BANK_HYPERPARAMETERS, settings.hyper);
    const { bankCapacity, bankBatchDivisor } = h.values(MEMORY_BANK_HYPERPARAMETERS);
    const [height, width, channels] = settings.imageShape;
    const stored = bankCapacity * Math.floor(settings.budget.batchSize / bankBatchDivisor);
    return [
      ...generatorMemory("memory-bank", MEMORY_BANK_HYPERPARAMETERS)(settings),
      {
        what: "memory bank",
        parameters: 0,
        trained: false,
        activationsPerImage: 0,
        batch: 0,
        bufferFloats: stored * height * width * channels,
        fields: ["bankCapacity", "budget.batchSize"],
      },
    ];
  },
};
