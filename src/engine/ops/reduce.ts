/**
 * Reductions over axes (axes as an input, opset ≥ 18; the older `axes` attribute is read too,
 * for imported graphs). With gₖ the upstream gradient with reduced axes kept as size 1:
 *
 *   ReduceSum   dx = expand(gₖ)
 *   ReduceMean  dx = expand(gₖ) / n, n = number of reduced elements
 *   ReduceMax   dx = m · gₖ / Σm, m = [x = max] (ties share the gradient evenly, as PyTorch)
 *   CumSum      dx = reverse cumulative sum of g (exclusive stays exclusive)
 * ArgMax has an integer output and no gradient.
 */
import type { T } from "../builder.js";
import { normAxis } from "../dims.js";
import type { Dim, Graph, Node } from "../graph.js";
import type { GradCtx, InferCtx, OpDef } from "./types.js";
import { A, attrInt, attrInts, need, shapeError } from "./types.js";

/** Resolved, sorted, non-negative axes; undefined means "no reduction" (noop_with_empty_axes). */
export function reduceAxes(graph: Graph, node: Node, rank: number): number[] | undefined {
  let axes: readonly number[] | undefined = attrInts(node, "axes");
  if (node.inputs[1]) {
    axes = graph.constantInts(node.inputs[1]);
    if (!axes) throw shapeError(node, "axes must be a constant so that shapes can be inferred");
  }
  if (!axes || axes.length === 0) {
    if (attrInt(node, "noop_with_empty_axes", 0) === 1) return undefined;
    return Array.from({ length: rank }, (_, i) => i);
  }
  return [...new Set(axes.map((a) => normAxis(a, rank)))].sort((a, b) => a - b);
}

function inferReduce(c: InferCtx) {
  const x = need(c, 0);
  const axes = reduceAxes(c.graph, c.node, x.shape.length);
  if (!axes) return [x];
  const keep = attrInt(c.node, "keepdims", 1) === 1;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
}

/** Upstream gradient with reduced axes restored as size-1 dims. */
function keptGrad(c: GradCtx, axes: readonly number[], v: T): T {
  return attrInt(c.node, "keepdims", 1) === 1 ? v : c.b.unsqueeze(v, axes);
}

function reducedCount(c: GradCtx, axes: readonly number[]): number | T {
  const x = c.x[0]!;
  const dims = axes.map((a) => x.shape[a]!);
  if (dims.every((d) => typeof d === "number"))
    return (dims as number[]).reduce((p, d) => p * d, 1);
  const b = c.b;
  return b.div(b.cast(b.op1("Size", [x]), x.dtype), b.cast(b.op1("Size", [c.y[0]!]), x.dtype));
}

function reduceGrad(kind: "sum" | "mean" | "max") {
  return (c: GradCtx): (T | undefined)[] => {
    const b = c.b;
    const x = c.x[0]!;
    const g = c.g[0]!;
    if (!c.needs[0]) return [];
    const axes = reduceAxes(b.graph, c.node, x.rank);
    if (!axes) return [g];
    let gk = keptGrad(c, axes, g);
    if (kind === "mean") {
      const n = reducedCount(c, axes);
      gk = typeof n === "number" ? b.mul(gk, 1 / n) : b.div(gk, n);
    }
    if (kind === "max") {
      const mask = b.cast(b.equal(x, keptGrad(c, axes, c.y[0]!)), x.dtype);
      const count = b.reduceSum(mask, axes, true);
      return [b.mul(mask, b.div(gk, count))];
    }
    return [b.expand(gk, b.shapeVec(x))];
  };
}

export const REDUCE_OPS: Record<string, OpDef> = {
  ReduceSum: { infer: inferReduce, grad: reduceGrad("sum") },
  ReduceMean: { infer: inferReduce, grad: reduceGrad("mean") },
  ReduceMax: { infer: inferReduce, grad: reduceGrad("max") },
  ArgMax: {
    infer: (c) => {
      const x = need(c, 0);
      const axis = normAxis(attrInt(c.node, "axis", 0), x.shape.length);
      const keep = attrInt(c.node, "keepdims", 1) === 1;
      const shape = keep
        ? x.shape.map((d, i) => (i === axis ? 1 : d))
        : x.shape.filter((_, i) => i !== axis);
      return [{ dtype: "int64", shape }];
    },
  },
  CumSum: {
    infer: (c) => [need(c, 0)],
    grad: (c) => {
      const reverse = attrInt(c.node, "reverse", 0) === 1 ? 0 : 1;
      const attrs = { exclusive: A.int(attrInt(c.node, "exclusive", 0)), reverse: A.int(reverse) };
      return [c.needs[0] ? c.b.op1("CumSum", [c.g[0]!, c.x[1]!], attrs) : undefined];
    },
  },
};
