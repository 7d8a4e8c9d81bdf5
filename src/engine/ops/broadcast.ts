/**
 * Multidirectional (NumPy) broadcasting, forward and backward.
 *
 * Forward: shapes are right-aligned; per axis the output dim is the non-1 dim. Backward: the
 * gradient of an operand that was broadcast is the upstream gradient summed over the axes it
 * was broadcast along — the leading axes it lacks, and the axes where its dim is a literal 1
 * while the output's is not. A bias over rows ([N, M] → [M]) is summed by a product with a
 * ones row instead (see sumRows). Symbolic dims follow the convention of `dims.ts` (never 1), so
 * this decision is made at build time and costs at most two ReduceSum nodes.
 */
import type { GraphBuilder, T } from "../builder.js";
import type { Dim, Node, Shape } from "../graph.js";
import { A, shapeError } from "./types.js";

export function broadcastShapes(node: Node, shapes: readonly Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d && typeof dim === "number" && typeof d === "number") {
        throw shapeError(
          node,
          `cannot broadcast shapes ${shapes.map((x) => `[${x.join(", ")}]`).join(" and ")}`,
        );
      } else if (typeof dim === "string" && typeof d === "number") dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** Sums `g` down to `target` (the shape of the operand before broadcasting). */
export function unbroadcast(b: GraphBuilder, g: T, target: Shape): T {
  if (g.rank === 2 && target.length === 1 && target[0] === g.shape[1] && g.shape[1] !== 1) {
    return sumRows(b, g);
  }
  let out = g;
  const lead = out.rank - target.length;
  if (lead > 0) {
    out = b.reduceSum(
      out,
      Array.from({ length: lead }, (_, i) => i),
      false,
    );
  }
  const axes: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && out.shape[i] !== 1) axes.push(i);
  });
  if (axes.length > 0) out = b.reduceSum(out, axes, true);
  return out;
}

/**
 * Σ over rows of g [N, M] → [M] as ones[1, N]·g: a bias gradient. ONNX Runtime's ReduceSum
 * over the leading axis of a row-major matrix runs ~2× slower than this product for narrow M.
 */
function sumRows(b: GraphBuilder, g: T): T {
  const n = g.shape[0]!;
  const ones = b.memo(`ones-row:${g.dtype}:${n}`, () => {
    const len =
      typeof n === "number"
        ? b.ints([1, n])
        : b.concat([b.ints([1]), b.op1("Shape", [g], { end: A.int(1) })], 0);
    const one = {
      kind: "tensor" as const,
      value: {
        dtype: g.dtype,
        dims: [1],
        data: g.dtype === "float64" ? new Float64Array([1]) : new Float32Array([1]),
      },
    };
    return b.op1("ConstantOfShape", [len], { value: one }); // [1, N]
  });
  return b.reshape(b.matmul(ones, g), [-1]); // [M]
}
