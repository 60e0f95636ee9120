/**
 * `deno task bench`: convolution forward, backprop-input and backprop-filter
 * time per backend on CIFAR-like shapes (batch 64). GMAC/s and the
 * backprop/forward ratios are printed by `deno task kernels`.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backends/init_backend.ts";
import { type ConvPass, convPassRunner } from "../../src/backends/conv_throughput.ts";
import { CIFAR_SHAPES, shapeLabel } from "../../tools/conv_shapes.ts";

const PASSES: ConvPass[] = ["forward", "backprop-input", "backprop-filter"];

for (const backend of ["wasm", "cpu"] as const) {
  for (const shape of CIFAR_SHAPES) {
    for (const pass of PASSES) {
      let runner: ReturnType<typeof convPassRunner> | undefined;
      Deno.bench({
        name: `${backend} ${pass} ${shapeLabel(shape)}`,
        group: `${backend} ${shapeLabel(shape)}`,
        baseline: pass === "forward",
        // The cpu backend is slow: a few iterations are enough.
        ...(backend === "cpu" ? { n: 3, warmup: 1 } : {}),
        async fn(b) {
          if (tf.getBackend() !== backend) await initBackend(backend);
          runner ??= convPassRunner(shape, pass);
          b.start();
          await runner.run();
          b.end();
        },
      });
    }
  }
}
