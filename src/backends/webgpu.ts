/**
 * The WebGPU route: `@tensorflow/tfjs-backend-webgpu` on Deno's built-in
 * `navigator.gpu` (wgpu; Vulkan on Linux). A GPU server needs its driver's
 * Vulkan ICD and `libvulkan1`; Mesa's llvmpipe (`mesa-vulkan-drivers`) gives
 * a CPU adapter, correct but about 100x slower than wasm, which CI uses for
 * correctness tests. Synchronous reads (`dataSync`) fail on this backend
 * under Deno: code reads tensors with `await data()`.
 *
 * @module
 */

/** What the WebGPU adapter is. */
export interface WebGpuAdapterInfo {
  /** The adapter's description (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`, a GPU's name). */
  description: string;
  /** Vendor (PCI id or name, as the driver reports it). */
  vendor: string;
  /** Architecture, when reported. */
  architecture: string;
  /** Whether it is a CPU (software) adapter: llvmpipe, lavapipe, SwiftShader or a fallback. */
  cpu: boolean;
  /** The limits that bound model size. */
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
  };
}

/** The result of looking for an adapter: its info, or why there is none. */
export type WebGpuLookup = { found: true; info: WebGpuAdapterInfo } | {
  found: false;
  reason: string;
};

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i;

/**
 * Asks `navigator.gpu` for an adapter (high performance first) and describes it.
 *
 * @example
 * ```ts
 * import { findWebGpuAdapter } from "./webgpu.ts";
 * const found = await findWebGpuAdapter();
 * console.log(found.found ? found.info.description : found.reason);
 * ```
 */
export async function findWebGpuAdapter(): Promise<WebGpuLookup> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (gpu === undefined) return { found: false, reason: "this Deno has no navigator.gpu" };
  quietVulkanLoader();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    return { found: false, reason: `requestAdapter failed: ${String(error).split("\n")[0]}` };
  }
  if (adapter === null) {
    return {
      found: false,
      reason: "no WebGPU adapter (a GPU needs its driver's Vulkan ICD and libvulkan1; " +
        "mesa-vulkan-drivers gives a CPU adapter)",
    };
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const description = info.description || info.device || "unknown adapter";
  return {
    found: true,
    info: {
      description,
      vendor: info.vendor,
      architecture: info.architecture,
      cpu: info.isFallbackAdapter === true || SOFTWARE.test(description),
      limits: {
        maxBufferSize: adapter.limits.maxBufferSize,
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      },
    },
  };
}

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every
 * adapter request where the variable is unset (servers, CI): point it at a
 * private folder first.
 */
function quietVulkanLoader(): void {
  if (Deno.env.get("XDG_RUNTIME_DIR")) return;
  try {
    const uid = Deno.uid() ?? "user";
    const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dfkd-bench-runtime-${uid}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Only cosmetic: the drivers then print their warning.
  }
}

/**
 * One line describing an adapter, for `doctor` and the backend probe.
 *
 * @example
 * ```ts
 * import { describeAdapter } from "./webgpu.ts";
 * console.log(describeAdapter({
 *   description: "llvmpipe", vendor: "65541", architecture: "", cpu: true,
 *   limits: { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 27,
 *     maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024 },
 * }));
 * ```
 */
export function describeAdapter(info: WebGpuAdapterInfo): string {
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  return `${info.description} (vendor ${info.vendor || "?"}${
    info.architecture ? `, ${info.architecture}` : ""
  }${info.cpu ? ", CPU adapter" : ""}; max buffer ${mib(info.limits.maxBufferSize)}, ` +
    `storage binding ${mib(info.limits.maxStorageBufferBindingSize)})`;
}
