/**
 * The engine's graph IR: ONNX's data model (nodes over named values, initializers, typed
 * inputs and outputs) as plain TypeScript objects, plus the inferred type and shape of every
 * value. Builders append to it, the autodiff extends it, `onnx/proto.ts` serialises it.
 *
 * Dimensions are numbers (static) or strings (symbolic, e.g. "B", "T"); two symbolic dims are
 * equal exactly when their names are equal. Shapes are inferred when a node is added
 * (`ops/registry.ts`), so every value of a well-formed graph has a known rank.
 */
import { KeelError } from "../core/errors.js";

export type DType = "float32" | "float64" | "int32" | "int64" | "bool";
export type Dim = number | string;
export type Shape = readonly Dim[];

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A dense tensor value: initializers, constants and tensor attributes. */
export interface TensorData {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TypedData;
  /**
   * When set, the payload is not serialised: the tensor refers to `length` bytes at `offset`
   * of an external data buffer named `location`, which the session receives in memory
   * (`SessionOptions.externalData`). keel uses this to bake its weights into inference
   * sessions without copying them through protobuf.
   */
  readonly external?: {
    readonly location: string;
    readonly offset: number;
    readonly length: number;
  };
}

export type Attr =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "tensor"; readonly value: TensorData };

export interface Node {
  readonly op: string;
  readonly domain: string;
  readonly name?: string;
  /** Input value names; "" marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  /** undefined only for values whose rank is unknown (never produced by keel's builder). */
  readonly shape: Shape | undefined;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function makeTensorData(dtype: DType, dims: readonly number[]): TensorData {
  const n = numel(dims);
  const data =
    dtype === "float32"
      ? new Float32Array(n)
      : dtype === "float64"
        ? new Float64Array(n)
        : dtype === "int32"
          ? new Int32Array(n)
          : dtype === "int64"
            ? new BigInt64Array(n)
            : new Uint8Array(n);
  return { dtype, dims: [...dims], data };
}

/** A mutable ONNX graph with inferred value info. */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  readonly initializers = new Map<string, TensorData>();
  readonly values = new Map<string, ValueInfo>();
  /** Which node produces each value (absent for inputs and initializers). */
  readonly producer = new Map<string, Node>();

  constructor(readonly name: string) {}

  info(name: string): ValueInfo {
    const v = this.values.get(name);
    if (!v) {
      throw new KeelError("KEEL_E_INTERNAL", `graph ${this.name} has no value named ${name}`, {
        hint: "a node refers to a value that was never defined",
      });
    }
    return v;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  setInfo(v: ValueInfo): void {
    this.values.set(v.name, v);
  }

  addInput(v: ValueInfo): void {
    this.setInfo(v);
    this.inputs.push(v.name);
  }

  addInitializer(name: string, t: TensorData): void {
    this.initializers.set(name, t);
    this.setInfo({ name, dtype: t.dtype, shape: [...t.dims] });
  }

  addNode(node: Node, outputs: readonly ValueInfo[]): void {
    this.nodes.push(node);
    for (const o of outputs) {
      this.setInfo(o);
      this.producer.set(o.name, node);
    }
  }

  /** The constant value of `name` when it is an initializer or a Constant node's output. */
  constant(name: string): TensorData | undefined {
    const init = this.initializers.get(name);
    if (init) return init;
    const p = this.producer.get(name);
    if (p && p.op === "Constant") {
      const a = p.attrs.value;
      if (a?.kind === "tensor") return a.value;
    }
    return undefined;
  }

  /** Integer values of a constant 1-D tensor (axes, shapes, split sizes), or undefined. */
  constantInts(name: string): number[] | undefined {
    if (name === "") return undefined;
    const t = this.constant(name);
    if (!t) return undefined;
    return Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));
  }
}
