/**
 * Learning-rate schedules with PyTorch's semantics (the reference code is
 * PyTorch), stepped once per epoch.
 *
 * @module
 */

/** A learning-rate schedule declaration. */
export type LrSchedule =
  | { type: "constant" }
  | { type: "step"; milestones: number[]; gamma: number }
  | { type: "cosine"; tMax: number; etaMin?: number };

/**
 * The learning rate for `epoch` (counting from 0): `constant`; `step`
 * (`MultiStepLR`: multiplied by `gamma` at each milestone reached); `cosine`
 * (`CosineAnnealingLR`: `etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { learningRateAt } from "./lr_schedule.ts";
 * assert.ok(Math.abs(learningRateAt({ type: "step", milestones: [120, 150], gamma: 0.1 }, 0.1, 130) - 0.01) < 1e-9);
 * assert.equal(learningRateAt({ type: "cosine", tMax: 400 }, 0.1, 200), 0.05);
 * ```
 */
export function learningRateAt(schedule: LrSchedule, baseLr: number, epoch: number): number {
  switch (schedule.type) {
    case "constant":
      return baseLr;
    case "step": {
      const passed = schedule.milestones.filter((m) => epoch >= m).length;
      return baseLr * schedule.gamma ** passed;
    }
    case "cosine": {
      const etaMin = schedule.etaMin ?? 0;
      return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * epoch / schedule.tMax)) / 2;
    }
  }
}
