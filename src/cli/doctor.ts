/**
 * `dfkd doctor`: what this machine offers dfkd-bench.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendRequest, initBackend } from "../backends/init_backend.ts";
import { type ConvShape, measureConvThroughput } from "../backends/conv_throughput.ts";
import { collectEnvironment } from "../util/environment.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";
import { MAX_WASM_THREADS } from "../backends/wasm_threads.ts";

const USAGE =
  "doctor [--backend auto|tfjs-node-gpu|webgpu|tfjs-node|wasm|cpu] [--threads N] [--json]";

/** The shape of the 2-second throughput probe (a CIFAR-like middle layer). */
export const DOCTOR_PROBE_SHAPE: ConvShape = {
  batch: 32,
  size: 16,
  inC: 32,
  outC: 64,
  kernel: 3,
  stride: 1,
};

/**
 * Prints versions, every backend with why it is or is not available, the
 * chosen one, its threads, and a 2-second convolution throughput probe.
 *
 * @example
 * ```ts
 * import { doctorCommand } from "./doctor.ts";
 * await doctorCommand.run(["--backend", "cpu"]);
 * ```
 */
export const doctorCommand: Command = {
  summary: "Show versions, available backends and a 2-second convolution speed probe",
  usage: USAGE,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      backend: { type: "string", default: "auto" },
      threads: { type: "string" },
      json: { type: "boolean" },
    }, USAGE);
    const threads = parseIntFlag("--threads", values.threads, 1, MAX_WASM_THREADS);
    const info = await initBackend((values.backend ?? "auto") as BackendRequest, {
      probeAll: true,
      ...(threads !== undefined ? { threads } : {}),
    });
    const env = await collectEnvironment(info);
    const forward = await measureConvThroughput(DOCTOR_PROBE_SHAPE, "forward", 1);
    const filter = await measureConvThroughput(DOCTOR_PROBE_SHAPE, "backprop-filter", 1);
    const report = {
      environment: env,
      backends: info.probes,
      chosen: info.name,
      threads: info.threads,
      customKernels: info.customKernels,
      native: info.native,
      probe: { shape: DOCTOR_PROBE_SHAPE, forwardGmacs: forward, backpropFilterGmacs: filter },
    };
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const s = DOCTOR_PROBE_SHAPE;
    console.log(`dfkd-bench doctor
  Deno            ${env.deno}
  TensorFlow.js   ${env.tfjs} (wasm backend ${env.tfjsBackendWasm})
  CPU             ${env.cpuModel} (${env.cpus} logical)
  Git             ${env.gitCommit}${env.gitDirty ? " (dirty)" : ""}
Backends (tried fastest first):`);
    for (const p of info.probes) {
      console.log(`  ${p.available ? "✓" : "✗"} ${p.name.padEnd(14)} ${p.detail}`);
    }
    console.log(
      `Chosen backend    ${info.name} (tfjs "${tf.getBackend()}"), threads ${info.threads}`,
    );
    console.log(`Custom kernels    ${info.customKernels.join(", ") || "none"}`);
    if (info.native != null) {
      console.log(
        `Native kernels    ${
          info.native.available
            ? `${info.native.detail}: matrix products, Conv2D and both convolution gradients`
            : `none: ${info.native.detail}`
        }`,
      );
    }
    console.log(
      `Conv probe        ${s.batch}x${s.size}x${s.size}x${s.inC} -> ${s.outC}, 3x3: ` +
        `forward ${forward.toFixed(2)} GMAC/s, backprop-filter ${filter.toFixed(2)} GMAC/s`,
    );
    return 0;
  },
};
