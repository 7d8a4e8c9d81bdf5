/**
 * The contract every op implements: shape inference (`infer`) and, for differentiable ops, a
 * reverse-mode rule (`grad`) written with ordinary ONNX ops, because ONNX Runtime's inference
 * build registers no gradient kernels. Forward and backward of each op sit side by side in the
 * `ops/*.ts` files; `ops/registry.ts` lists them all.
 */
import { KeelError } from "../../core/errors.js";
import type { GraphBuilder, T } from "../builder.js";
import type { Attr, DType, Graph, Node, Shape, ValueInfo } from "../graph.js";

export interface OutInfo {
  readonly dtype: DType;
  readonly shape: Shape | undefined;
}

export interface InferCtx {
  readonly graph: Graph;
  readonly node: Node;
  /** Input infos; undefined where the optional input is omitted (""). */
  readonly inputs: readonly (ValueInfo | undefined)[];
}

export interface GradCtx {
  readonly b: GraphBuilder;
  readonly node: Node;
  /** Forward inputs (undefined where omitted). */
  readonly x: readonly (T | undefined)[];
  /** Forward outputs (undefined where an optional output is omitted). */
  readonly y: readonly (T | undefined)[];
  /** Upstream gradients per output; undefined where no gradient flows into that output. */
  readonly g: readonly (T | undefined)[];
  /** Which inputs need a gradient. */
  readonly needs: readonly boolean[];
}

export interface OpDef {
  readonly infer: (c: InferCtx) => readonly OutInfo[];
  /** Absent for ops through which no gradient flows (integer, comparison, shape ops). */
  readonly grad?: (c: GradCtx) => readonly (T | undefined)[];
}

export function attrInt(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a && a.kind === "int" ? a.value : dflt;
}

export function attrFloat(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  return a && a.kind === "float" ? a.value : dflt;
}

export function attrString(node: Node, name: string, dflt: string): string {
  const a = node.attrs[name];
  return a && a.kind === "string" ? a.value : dflt;
}

export function attrInts(node: Node, name: string): readonly number[] | undefined {
  const a = node.attrs[name];
  return a && a.kind === "ints" ? a.value : undefined;
}

export const A = {
  int: (value: number): Attr => ({ kind: "int", value }),
  float: (value: number): Attr => ({ kind: "float", value }),
  str: (value: string): Attr => ({ kind: "string", value }),
  ints: (value: readonly number[]): Attr => ({ kind: "ints", value }),
  floats: (value: readonly number[]): Attr => ({ kind: "floats", value }),
};

/** The info of input i, which must be present and ranked. */
export function need(c: InferCtx, i: number): { dtype: DType; shape: Shape } {
  const v = c.inputs[i];
  if (!v?.shape) {
    throw new KeelError(
      "KEEL_E_SHAPE",
      `${c.node.op} needs input ${i} with a known rank, got ${v ? "unranked" : "none"}`,
      { where: { id: c.node.name ?? c.node.op } },
    );
  }
  return { dtype: v.dtype, shape: v.shape };
}

export function shapeError(node: Node, message: string): KeelError {
  return new KeelError("KEEL_E_SHAPE", `${node.op}: ${message}`, {
    where: { id: node.name ?? node.op },
  });
}
