import assert from "node:assert/strict";
import { unzipSync, zipSync } from "fflate";
import { initBackend } from "../../../src/backends/init_backend.ts";
import {
  convertPytorchCheckpoint,
  findStateDict,
  importPytorchTeacher,
  parseCheckpoint,
  type TorchTensor,
} from "../../../src/models/pytorch/mod.ts";
import { UserError } from "../../../src/util/errors.ts";
import { withTempDir } from "../../temp_dir.ts";
import { floatTensor } from "./synthetic.ts";
import { safetensorsBytes } from "./safetensors_writer.ts";

await initBackend("wasm");

const FIXTURES = new URL("./fixtures/", import.meta.url);
const fixture = (name: string) => Deno.readFile(new URL(name, FIXTURES));
const HALF = { arch: "lenet5-half", dataset: "mnist" } as const;

/** Converting `bytes` as `file` fails with a one-line UserError matching `pattern`. */
function refuses(bytes: Uint8Array, file: string, pattern: RegExp, options = HALF): void {
  assert.throws(
    () =>
      convertPytorchCheckpoint(bytes, file, { ...options, warn: () => {} }).classifier.model
        .dispose(),
    (e: unknown) => {
      assert.ok(e instanceof UserError, `not a UserError: ${e}`);
      assert.equal(e.exitCode, 2);
      assert.ok(!e.message.includes("\n"), `more than one line: ${e.message}`);
      assert.ok(e.message.startsWith(`${file}: `), `does not name the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

async function halfTensors(): Promise<Map<string, TorchTensor>> {
  const bytes = await fixture("lenet5_half.safetensors");
  return findStateDict(parseCheckpoint(bytes, "x").root, "x").tensors;
}

Deno.test("a truncated file is refused in every format", async () => {
  for (
    const name of ["lenet5_half_container.pth", "lenet5_half_legacy.pth", "lenet5_half.safetensors"]
  ) {
    const bytes = await fixture(name);
    for (const keep of [0.3, 0.999]) {
      refuses(bytes.slice(0, Math.floor(bytes.length * keep)), `cut-${name}`, /truncated/);
    }
  }
});

Deno.test("a text file and an empty file are not checkpoints", () => {
  const text = new TextEncoder().encode("epoch,acc\n1,0.98\n");
  refuses(text, "notes.pth", /not a PyTorch checkpoint.*starts with "epoch,acc/);
  refuses(new Uint8Array(), "empty.pth", /not a PyTorch checkpoint.*is empty/);
});

Deno.test("a key missing from the state dict is named", async () => {
  const tensors = await halfTensors();
  tensors.delete("conv2.bias");
  refuses(
    safetensorsBytes(tensors),
    "missing.safetensors",
    /key conv2\.bias of lenet5-half is missing/,
  );
});

Deno.test("a shape that does not fit names the key, both shapes and the architecture that fits", async () => {
  const bytes = await fixture("lenet5_state_dict.pth");
  refuses(
    bytes,
    "lenet5.pth",
    /key conv1\.weight has shape \[6, 1, 5, 5\] in the checkpoint but lenet5-half needs \[3, 1, 5, 5\]; the checkpoint fits --arch lenet5$/,
  );
  const tensors = await halfTensors();
  tensors.set("fc1.weight", floatTensor(new Float32Array(42 * 61), [42, 61]));
  refuses(
    safetensorsBytes(tensors),
    "odd.safetensors",
    /key fc1\.weight has shape \[42, 61\] .* needs \[42, 60\]$/,
  );
});

Deno.test("extra keys (another depth of the same family) are refused", async () => {
  const tensors = await halfTensors();
  tensors.set("fc3.weight", floatTensor(new Float32Array(4), [2, 2]));
  refuses(
    safetensorsBytes(tensors),
    "extra.safetensors",
    /key fc3\.weight in the checkpoint is not part of lenet5-half/,
  );
});

Deno.test("a class count that differs from the dataset's is named", async () => {
  const tensors = await halfTensors();
  tensors.set("fc2.weight", floatTensor(new Float32Array(7 * 42), [7, 42]));
  tensors.set("fc2.bias", floatTensor(new Float32Array(7), [7]));
  refuses(
    safetensorsBytes(tensors),
    "seven.safetensors",
    /the checkpoint predicts 7 classes \(fc2\.weight is \[7, 42\]\) but mnist has 10/,
  );
});

Deno.test("a pickle calling a forbidden global is refused and runs nothing", async () => {
  const marker = "/tmp/dfkd-bench-pickle-ran";
  await Deno.remove(marker).catch(() => {});
  refuses(await fixture("bad_os_system.pth"), "os.pth", /refers to the global posix\.system/);
  refuses(
    await fixture("bad_eval.pth"),
    "eval.pth",
    /refers to the global (__builtin__|builtins)\.eval/,
  );
  refuses(
    await fixture("bad_unknown_call.pth"),
    "call.pth",
    /calls the global payload\.run, which is not/,
  );
  await assert.rejects(Deno.stat(marker));
});

Deno.test("a storage offset beyond the file is refused", async () => {
  // conv1.weight's storage offset (BININT1 0 right after its BINPERSID) becomes 255 (75 elements).
  const entries = unzipSync(await fixture("lenet5_half_container.pth"));
  const name = Object.keys(entries).find((n) => n.endsWith("data.pkl"))!;
  const pkl = entries[name]!;
  const at = pkl.findIndex((b, i) => b === 0x51 && pkl[i + 1] === 0x4b && pkl[i + 2] === 0);
  assert.ok(at > 0);
  pkl[at + 2] = 255;
  const bytes = zipSync(entries, { level: 0 });
  refuses(
    bytes,
    "offset.pth",
    /key conv1\.weight: storage offset 255 .* beyond its storage .* of 75 elements/,
  );
});

Deno.test("a declared size larger than the file is refused", async () => {
  const legacy = await fixture("lenet5_half_legacy.pth");
  refuses(
    legacy.slice(0, legacy.length - 16),
    "short.pth",
    /declares \d+ float32 elements .* the file has \d+ bytes left/,
  );
  const st = (await fixture("lenet5_half.safetensors")).slice();
  new DataView(st.buffer).setBigUint64(0, 10n ** 9n, true);
  refuses(st, "header.safetensors", /header declares 1000000000 bytes but the file has/);
  // A zip storage entry shorter than its declared element count.
  const entries = unzipSync(await fixture("lenet5_half_container.pth"));
  const data = Object.keys(entries).find((n) => n.endsWith("/data/0"))!;
  entries[data] = entries[data]!.slice(0, 40);
  refuses(
    zipSync(entries, { level: 0 }),
    "short-entry.pth",
    /storage 0 declares 75 float32 elements \(300 bytes\) but its entry holds 40 bytes/,
  );
});

Deno.test("an unreadable path is a UserError naming it", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      importPytorchTeacher(`${dir}/none.pth`, HALF),
      (e: unknown) =>
        e instanceof UserError && e.message.startsWith(`${dir}/none.pth: cannot read`),
    );
  });
});
