/**
 * A Python pickle reader that executes nothing. It understands the opcodes of
 * protocols 0 to 5 that PyTorch checkpoints use and builds plain values:
 * `dict` and `OrderedDict` as `Map`, lists and tuples as arrays, `set` as
 * `Set`, `bytes` as `Uint8Array`, integers as numbers (or `bigint` beyond
 * 2^53). A class global becomes a {@linkcode PyGlobal}; instantiating it
 * (`NEWOBJ`, `copyreg._reconstructor`) gives a {@linkcode PyObject} holding
 * the state `BUILD` sets, and no code of the class runs. Calls (`REDUCE`)
 * are allowed only to the functions a checkpoint needs (see
 * {@linkcode PICKLE_CALLABLES}); anything else, and any global from a module
 * such as `os`, `subprocess` or `builtins`, is refused with an error naming
 * the file and the global.
 *
 * @module
 */
import { UserError } from "../../util/errors.ts";
import { rebuildTensor } from "./tensor.ts";

/** A reference to a Python global (`module.name`), as `GLOBAL` pushes it. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  /** `module.name`. */
  get path(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of a class global, built without running the class: its state and arguments. */
export class PyObject {
  /** What `BUILD` set (a module's `__dict__`), or undefined. */
  state: unknown = undefined;
  constructor(readonly cls: PyGlobal, readonly args: readonly unknown[]) {}
}

/** What a persistent id (`BINPERSID`) resolves to: the reader's storage table. */
export type PersistentLoad = (pid: unknown) => unknown;

/** Options of {@linkcode unpickle}. */
export interface UnpickleOptions {
  /** The file the bytes came from, named in every error. */
  file: string;
  /** Resolves persistent ids (PyTorch's storages); without it they are an error. */
  persistentLoad?: PersistentLoad;
  /** Where to start reading (default 0). */
  offset?: number;
}

/** The callables a PyTorch checkpoint's pickle may call, by `module.name`. */
export const PICKLE_CALLABLES: Record<string, (args: unknown[]) => unknown> = {
  "collections.OrderedDict": (args) => new Map(args[0] === undefined ? [] : pairs(args[0])),
  // MultiStepLR's milestones, in the scheduler state CMI's checkpoints carry.
  "collections.Counter": (args) => new Map(args[0] === undefined ? [] : pairs(args[0])),
  "builtins.set": (args) => new Set(args[0] === undefined ? [] : (args[0] as unknown[])),
  "__builtin__.set": (args) => new Set(args[0] === undefined ? [] : (args[0] as unknown[])),
  "builtins.frozenset": (args) => new Set(args[0] === undefined ? [] : (args[0] as unknown[])),
  "__builtin__.frozenset": (args) => new Set(args[0] === undefined ? [] : (args[0] as unknown[])),
  "torch.Size": (args) => [...(args[0] as unknown[])],
  "torch.device": (args) => String(args[0]),
  "_codecs.encode": (args) => latin1Bytes(String(args[0])),
  "copyreg._reconstructor": (args) => new PyObject(args[0] as PyGlobal, []),
  "copy_reg._reconstructor": (args) => new PyObject(args[0] as PyGlobal, []),
  "torch._utils._rebuild_tensor_v2": rebuildTensor,
  "torch._utils._rebuild_tensor": rebuildTensor,
  "torch._utils._rebuild_parameter": (args) => args[0],
  "torch._utils._rebuild_parameter_with_state": (args) => args[0],
  "numpy.core.multiarray.scalar": (args) => ({ numpyScalar: args }),
  "numpy._core.multiarray.scalar": (args) => ({ numpyScalar: args }),
  "numpy.dtype": (args) => new PyObject(new PyGlobal("numpy", "dtype"), args),
  // A tensor subclass: (rebuild function, class, its arguments, state); only allowed rebuilds run.
  "torch._tensor._rebuild_from_type_v2": (args) => {
    const [fn, , inner] = args;
    const impl = fn instanceof PyGlobal ? PICKLE_CALLABLES[fn.path] : undefined;
    if (impl === undefined || !Array.isArray(inner)) {
      throw new Error(`a tensor subclass rebuilt by ${fn instanceof PyGlobal ? fn.path : "?"}`);
    }
    return impl(inner);
  },
};

/** Modules none of whose globals a checkpoint ever names. */
const FORBIDDEN_MODULES = [
  "os",
  "posix",
  "nt",
  "subprocess",
  "sys",
  "builtins",
  "__builtin__",
  "shutil",
  "socket",
  "importlib",
  "pickle",
  "_pickle",
  "runpy",
  "code",
  "codeop",
  "ctypes",
  "multiprocessing",
  "pty",
  "signal",
  "webbrowser",
  "io",
  "pathlib",
  "tempfile",
  "urllib",
  "http",
  "functools",
  "operator",
  "types",
  "marshal",
  "torch.hub",
];

function pairs(value: unknown): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  return (value as unknown[][]).map((p) => [p[0], p[1]]);
}

