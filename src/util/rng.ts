/**
 * The seeded random generator every random choice of a run flows from
 * (shuffles, crops, sampling, and the seeds handed to TensorFlow.js ops and
 * initialisers). Its whole state can be saved and restored, so a resumed run
 * continues the same random stream.
 *
 * @module
 */
// seedrandom is the generator TensorFlow.js itself uses for seeded ops.
import seedrandom from "seedrandom";

/** The serialisable state of an {@linkcode Rng} (ARC4 key schedule and indices). */
export interface RngState {
  /** ARC4 index i. */
  i: number;
  /** ARC4 index j. */
  j: number;
  /** ARC4 permutation, 256 entries. */
  S: number[];
}

interface StatefulPrng {
  (): number;
  state(): RngState;
}

type SeedrandomFn = (
  seed: string,
  options: { state: boolean | RngState },
) => StatefulPrng;

const makePrng = seedrandom as unknown as SeedrandomFn;

/**
 * A seeded pseudo-random generator (seedrandom's ARC4) with a saveable state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(42);
 * const order = rng.permutation(5);
 * const saved = rng.state();
 * const a = rng.next();
 * assert.equal(Rng.fromState(saved).next() === a, true);
 * ```
 */
export class Rng {
  #prng: StatefulPrng;

  /** Creates a generator from a seed (the same seed gives the same stream). */
  constructor(seed: number | string) {
    this.#prng = makePrng(String(seed), { state: true });
  }

  /** Recreates a generator from {@linkcode Rng.state}. */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.restore(state);
    return rng;
  }

  /**
   * Moves this generator to a saved {@linkcode Rng.state} in place (for
   * generators other objects hold, such as a dropout layer's).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Rng } from "./rng.ts";
   * const rng = new Rng(3);
   * const saved = rng.state();
   * const a = rng.next();
   * rng.restore(saved);
   * assert.equal(rng.next() === a, true);
   * ```
   */
  restore(state: RngState): void {
    this.#prng = makePrng("", { state: { i: state.i, j: state.j, S: [...state.S] } });
  }

  /** A copy of the generator's state. */
  state(): RngState {
    const s = this.#prng.state();
    return { i: s.i, j: s.j, S: [...s.S] };
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.#prng();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(`Rng.int needs a positive integer (got ${n})`);
    }
    return Math.floor(this.next() * n);
  }

  /**
   * A standard normal number (Box-Muller; the second value is discarded so the
   * generator's whole state stays in {@linkcode Rng.state}).
   */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A fresh 31-bit seed for a TensorFlow.js op or initialiser. */
  seed(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }

  /** A generator for an independent sub-stream, derived from this one's next draw and `label`. */
  fork(label: string): Rng {
    return new Rng(`${label}:${this.seed()}`);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i] as number;
      p[i] = p[j] as number;
      p[j] = t;
    }
    return p;
  }
}
