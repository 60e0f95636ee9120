/**
 * Teacher training: an explicit loop (seeded shuffles and augmentation, no
 * `model.fit`), cross-entropy loss, the recipe's optimiser and per-epoch
 * learning-rate schedule, progress through the `Logger`, and test accuracy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batchCount, iterateBatches } from "../../data/batches.ts";
import type { Dataset } from "../../data/dataset.ts";
import { UserError } from "../../util/errors.ts";
import type { Logger, Progress } from "../../util/logger.ts";
import { learningRateAt } from "../../util/lr_schedule.ts";
import { Optimizer } from "../../util/optim.ts";
import { Rng } from "../../util/rng.ts";
import { type Classifier, forward } from "../classifier.ts";
import { evaluateAccuracy } from "../evaluate.ts";
import { buildClassifier } from "../registry.ts";
import type { TeacherDeclaration } from "./recipe.ts";

/** One epoch of a teacher's training. */
export interface TeacherEpoch {
  /** Epoch number, counting from 1. */
  epoch: number;
  /** Learning rate of the epoch. */
  lr: number;
  /** Mean training loss (cross-entropy) over the epoch's images. */
  loss: number;
  /** Training accuracy over the epoch (augmented images, training mode). */
  trainAccuracy: number;
  /** Test accuracy after the epoch (absent when not evaluated). */
  testAccuracy?: number;
  /** Wall seconds of the epoch (training and evaluation). */
  seconds: number;
}

/** The result of {@linkcode trainTeacher}. */
export interface TrainedTeacher {
  /** The trained classifier (the caller disposes its model). */
  classifier: Classifier;
  /** Final test accuracy in [0, 1]. */
  testAccuracy: number;
  /** Per-epoch history. */
  history: TeacherEpoch[];
  /** Wall seconds of the whole training. */
  wallSeconds: number;
}

/** Running sums of a training epoch, kept on the device. */
export interface StepSums {
  /** Sum over the images so far of the cross-entropy loss. */
  lossSum: tf.Scalar;
  /** Number of correctly labelled images so far (int32). */
  correct: tf.Scalar;
}

/**
 * One training step in one `tf.tidy`: forward in training mode (BatchNorm
 * batch statistics, running statistics updated), mean cross-entropy,
 * gradients of `vars`, the optimiser's update; returns `sums` plus this
 * batch's loss sum and correct count as new scalars (the caller disposes
 * `sums`, `x` and `y`). Nothing is read back from the device.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { trainStep } from "./train.ts";
 * import type { Classifier } from "../classifier.ts";
 * import type { Optimizer } from "../../util/optim.ts";
 * declare const c: Classifier;
 * declare const opt: Optimizer;
 * declare const x: tf.Tensor4D;
 * declare const y: tf.Tensor1D;
 * const vars = c.model.trainableWeights.map((w) => w.read() as tf.Variable);
 * const sums = trainStep(c, opt, vars, x, y, { lossSum: tf.scalar(0), correct: tf.scalar(0, "int32") });
 * ```
 */
export function trainStep(
  classifier: Classifier,
  optimizer: Optimizer,
  vars: tf.Variable[],
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  sums: StepSums,
): StepSums {
  return tf.tidy(() => {
    let hits: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const { logits } = forward(classifier, x, true);
      hits = tf.keep(tf.sum(tf.equal(tf.argMax(logits, 1), y).toInt()));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(y, classifier.classes), logits) as tf.Scalar;
    }, vars);
    optimizer.applyGradients(grads, vars);
    const batchHits = hits as tf.Scalar;
    const out = {
      lossSum: sums.lossSum.add(value.mul(y.shape[0])) as tf.Scalar,
      correct: sums.correct.add(batchHits) as tf.Scalar,
    };
    batchHits.dispose();
    return out;
  });
}

/** What one training epoch of {@linkcode trainTeacher} works with. */
interface EpochPass {
  classifier: Classifier;
  optimizer: Optimizer;
  vars: tf.Variable[];
  data: Dataset;
  recipe: TeacherDeclaration["recipe"];
  dataRng: Rng;
  progress: Progress;
  steps: number;
}

/**
 * One pass over the shuffled, augmented training split at learning rate
 * `lr`: its mean loss and training accuracy. Loss and correct count stay on
 * the device and are read about once a second for the progress display; a
 * non-finite loss is a `UserError` (lower the learning rate).
 */
async function trainEpoch(
  p: EpochPass,
  epoch: number,
  lr: number,
): Promise<{ loss: number; trainAccuracy: number }> {
  const { classifier, data, recipe } = p;
  const arch = classifier.arch;
  // Sums over the epoch's images, kept on the device.
  let lossSum: tf.Scalar = tf.scalar(0);
  let correct: tf.Scalar = tf.scalar(0, "int32");
  let seen = 0;
  let lastRead = performance.now();
  let step = 0;
  let shownLoss = NaN; // the running mean loss on display, refreshed about once a second
  const diverged = (value: number) =>
    new UserError(
      `teacher ${arch} on ${data.name}: the training loss is ${value} at epoch ${
        epoch + 1
      }; lower the learning rate (${lr})`,
      1,
    );
  for (
    const { x, y } of iterateBatches(data.train, {
      imageShape: data.imageShape,
      normalisation: data.normalisation,
      batchSize: recipe.batchSize,
      rng: p.dataRng,
      shuffle: true,
      augment: recipe.augment,
    })
  ) {
    const n = y.shape[0];
    const next = trainStep(classifier, p.optimizer, p.vars, x, y, { lossSum, correct });
    tf.dispose([lossSum, correct, x, y]);
    lossSum = next.lossSum;
    correct = next.correct;
    seen += n;
    step++;
    const now = performance.now();
    if (now - lastRead > 1000) {
      lastRead = now;
      shownLoss = ((await lossSum.data())[0] as number) / seen;
      if (!Number.isFinite(shownLoss)) throw diverged(shownLoss);
    }
    p.progress.update(epoch * p.steps + step, {
      epoch: `${epoch + 1}/${recipe.epochs}`,
      loss: Number.isFinite(shownLoss) ? shownLoss.toFixed(4) : "-",
    });
  }
  const loss = ((await lossSum.data())[0] as number) / seen;
  const trainAccuracy = ((await correct.data())[0] as number) / seen;
  tf.dispose([lossSum, correct]);
  if (!Number.isFinite(loss)) throw diverged(loss);
  return { loss, trainAccuracy };
}