function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** The forbidden-module check for a global (`os.system`, `builtins.eval`, `subprocess.Popen`). */
function refusal(path: string, file: string): UserError {
  return new UserError(
    `${file}: the pickle refers to the global ${path}, which no checkpoint needs; refusing to read it (dfkd-bench executes nothing from a pickle)`,
    2,
  );
}

function isForbidden(module: string, name: string): boolean {
  const allowedBuiltin = PICKLE_CALLABLES[`${module}.${name}`] !== undefined;
  if (allowedBuiltin) return false;
  return FORBIDDEN_MODULES.some((m) => module === m || module.startsWith(`${m}.`));
}

/**
 * Reads one pickle from `bytes` (starting at `options.offset`) and returns
 * its value and the offset just past its `STOP` opcode.
 *
 * @example
 * ```ts
 * import { unpickle } from "./pickle.ts";
 * // pickle.dumps({"a": 1}, protocol=2)
 * const bytes = new Uint8Array([0x80, 2, 0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, 0x61, 0x71, 1, 0x4b, 1, 0x73, 0x2e]);
 * const { value } = unpickle(bytes, { file: "x.pkl" });
 * console.log((value as Map<string, number>).get("a")); // 1
 * ```
 */
export function unpickle(
  bytes: Uint8Array,
  options: UnpickleOptions,
): { value: unknown; end: number } {
  return new Unpickler(bytes, options).run();
}

class Unpickler {
  private pos: number;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();
  private view: DataView;
  private file: string;

  constructor(private bytes: Uint8Array, private options: UnpickleOptions) {
    this.pos = options.offset ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.file = options.file;
  }

  private fail(what: string): never {
    throw new UserError(`${this.file}: not a readable pickle: ${what} at byte ${this.pos}`, 2);
  }

