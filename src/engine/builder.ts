/**
 * The typed graph builder: `T` is a handle on a value (name, dtype, inferred shape) and each
 * method of `GraphBuilder` appends one ONNX node, inferring its outputs' shapes on the spot,
 * so a shape error surfaces at the line that caused it rather than inside ONNX Runtime.
 *
 *   const b = new GraphBuilder("mlp");
 *   const x = b.input("x", "float32", ["B", 16]);        // [B, 16]
 *   const w = b.input("w", "float32", [16, 4]);          // [16, 4]
 *   const y = b.relu(b.matmul(x, w));                    // [B, 4]
 *   b.output(y, "y");
 *
 * Numbers passed where a tensor is expected become cached scalar constants of the other
 * operand's dtype. `scope(name, fn)` prefixes value names, which keeps exported graphs and
 * error messages readable ("h0.attn/MatMul_12").
 */
import { KeelError } from "../core/errors.js";
import type { Attr, DType, Node, Shape, TensorData } from "./graph.js";
import { Graph, makeTensorData } from "./graph.js";
import { GELU_A, GELU_C } from "./ops/elementwise.js";
import { inferNode, MS_DOMAIN } from "./ops/registry.js";
import { A } from "./ops/types.js";

export class T {
  constructor(
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
}

export type TLike = T | number;

export interface OpOptions {
  readonly outputs?: number;
  readonly domain?: string;
  /** Explicit output names (else generated). */
  readonly names?: readonly string[];
}

export interface BuilderOptions {
  /**
   * Standard ONNX ops only: no ONNX Runtime contrib ops (`com.microsoft:FusedMatMul`), for
   * models meant for other runtimes (the standalone export).
   */
  readonly portable?: boolean;
}

export class GraphBuilder {
  readonly graph: Graph;
  readonly portable: boolean;
  private counter = 0;
  private readonly scopes: string[] = [];
  private readonly constCache = new Map<string, T>();
  private readonly memoCache = new Map<string, T>();

  constructor(graphOrName: Graph | string, opts: BuilderOptions = {}) {
    this.graph = typeof graphOrName === "string" ? new Graph(graphOrName) : graphOrName;
    this.portable = opts.portable ?? false;
  }

  /** Builds a value once per key (e.g. a ones-vector for a symbolic length) and reuses it. */
  memo(key: string, build: () => T): T {
    let t = this.memoCache.get(key);
    if (!t) {
      t = build();
      this.memoCache.set(key, t);
    }
    return t;
  }

