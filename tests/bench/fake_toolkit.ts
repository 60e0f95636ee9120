/**
 * A toolkit with a toy dataset and toy methods, so the runner's own logic
 * (subprocesses, records, failures, reports) is tested in seconds. The toy
 * methods train nothing: each epoch sets the student's "score", which the toy
 * evaluation returns.
 *
 * - `steady`: accuracy rises 0.5, 0.6, ... with a per-seed offset;
 * - `crash`: throws in its second epoch;
 * - `nan`: reports a NaN loss in its second epoch;
 * - `die`: exits the process with code 7 in its second epoch (a hard crash);
 * - `busy`: in its second epoch, computes synchronously for 60 s without
 *   yielding (a long training step that never returns to the event loop);
 * - `walk`: a random walk with real state (its own `Rng`, a running sum, the
 *   position inside an epoch): 4 iterations of 100 ms per epoch, stoppable
 *   after any iteration, saved and restored, so interrupted and resumed runs
 *   can be compared with uninterrupted ones.
 *
 * @module
 */
import { initBackend } from "../../src/backends/init_backend.ts";
import type { Catalogue } from "../../src/bench/spec.ts";
import type { Toolkit } from "../../src/bench/toolkit.ts";
import type { MethodPlugin } from "../../src/methods/method.ts";
import type { Classifier } from "../../src/models/classifier.ts";
import { UserError } from "../../src/util/errors.ts";
import { Rng, type RngState } from "../../src/util/rng.ts";

type ToyStudent = Classifier & { score: number };

function toyMethod(name: string, behaviour: (epoch: number) => void): MethodPlugin {
  return {
    name,
    description: `Toy method ${name}.`,
    hyperparameters: { step: { default: 0.1, description: "Accuracy gain per epoch" } },
    create(ctx) {
      if (Number(ctx.hyper.step) < 0) {
        throw new UserError(
          `Method "${name}": hyperparameter "step": must be >= 0 (got ${ctx.hyper.step})`,
        );
      }
      const student = ctx.student as ToyStudent;
      const offset = ctx.rng.next() * 0.01;
      return {
        runEpoch(epoch, onStep) {
          for (let i = 1; i <= 4; i++) onStep?.(i, 4);
          behaviour(epoch);
          student.score = Math.min(1, 0.5 + offset + Number(ctx.hyper.step) * epoch);
          const loss = name === "nan" && epoch === 1 ? NaN : 1 / (epoch + 1);
          return Promise.resolve({
            losses: { student: loss },
            replayBytes: 1000 * (epoch + 1),
            counters: { novelImages: 64 },
            studentImages: 64,
          });
        },
        replayBytes: () => 0,
        saveState: () => Promise.resolve({ json: {}, tensors: {} }),
        restoreState: () => Promise.resolve(),
        dispose() {},
      };
    },
  };
}

interface WalkState {
  rng: RngState;
  sum: number;
  partial?: { epoch: number; next: number; loss: number };
}

const walk: MethodPlugin = {
  name: "walk",
  description: "Toy random walk with state.",
  hyperparameters: { step: { default: 0.1, description: "Step size" } },
  create(ctx) {
    const student = ctx.student as ToyStudent;
    let rng = ctx.rng.fork("walk");
    let sum = 0;
    let partial: WalkState["partial"];
    return {
      async runEpoch(epoch, onStep, control) {
        if (partial !== undefined && partial.epoch !== epoch) throw new Error("unfinished epoch");
        let loss = partial?.loss ?? 0;
        const start = partial?.next ?? 0;
        partial = undefined;
        for (let i = start; i < 4; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const x = rng.next();
          sum += Number(ctx.hyper.step) * (x - 0.4);
          loss += x;
          onStep?.(i + 1, 4);
          if (i < 3 && control?.shouldStop?.()) {
            partial = { epoch, next: i + 1, loss };
            return {
              losses: { walk: loss },
              replayBytes: 0,
              counters: {},
              studentImages: 0,
              stoppedAfterIteration: i + 1,
            };
          }
        }
        student.score = Math.min(1, Math.max(0, 0.5 + sum));
        return {
          losses: { walk: loss },
          replayBytes: 0,
          counters: { novelImages: 4 },
          studentImages: 4,
        };
      },
      replayBytes: () => 0,
      saveState: () => {
        const state: WalkState = { rng: rng.state(), sum, ...(partial ? { partial } : {}) };
        return Promise.resolve({
          json: state,
          tensors: {
            score: { shape: [1], dtype: "float32", data: new Float32Array([student.score]) },
          },
        });
      },
      restoreState: (state) => {
        const json = state.json as WalkState;
        rng = Rng.fromState(json.rng);
        sum = json.sum;
        partial = json.partial;
        student.score = state.tensors.score?.data[0] ?? NaN;
        return Promise.resolve();
      },
      dispose() {},
    };
  },
};