  private need(n: number): number {
    if (this.pos + n > this.bytes.length) this.fail("the data ends early (truncated file?)");
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.bytes[this.need(1)] as number;
  }
  private u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  private u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  private i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  private u64(): number {
    const n = this.view.getBigUint64(this.need(8), true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) this.fail("a length beyond 2^53");
    return Number(n);
  }
  private raw(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  private text(n: number): string {
    return new TextDecoder().decode(this.raw(n));
  }
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail("a text argument without its newline (truncated file?)");
    const s = new TextDecoder("latin1").decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private pop(): unknown {
    if (this.stack.length === 0) this.fail("an opcode with an empty stack");
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail("an opcode with an empty stack");
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const at = this.marks.pop();
    if (at === undefined) this.fail("a MARK-terminated opcode without a MARK");
    const items = this.stack.splice(at);
    return items;
  }

  private global(module: string, name: string): PyGlobal {
    const g = new PyGlobal(module, name);
    if (isForbidden(module, name)) throw refusal(g.path, this.file);
    return g;
  }

  private call(fn: unknown, args: unknown): unknown {
    if (!(fn instanceof PyGlobal)) this.fail("a call of something that is not a global");
    const impl = PICKLE_CALLABLES[fn.path];
    if (impl === undefined) {
      throw new UserError(
        `${this.file}: the pickle calls the global ${fn.path}, which is not one a checkpoint needs; refusing to read it (dfkd-bench executes nothing from a pickle)`,
        2,
      );
    }
    if (!Array.isArray(args)) this.fail(`a call of ${fn.path} without an argument tuple`);
    try {
      return impl(args);
    } catch (error) {
      if (error instanceof UserError) throw error;
      this.fail(`${fn.path}: ${(error as Error).message}`);
    }
  }

  private textInt(text: string): number | bigint {
    if (!/^[-+]?\d+$/.test(text)) this.fail(`an integer argument ${JSON.stringify(text)}`);
    const n = BigInt(text);
    const safe = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? Number(n) : n;
  }

  private long(data: Uint8Array): number | bigint {
    if (data.length === 0) return 0;
    let n = 0n;
    for (let i = data.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(data[i] as number);
    if ((data[data.length - 1] as number) & 0x80) n -= 1n << BigInt(8 * data.length);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : n;
  }

  private build(target: unknown, state: unknown): void {
    if (target instanceof PyObject) target.state = state;
    // An OrderedDict's state (its `_metadata` attribute) carries no tensors: ignore it.
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.fail("SETITEM on something that is not a dict");
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  run(): { value: unknown; end: number } {
    for (;;) {
      const op = this.u8();
      if (op === 0x2e) return { value: this.pop(), end: this.pos }; // STOP
      this.step(op);
    }
  }

  private step(op: number): void {
    const handled = this.stepControlAndNumber(op) || this.stepText(op) ||
      this.stepContainer(op) || this.stepMemoAndObject(op);
    if (!handled) this.fail(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
  }

  /** Opcodes for control and numbers; false when `op` is not one of them. */
  private stepControlAndNumber(op: number): boolean {
    const s = this.stack;
    switch (op) {
      case 0x80: // PROTO
        this.u8();
        return true;
      case 0x95: // FRAME
        this.u64();
        return true;
      case 0x28: // MARK
        this.marks.push(s.length);
        return true;
      case 0x30: // POP
        this.pop();
        return true;
      case 0x31: // POP_MARK
        this.popMark();
        return true;
      case 0x32: // DUP
        s.push(this.top());
        return true;
      case 0x4e: // NONE
        s.push(null);
        return true;
      case 0x88: // NEWTRUE
        s.push(true);
        return true;
      case 0x89: // NEWFALSE
        s.push(false);
        return true;
      case 0x4a: // BININT
        s.push(this.i32());
        return true;
      case 0x4b: // BININT1
        s.push(this.u8());
        return true;
      case 0x4d: // BININT2
        s.push(this.u16());
        return true;
      case 0x49: { // INT
        const t = this.line();
        s.push(t === "01" ? true : t === "00" ? false : this.textInt(t));
        return true;
      }
      case 0x4c: // LONG
        s.push(this.textInt(this.line().replace(/L$/, "")));
        return true;
      case 0x8a: // LONG1
        s.push(this.long(this.raw(this.u8())));
        return true;
      case 0x8b: // LONG4
        s.push(this.long(this.raw(this.i32())));
        return true;
      case 0x46: // FLOAT
        s.push(Number.parseFloat(this.line()));
        return true;
      case 0x47: // BINFLOAT
        s.push(this.view.getFloat64(this.need(8), false));
        return true;
      default:
        return false;
    }
  }

  /** Opcodes for strings and bytes; false when `op` is not one of them. */
  private stepText(op: number): boolean {
    const s = this.stack;
    switch (op) {
      case 0x53: // STRING
        s.push(this.line().replace(/^(['"])(.*)\1$/, "$2"));
        return true;
      case 0x54: // BINSTRING
        s.push(new TextDecoder("latin1").decode(this.raw(this.i32())));
        return true;
      case 0x55: // SHORT_BINSTRING
        s.push(new TextDecoder("latin1").decode(this.raw(this.u8())));
        return true;
      case 0x56: // UNICODE (raw-unicode-escape)
        s.push(
          this.line().replace(
            /\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g,
            (_, a, b) => String.fromCodePoint(Number.parseInt(a ?? b, 16)),
          ),
        );
        return true;
      case 0x58: // BINUNICODE
        s.push(this.text(this.u32()));
        return true;
      case 0x8c: // SHORT_BINUNICODE
        s.push(this.text(this.u8()));
        return true;
      case 0x8d: // BINUNICODE8
        s.push(this.text(this.u64()));
        return true;
      case 0x42: // BINBYTES
        s.push(this.raw(this.u32()).slice());
        return true;
      case 0x43: // SHORT_BINBYTES
        s.push(this.raw(this.u8()).slice());
        return true;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        s.push(this.raw(this.u64()).slice());
        return true;
      default:
        return false;
    }
  }

  /** Opcodes for lists, tuples, dicts and sets; false when `op` is not one of them. */
  private stepContainer(op: number): boolean {
    const s = this.stack;
    switch (op) {
      case 0x5d: // EMPTY_LIST
        s.push([]);
        return true;
      case 0x61: { // APPEND
        const v = this.pop();
        (this.top() as unknown[]).push(v);
        return true;
      }
      case 0x65: { // APPENDS
        const items = this.popMark();
        const target = this.top();
        if (!Array.isArray(target)) this.fail("APPENDS on something that is not a list");
        target.push(...items);
        return true;
      }
      case 0x6c: // LIST
        s.push(this.popMark());
        return true;
      case 0x29: // EMPTY_TUPLE
        s.push([]);
        return true;
      case 0x74: // TUPLE
        s.push(this.popMark());
        return true;
      case 0x85: // TUPLE1
        s.push([this.pop()]);
        return true;
      case 0x86: { // TUPLE2
        const b = this.pop();
        s.push([this.pop(), b]);
        return true;
      }
      case 0x87: { // TUPLE3
        const c = this.pop();
        const b = this.pop();
        s.push([this.pop(), b, c]);
        return true;
      }
      case 0x7d: // EMPTY_DICT
        s.push(new Map());
        return true;
      case 0x64: { // DICT
        const m = new Map();
        this.setItems(m, this.popMark());
        s.push(m);
        return true;
      }
      case 0x73: { // SETITEM
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return true;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        this.setItems(this.top(), items);
        return true;
      }
      case 0x8f: // EMPTY_SET
        s.push(new Set());
        return true;
      case 0x90: { // ADDITEMS
        const items = this.popMark();
        const target = this.top();
        if (!(target instanceof Set)) this.fail("ADDITEMS on something that is not a set");
        for (const i of items) target.add(i);
        return true;
      }
      case 0x91: // FROZENSET
        s.push(new Set(this.popMark()));
        return true;
      default:
        return false;
    }
  }

  /** Opcodes for memo, globals, calls and objects; false when `op` is not one of them. */
  private stepMemoAndObject(op: number): boolean {
    const s = this.stack;
    switch (op) {
      case 0x67: // GET
        s.push(this.memoGet(Number.parseInt(this.line(), 10)));
        return true;
      case 0x68: // BINGET
        s.push(this.memoGet(this.u8()));
        return true;
      case 0x6a: // LONG_BINGET
        s.push(this.memoGet(this.u32()));
        return true;
      case 0x70: // PUT
        this.memo.set(Number.parseInt(this.line(), 10), this.top());
        return true;
      case 0x71: // BINPUT
        this.memo.set(this.u8(), this.top());
        return true;
      case 0x72: // LONG_BINPUT
        this.memo.set(this.u32(), this.top());
        return true;
      case 0x94: // MEMOIZE
        this.memo.set(this.memo.size, this.top());
        return true;
      case 0x63: { // GLOBAL
        const module = this.line();
        s.push(this.global(module, this.line()));
        return true;
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        s.push(this.global(String(module), String(name)));
        return true;
      }
      case 0x52: { // REDUCE
        const args = this.pop();
        s.push(this.call(this.pop(), args));
        return true;
      }
      case 0x81: { // NEWOBJ
        const args = this.pop() as unknown[];
        s.push(this.instantiate(this.pop(), args));
        return true;
      }
      case 0x92: { // NEWOBJ_EX
        this.pop();
        const args = this.pop() as unknown[];
        s.push(this.instantiate(this.pop(), args));
        return true;
      }
      case 0x62: { // BUILD
        const state = this.pop();
        this.build(this.top(), state);
        return true;
      }
      case 0x50: // PERSID
        s.push(this.persistent(this.line()));
        return true;
      case 0x51: // BINPERSID
        s.push(this.persistent(this.pop()));
        return true;
      case 0x69: { // INST: calls the class with arguments
        const module = this.line();
        const g = this.global(module, this.line());
        s.push(this.call(g, this.popMark()));
        return true;
      }
      case 0x6f: { // OBJ
        const items = this.popMark();
        s.push(this.call(items[0], items.slice(1)));
        return true;
      }
      default:
        return false;
    }
  }

  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`a memo reference ${i} that was never stored`);
    return this.memo.get(i);
  }

  private instantiate(cls: unknown, args: unknown[]): unknown {
    if (!(cls instanceof PyGlobal)) this.fail("NEWOBJ of something that is not a class");
    // `OrderedDict.__new__` etc.: the built-in containers stay plain values.
    if (cls.path === "collections.OrderedDict") return new Map();
    return new PyObject(cls, args);
  }

  private persistent(pid: unknown): unknown {
    if (this.options.persistentLoad === undefined) {
      this.fail("a persistent id where none is expected");
    }
    return this.options.persistentLoad(pid);
  }
}