/** Options of {@linkcode trainTeacher}. */
export interface TrainTeacherOptions {
  /** Where progress goes. */
  log: Logger;
  /** Evaluate on the test split every this many epochs (default: every epoch; 0 = only at the end). */
  evalEvery?: number;
  /** Batch size of the evaluations (default 512). */
  evalBatchSize?: number;
}

/**
 * Builds `declaration.arch` seeded from the recipe's seed and trains it on
 * `data.train` by the recipe; evaluates on `data.test`. Same declaration,
 * same backend: identical weights.
 *
 * Each step runs in one `tf.tidy` (forward in training mode, gradients,
 * optimiser update) and keeps the loss and correct count on the device;
 * they are read at most about once a second for the progress display.
 *
 * @example
 * ```ts
 * import { trainTeacher } from "./train.ts";
 * import { declareTeacher } from "./recipe.ts";
 * import { getDataset } from "../../data/registry.ts";
 * import { lineLogger } from "../../util/logger.ts";
 * const data = await getDataset("mnist").load({ dataRoot: "/tmp" });
 * const t = await trainTeacher(declareTeacher("lenet5", "mnist", { epochs: 1 }), data, { log: lineLogger() });
 * console.log(t.testAccuracy);
 * ```
 */
export async function trainTeacher(
  declaration: TeacherDeclaration,
  data: Dataset,
  options: TrainTeacherOptions,
): Promise<TrainedTeacher> {
  const { arch, recipe } = declaration;
  const { log } = options;
  if (data.train.size === 0) {
    throw new UserError(`${data.name}: the training split is empty; cannot train a teacher`, 1);
  }
  const start = performance.now();
  const rng = new Rng(`teacher:${recipe.seed}`);
  const classifier = buildClassifier(arch, {
    inputShape: data.imageShape,
    classes: data.classes,
    seed: rng.fork("init"),
  });
  const dataRng = rng.fork("data");
  const vars = classifier.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = new Optimizer(recipe.optimizer);
  const baseLr = recipe.optimizer.lr;
  const evalEvery = options.evalEvery ?? 1;
  const evaluate = () =>
    evaluateAccuracy(classifier, data.test, {
      imageShape: data.imageShape,
      normalisation: data.normalisation,
      batchSize: options.evalBatchSize ?? 512,
    });
  const steps = batchCount(data.train.size, recipe.batchSize);
  const progress = log.progress(`teacher ${arch} on ${data.name}`, recipe.epochs * steps);
  const history: TeacherEpoch[] = [];
  let testAccuracy = NaN;
  const pass = { classifier, optimizer, vars, data, recipe, dataRng, progress, steps };
  try {
    for (let epoch = 0; epoch < recipe.epochs; epoch++) {
      const epochStart = performance.now();
      const lr = learningRateAt(recipe.schedule, baseLr, epoch);
      optimizer.setLearningRate(lr);
      const { loss, trainAccuracy } = await trainEpoch(pass, epoch, lr);
      const last = epoch === recipe.epochs - 1;
      const record: TeacherEpoch = {
        epoch: epoch + 1,
        lr,
        loss,
        trainAccuracy,
        seconds: 0,
      };
      if (last || (evalEvery > 0 && (epoch + 1) % evalEvery === 0)) {
        testAccuracy = await evaluate();
        record.testAccuracy = testAccuracy;
      }
      record.seconds = (performance.now() - epochStart) / 1000;
      history.push(record);
      const test = record.testAccuracy === undefined
        ? ""
        : `, test accuracy ${(100 * record.testAccuracy).toFixed(2)}%`;
      log.info(
        `teacher ${arch} on ${data.name}: epoch ${epoch + 1}/${recipe.epochs} lr ${
          lr.toPrecision(3)
        } loss ${loss.toFixed(4)} train accuracy ${(100 * trainAccuracy).toFixed(2)}%${test}`,
      );
    }
  } catch (error) {
    classifier.model.dispose();
    if (!(error instanceof UserError) && /Aborted\(\)/.test(String(error))) {
      // The wasm module aborts (it cannot be used again) when its heap, at most 4 GiB, is full.
      throw new UserError(
        `teacher ${arch} on ${data.name}: the ${tf.getBackend()} backend aborted, most likely out of memory (its heap is at most 4 GiB) at batch ${recipe.batchSize}; use a smaller batch (--batch-size) or a native backend (tfjs-node)`,
        1,
      );
    }
    throw error;
  } finally {
    progress.stop();
    optimizer.dispose();
  }
  return {
    classifier,
    testAccuracy,
    history,
    wallSeconds: (performance.now() - start) / 1000,
  };
}
