/**
 * Finds the state dict in what a checkpoint holds: a bare state dict, a dict
 * with the state dict under `state_dict` / `model` / `net` (next to `epoch`,
 * `acc` ...), keys with the `module.` prefix `nn.DataParallel` adds, or a
 * whole pickled `nn.Module` of any class (its `_parameters`, `_buffers` and
 * `_modules`, read recursively).
 *
 * @module
 */
import { UserError } from "../../util/errors.ts";
import { PyObject } from "./pickle.ts";
import { TorchTensor } from "./tensor.ts";

/** A state dict and where in the checkpoint it was. */
export interface FoundStateDict {
  /** Tensors by PyTorch key, in the file's order. */
  tensors: Map<string, TorchTensor>;
  /** Where it was, for messages (e.g. `the "state_dict" entry`, `a pickled networks.lenet.LeNet5`). */
  container: string;
}

const CONTAINER_KEYS = ["state_dict", "model_state_dict", "model", "net", "state", "teacher"];

function isTensorDict(v: unknown): v is Map<string, unknown> {
  if (!(v instanceof Map) || v.size === 0) return false;
  return [...v.values()].some((t) => t instanceof TorchTensor);
}

function isModule(v: unknown): v is PyObject {
  return v instanceof PyObject && v.state instanceof Map && v.state.has("_modules");
}

function moduleTensors(m: PyObject, prefix: string, out: Map<string, TorchTensor>): void {
  const state = m.state as Map<string, unknown>;
  const skip = state.get("_non_persistent_buffers_set");
  for (const field of ["_parameters", "_buffers"]) {
    const entries = state.get(field);
    if (!(entries instanceof Map)) continue;
    for (const [name, t] of entries) {
      if (t instanceof TorchTensor && !(skip instanceof Set && skip.has(name))) {
        out.set(`${prefix}${name}`, t);
      }
    }
  }
  const children = state.get("_modules");
  if (!(children instanceof Map)) return;
  for (const [name, child] of children) {
    if (isModule(child)) moduleTensors(child, `${prefix}${name}.`, out);
  }
}

function tensorsOf(dict: Map<string, unknown>): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of dict) if (v instanceof TorchTensor) out.set(String(k), v);
  return out;
}

function describe(root: unknown): string {
  if (root instanceof Map) {
    const keys = [...root.keys()].slice(0, 8).map(String);
    return `a dict with keys ${keys.join(", ")}${root.size > 8 ? ", ..." : ""}`;
  }
  if (root instanceof PyObject) return `an object of class ${root.cls.path}`;
  return `a ${Array.isArray(root) ? "list" : typeof root}`;
}

/**
 * The state dict in `root` (see the module doc), `module.` prefixes removed
 * when every key has one; a `UserError` naming `file` when there is none.
 *
 * @example
 * ```ts
 * import { findStateDict } from "./state_dict.ts";
 * import { TorchStorage, TorchTensor } from "./tensor.ts";
 * const t = new TorchTensor(new TorchStorage("float32", "0", 1), 0, [1], [1]);
 * const { tensors } = findStateDict(new Map([["module.fc.bias", t]]), "x.pth");
 * console.log([...tensors.keys()]); // ["fc.bias"]
 * ```
 */
export function findStateDict(root: unknown, file: string): FoundStateDict {
  let found: FoundStateDict | undefined;
  if (isModule(root)) {
    const tensors = new Map<string, TorchTensor>();
    moduleTensors(root, "", tensors);
    found = { tensors, container: `a pickled ${root.cls.path} module` };
  } else if (isTensorDict(root)) {
    found = { tensors: tensorsOf(root), container: "a bare state dict" };
  } else if (root instanceof Map) {
    for (const key of CONTAINER_KEYS) {
      const v = root.get(key);
      if (isTensorDict(v)) {
        found = { tensors: tensorsOf(v), container: `the ${JSON.stringify(key)} entry` };
      } else if (isModule(v)) {
        const tensors = new Map<string, TorchTensor>();
        moduleTensors(v, "", tensors);
        found = { tensors, container: `a pickled ${v.cls.path} module in ${JSON.stringify(key)}` };
      }
      if (found !== undefined) break;
    }
  }
  if (found === undefined || found.tensors.size === 0) {
    throw new UserError(
      `${file}: no state dict found: the checkpoint holds ${
        describe(root)
      } (expected a state dict, a dict with one under ${
        CONTAINER_KEYS.map((k) => JSON.stringify(k)).join("/")
      }, or a pickled nn.Module)`,
      2,
    );
  }
  const keys = [...found.tensors.keys()];
  if (keys.every((k) => k.startsWith("module."))) {
    found.tensors = new Map([...found.tensors].map(([k, v]) => [k.slice("module.".length), v]));
    found.container += " (nn.DataParallel's module. prefix removed)";
  }
  return found;
}
