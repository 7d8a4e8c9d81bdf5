/**
 * Parameters owned by keel: every tensor of a model packed, in a fixed order, into one flat
 * Float32Array (Float64Array for float64 gradient checks), with a named view per tensor.
 * Gradients use the same flat layout, so optimisers, clipping, accumulation and EMA are single
 * loops over flat arrays, and ONNX Runtime reads the views in place (no copies per step).
 *
 * float32 stores live in an `Arena`: one WebAssembly.Memory holding the parameters and every
 * array made by `zerosLike()` (gradient buffer, Adam moments, EMA), so that the SIMD optimiser
 * kernel (`optim/simd.ts`) can address them all. Untouched pages cost no memory, so the arena
 * reserves `slots` arrays up front; past that, or past 2 GiB, arrays are plain JS memory and
 * the optimiser falls back to its scalar loop.
 */
import type * as ort from "onnxruntime-node";
import { KeelError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { numel } from "./graph.js";
import { type WasmMemory, wasm } from "./optim/simd.js";
import { tensor } from "./runtime.js";

export type FloatArray = Float32Array | Float64Array;

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** normal(0, std), zeros or ones. */
  readonly init: "normal" | "zeros" | "ones";
  readonly std?: number;
}

/** Each parameter's values, asked for once per spec in declaration order (e.g. a file's tensors). */
export type WeightSource = (spec: ParamSpec) => ArrayLike<number>;

/** A bump allocator of 16-byte-aligned float32 arrays in one WebAssembly.Memory. */
export class Arena {
  readonly memory: WasmMemory;
  private used = 0;

  constructor(readonly capacityBytes: number) {
    this.memory = new wasm.Memory({ initial: Math.ceil(capacityBytes / 65536) });
  }

  /** n zeroed floats, or undefined when the arena is full. */
  alloc(n: number): Float32Array | undefined {
    const bytes = Math.ceil((n * 4) / 16) * 16;
    if (this.used + bytes > this.memory.buffer.byteLength) return undefined;
    const a = new Float32Array(this.memory.buffer, this.used, n);
    this.used += bytes;
    return a;
  }

  owns(a: FloatArray): boolean {
    return a.buffer === this.memory.buffer;
  }
}

const ARENA_SLOTS = 8;
const ARENA_MAX_BYTES = 2 ** 31;

export class ParamStore {
  readonly specs: readonly ParamSpec[];
  readonly flat: FloatArray;
  readonly arena: Arena | undefined;
  /**
   * Bumped whenever the values change through keel (optimiser step, EMA swap, checkpoint
   * load, `touch()`). Sessions that bake the weights in (generation) rebuild when it moves;
   * code that writes `flat` directly must call `touch()`.
   */
  version = 0;
  private readonly offsets = new Map<string, [number, number]>();
  private tensorCache: Record<string, ort.Tensor> | undefined;

  constructor(specs: readonly ParamSpec[], dtype: "float32" | "float64" = "float32") {
    this.specs = specs;
    let offset = 0;
    for (const s of specs) {
      if (this.offsets.has(s.name)) {
        throw new KeelError("KEEL_E_DUPLICATE", `parameter ${s.name} is declared twice`);
      }
      const n = numel(s.shape);
      this.offsets.set(s.name, [offset, n]);
      offset += n;
    }
    const slotBytes = Math.ceil((offset * 4) / 16) * 16;
    if (dtype === "float32" && slotBytes * ARENA_SLOTS <= ARENA_MAX_BYTES) {
      this.arena = new Arena(Math.max(slotBytes * ARENA_SLOTS, 65536));
    }
    this.flat = dtype === "float64" ? new Float64Array(offset) : this.floats(offset);
  }

  private floats(n: number): Float32Array {
    return this.arena?.alloc(n) ?? new Float32Array(n);
  }

  touch(): void {
    this.version += 1;
  }

  get dtype(): "float32" | "float64" {
    return this.flat instanceof Float64Array ? "float64" : "float32";
  }

  get size(): number {
    return this.flat.length;
  }

  get names(): string[] {
    return this.specs.map((s) => s.name);
  }

  has(name: string): boolean {
    return this.offsets.has(name);
  }

  /** [offset, length] of a parameter inside `flat`. */
  range(name: string): [number, number] {
    const r = this.offsets.get(name);
    if (!r) throw new KeelError("KEEL_E_NOT_FOUND", `no parameter named ${name}`);
    return r;
  }

  view(name: string): FloatArray {
    const [o, n] = this.range(name);
    return this.flat.subarray(o, o + n);
  }

  /** The same layout as `flat`, for gradients and optimiser state. */
  zerosLike(): FloatArray {
    return this.flat instanceof Float64Array
      ? new Float64Array(this.flat.length)
      : this.floats(this.flat.length);
  }

  /** ORT tensors wrapping the views (created once; they see in-place updates). */
  tensors(): Record<string, ort.Tensor> {
    if (!this.tensorCache) {
      const t: Record<string, ort.Tensor> = {};
      for (const s of this.specs) t[s.name] = tensor(this.dtype, this.view(s.name), s.shape);
      this.tensorCache = t;
    }
    return this.tensorCache;
  }

  /** Fills every parameter from its spec, in declaration order, from `rng`. */
  initialise(rng: Rng): void {
    for (const s of this.specs) {
      const v = this.view(s.name);
      if (s.init === "ones") v.fill(1);
      else if (s.init === "zeros") v.fill(0);
      else for (let i = 0; i < v.length; i++) v[i] = rng.normal(0, s.std ?? 0.02);
    }
    this.touch();
  }

  /**
   * Copies every parameter from `source`, in declaration order: the whole store is written
   * or this throws, so no parameter keeps the zeros it was allocated with.
   */
  assign(source: WeightSource): void {
    for (const s of this.specs) {
      const v = this.view(s.name);
      const src = source(s);
      if (src.length !== v.length)
        throw new KeelError(
          "KEEL_E_SHAPE",
          `weights for ${s.name} have ${src.length} values; the parameter needs ${v.length}`,
        );
      v.set(src);
    }
    this.touch();
  }
}

/** dst ← dst + scale·src over flat arrays (gradient accumulation across micro-batches). */
export function addScaled(dst: FloatArray, src: FloatArray, scale = 1): void {
  if (dst.length !== src.length) {
    throw new KeelError(
      "KEEL_E_SHAPE",
      `cannot add arrays of ${src.length} and ${dst.length} entries`,
    );
  }
  for (let i = 0; i < dst.length; i++) dst[i] = dst[i]! + scale * src[i]!;
}