const METHODS: Record<string, MethodPlugin> = {
  walk,
  steady: toyMethod("steady", () => {}),
  crash: toyMethod("crash", (e) => {
    if (e === 1) throw new Error("Toy crash in epoch 2");
  }),
  nan: toyMethod("nan", () => {}),
  busy: toyMethod("busy", (e) => {
    if (e === 1) {
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        // Busy: no await, no timer runs.
      }
    }
  }),
  die: toyMethod("die", (e) => {
    if (e === 1) {
      console.error("fatal: toy process dies");
      Deno.exit(7);
    }
  }),
};

/** The toy catalogue. */
export const TOY_CATALOGUE: Catalogue = {
  datasets: { toy: { classes: 2, imageShape: [2, 2, 1] } },
  architectures: ["toy-teacher", "toy-student"],
  methods: METHODS,
};

function toyClassifier(arch: string): ToyStudent {
  return {
    arch,
    inputShape: [2, 2, 1],
    classes: 2,
    featureSize: 1,
    model: { dispose() {} } as unknown as Classifier["model"],
    score: 0,
  };
}

/** The toy toolkit; the data root must hold a file `toy.txt`. */
export const toolkit: Toolkit = {
  catalogue: () => TOY_CATALOGUE,
  resolveDataRoot: (flag) => flag ?? Deno.env.get("DFKD_DATA") ?? "/nonexistent",
  initBackend: (request) => initBackend(request === "auto" ? "cpu" : request),
  datasetInfo: (name) => {
    if (name !== "toy") throw new UserError(`Unknown dataset "${name}"`, 2);
    return {
      name: "toy",
      classes: 2,
      imageShape: [2, 2, 1],
      normalisation: { mean: [0], std: [1] },
      sizes: { train: 4, test: 4 },
      description: "Toy",
    };
  },
  async loadDataset(_name, { dataRoot }) {
    try {
      await Deno.stat(`${dataRoot}/toy.txt`);
    } catch {
      throw new UserError(`Toy data not found: ${dataRoot}/toy.txt is missing`, 1);
    }
    const split = { size: 4, images: new Uint8Array(16), labels: new Uint8Array([0, 1, 0, 1]) };
    return { ...this.datasetInfo("toy"), classNames: ["a", "b"], train: split, test: split };
  },
  prepareTeacher: (spec) =>
    Promise.resolve({
      arch: spec.kind === "recipe" ? spec.arch : "toy-teacher",
      source: spec.kind,
      hash: "toyhash",
      path: "/nonexistent/toy-teacher",
      testAccuracy: 0.95,
    }),
  loadTeacher: (t) => Promise.resolve(toyClassifier(t.arch)),
  buildStudent: (arch) => toyClassifier(arch),
  evaluate: (c) => Promise.resolve((c as ToyStudent).score),
  getMethod: (name) => {
    const m = METHODS[name];
    if (!m) throw new UserError(`Unknown method "${name}"`, 2);
    return m;
  },
};