  scope<R>(name: string, fn: () => R): R {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  fresh(hint: string): string {
    let name: string;
    do {
      this.counter += 1;
      name = `${this.scopes.length ? `${this.scopes.join(".")}/` : ""}${hint}_${this.counter}`;
    } while (this.graph.has(name));
    return name;
  }

  /** A handle on a value already in the graph. */
  value(name: string): T {
    const v = this.graph.info(name);
    if (!v.shape) {
      throw new KeelError("KEEL_E_SHAPE", `value ${name} has unknown rank`, {
        hint: "give the graph input a shape",
      });
    }
    return new T(name, v.dtype, v.shape);
  }

  input(name: string, dtype: DType, shape: Shape): T {
    this.graph.addInput({ name, dtype, shape });
    return new T(name, dtype, shape);
  }

  initializer(name: string, data: TensorData): T {
    this.graph.addInitializer(name, data);
    return new T(name, data.dtype, data.dims);
  }

  /** A cached constant (scalar when dims is []). */
  constant(dtype: DType, values: readonly number[], dims: readonly number[] = []): T {
    const key = `${dtype}|${dims.join(",")}|${values.join(",")}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const t = makeTensorData(
      dtype,
      dims.length === 0 && values.length !== 1 ? [values.length] : dims,
    );
    values.forEach((v, i) => {
      if (t.data instanceof BigInt64Array) t.data[i] = BigInt(v);
      else t.data[i] = v;
    });
    const h = this.initializer(this.fresh("const"), t);
    this.constCache.set(key, h);
    return h;
  }

  scalar(v: number, dtype: DType): T {
    return this.constant(dtype, [v]);
  }

  /** An int64 1-D constant (axes, shapes, sizes). */
  ints(values: readonly number[]): T {
    return this.constant("int64", values, [values.length]);
  }

  private lift(v: TLike | undefined, dtype: DType): string {
    if (v === undefined) return "";
    return typeof v === "number" ? this.scalar(v, dtype).name : v.name;
  }

  /** Appends a node; numbers in `inputs` become constants of the first tensor input's dtype. */
  op(
    op: string,
    inputs: readonly (TLike | undefined)[],
    attrs: Record<string, Attr> = {},
    o: OpOptions = {},
  ): T[] {
    const first = inputs.find((v): v is T => v instanceof T && v.dtype !== "bool");
    const dtype = first?.dtype ?? "float32";
    const n = o.outputs ?? 1;
    const outputs = Array.from({ length: n }, (_, i) => o.names?.[i] ?? this.fresh(op));
    const node: Node = {
      op,
      domain: o.domain ?? "",
      name: this.fresh(`n_${op}`),
      inputs: inputs.map((v) => this.lift(v, dtype)),
      outputs,
      attrs,
    };
    const infos = inferNode(this.graph, node);
    this.graph.addNode(node, infos);
    return infos.map((v) => new T(v.name, v.dtype, v.shape ?? []));
  }

  op1(op: string, inputs: readonly (TLike | undefined)[], attrs: Record<string, Attr> = {}): T {
    return this.op(op, inputs, attrs)[0]!;
  }

  /** Marks `t` as a graph output, under `name` when given (through an Identity if needed). */
  output(t: T, name?: string): T {
    let out = t;
    if (name && name !== t.name) out = this.op("Identity", [t], {}, { names: [name] })[0]!;
    this.graph.outputs.push(out.name);
    return out;
  }

  // ---- elementwise ----
  add(a: TLike, b: TLike): T {
    return this.op1("Add", order(a, b));
  }
  sub(a: TLike, b: TLike): T {
    return this.op1("Sub", order(a, b));
  }
  mul(a: TLike, b: TLike): T {
    return this.op1("Mul", order(a, b));
  }
  div(a: TLike, b: TLike): T {
    return this.op1("Div", order(a, b));
  }
  neg(x: T): T {
    return this.op1("Neg", [x]);
  }
  exp(x: T): T {
    return this.op1("Exp", [x]);
  }
  log(x: T): T {
    return this.op1("Log", [x]);
  }
  sqrt(x: T): T {
    return this.op1("Sqrt", [x]);
  }
  tanh(x: T): T {
    return this.op1("Tanh", [x]);
  }
  sigmoid(x: T): T {
    return this.op1("Sigmoid", [x]);
  }
  relu(x: T): T {
    return this.op1("Relu", [x]);
  }
  /**
   * GELU, tanh approximation: x·σ(2u), u = c(x + a·x³). One opset-20 Gelu node, except in
   * float64: ONNX Runtime has no float64 Gelu kernel and runs ONNX's expansion of it, whose c
   * and a are float32 constants, so the forward pass would be 1e-8 off the float64 function
   * the backward rule differentiates. There the formula is written out in float64 ops, and
   * autodiff differentiates those.
   */
  gelu(x: T): T {
    if (x.dtype !== "float64") return this.op1("Gelu", [x], { approximate: A.str("tanh") });
    const x2 = this.mul(x, x);
    const z = this.mul(x, this.add(this.mul(x2, 2 * GELU_C * GELU_A), 2 * GELU_C)); // 2u
    return this.mul(x, this.sigmoid(z));
  }
  where(cond: T, a: TLike, b: TLike): T {
    return this.op1("Where", [cond, ...order(a, b)]);
  }
  clip(x: T, lo?: number, hi?: number): T {
    return this.op1("Clip", [
      x,
      lo === undefined ? undefined : this.scalar(lo, x.dtype),
      hi === undefined ? undefined : this.scalar(hi, x.dtype),
    ]);
  }
  min(a: TLike, b: TLike): T {
    return this.op1("Min", order(a, b));
  }
  max(a: TLike, b: TLike): T {
    return this.op1("Max", order(a, b));
  }
  cast(x: T, to: DType): T {
    return this.op1("Cast", [x], { to: A.int(DTYPE_ONNX[to]) });
  }
  equal(a: TLike, b: TLike): T {
    return this.op1("Equal", order(a, b));
  }
  greater(a: TLike, b: TLike): T {
    return this.op1("Greater", order(a, b));
  }
  less(a: TLike, b: TLike): T {
    return this.op1("Less", order(a, b));
  }

  // ---- linear algebra ----
  matmul(a: T, b: T): T {
    return this.op1("MatMul", [a, b]);
  }
  /**
   * α·op(A)·op(B) over the last two axes (op = identity or transpose; batch axes broadcast).
   * float32 graphs get one ONNX Runtime `FusedMatMul`, whose GEMM reads the operands
   * transposed in place; float64 and portable graphs get Transpose, MatMul and Mul.
   */
  matmulT(a: T, b: T, o: { transA?: boolean; transB?: boolean; alpha?: number } = {}): T {
    const alpha = o.alpha ?? 1;
    if (!this.portable && a.dtype === "float32" && b.dtype === "float32") {
      const attrs: Record<string, Attr> = {};
      if (o.transA) attrs.transA = A.int(1);
      if (o.transB) attrs.transB = A.int(1);
      if (alpha !== 1) attrs.alpha = A.float(alpha);
      return this.op("FusedMatMul", [a, b], attrs, { domain: MS_DOMAIN })[0]!;
    }
    const y = this.matmul(o.transA ? this.swapLast(a) : a, o.transB ? this.swapLast(b) : b);
    return alpha === 1 ? y : this.mul(y, alpha);
  }
  /** Transposes the last two axes. */
  swapLast(x: T): T {
    const perm = x.shape.map((_, i) => i);
    const r = perm.length;
    perm[r - 1] = r - 2;
    perm[r - 2] = r - 1;
    return this.transpose(x, perm);
  }
  gemm(
    a: T,
    b: T,
    c?: T,
    o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
  ): T {
    const attrs: Record<string, Attr> = {};
    if (o.transA) attrs.transA = A.int(1);
    if (o.transB) attrs.transB = A.int(1);
    if (o.alpha !== undefined && o.alpha !== 1) attrs.alpha = A.float(o.alpha);
    if (o.beta !== undefined && o.beta !== 1) attrs.beta = A.float(o.beta);
    return this.op1("Gemm", c ? [a, b, c] : [a, b], attrs);
  }

  // ---- normalisation and activations over an axis ----
  softmax(x: T, axis = -1): T {
    return this.op1("Softmax", [x], { axis: A.int(axis) });
  }
  logSoftmax(x: T, axis = -1): T {
    return this.op1("LogSoftmax", [x], { axis: A.int(axis) });
  }
  layerNorm(x: T, scale: T, bias: T | undefined, eps = 1e-5): T {
    return this.op1("LayerNormalization", [x, scale, bias], {
      axis: A.int(-1),
      epsilon: A.float(eps),
    });
  }

  // ---- reductions ----
  reduceSum(x: T, axes: readonly number[], keepdims = true): T {
    return this.op1("ReduceSum", [x, this.ints(axes)], { keepdims: A.int(keepdims ? 1 : 0) });
  }
  reduceMean(x: T, axes: readonly number[], keepdims = true): T {
    return this.op1("ReduceMean", [x, this.ints(axes)], { keepdims: A.int(keepdims ? 1 : 0) });
  }
  reduceMax(x: T, axes: readonly number[], keepdims = true): T {
    return this.op1("ReduceMax", [x, this.ints(axes)], { keepdims: A.int(keepdims ? 1 : 0) });
  }

  // ---- shape ----
  /** Reshape with ONNX semantics: 0 copies the input dim, -1 is inferred. */
  reshape(x: T, dims: readonly number[] | T): T {
    return this.op1("Reshape", [x, dims instanceof T ? dims : this.ints(dims)]);
  }
  transpose(x: T, perm: readonly number[]): T {
    return this.op1("Transpose", [x], { perm: A.ints(perm) });
  }
  concat(xs: readonly T[], axis: number): T {
    return this.op1("Concat", xs, { axis: A.int(axis) });
  }
  /** Splits along `axis`; `names` gives outputs their final names (e.g. graph outputs). */
  split(x: T, sizes: readonly number[], axis: number, names?: readonly string[]): T[] {
    return this.op(
      "Split",
      [x, this.ints(sizes)],
      { axis: A.int(axis) },
      { outputs: sizes.length, ...(names ? { names } : {}) },
    );
  }
  slice(x: T, starts: readonly number[], ends: readonly number[], axes: readonly number[]): T {
    return this.op1("Slice", [x, this.ints(starts), this.ints(ends), this.ints(axes)]);
  }
  unsqueeze(x: T, axes: readonly number[]): T {
    return this.op1("Unsqueeze", [x, this.ints(axes)]);
  }
  squeeze(x: T, axes: readonly number[]): T {
    return this.op1("Squeeze", [x, this.ints(axes)]);
  }
  gather(data: T, indices: T, axis = 0): T {
    return this.op1("Gather", [data, indices], { axis: A.int(axis) });
  }
  gatherElements(data: T, indices: T, axis: number): T {
    return this.op1("GatherElements", [data, indices], { axis: A.int(axis) });
  }
  shapeOf(x: T): T {
    return this.op1("Shape", [x]);
  }
  /** x's shape as an int64 vector: a constant when static, a Shape node otherwise. */
  shapeVec(x: T): T {
    return x.shape.every((d) => typeof d === "number")
      ? this.ints(x.shape as number[])
      : this.shapeOf(x);
  }
  /** Zeros shaped like `like`. */
  zerosLike(like: T): T {
    return this.op1("ConstantOfShape", [this.shapeVec(like)], {
      value: { kind: "tensor", value: makeTensorData(like.dtype, [1]) },
    });
  }
  expand(x: T, shape: T): T {
    return this.op1("Expand", [x, shape]);
  }
}

/** Orders binary operands, letting either be a plain number. */
function order(a: TLike, b: TLike): [TLike, TLike] {
  if (typeof a === "number" && typeof b === "number") {
    throw new KeelError("KEEL_E_INTERNAL", "an op needs at least one tensor operand");
  }
  return [a, b];
}

export const DTYPE_ONNX: Record<DType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};
