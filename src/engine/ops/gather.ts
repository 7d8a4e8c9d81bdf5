/**
 * Indexing ops. Gathers scatter their gradient back; scatters gather theirs:
 *
 *   Gather(data [V, …], idx), axis 0  d data = onehot(idx)ᵀ·g for tables of ≤ 1024 rows, else
 *                                     ScatterElements_add(0, idx over each row, g, axis 0)
 *   GatherElements(data, idx, axis)   d data = ScatterElements_add(0, idx, g, axis)  (log-probs)
 *   ScatterElements(data, idx, u)     d u = GatherElements(g, idx); d data = g, with the
 *                                     written positions zeroed unless reduction = add
 *   ScatterND(data, idx, u)           likewise with GatherND
 * Repeated indices accumulate (reduction = add), which is what an embedding table needs when
 * a token occurs twice in a batch. Index inputs get no gradient.
 *
 * Why not ScatterND for embeddings: ONNX Runtime 1.30's ScatterND with reduction = add races
 * when run on more than one thread and indices repeat (measured here: wrong sums, different on
 * every run), while ScatterElements stays exact. GatherND therefore has no gradient rule.
 */
import { KeelError } from "../../core/errors.js";
import type { T } from "../builder.js";
import { normAxis } from "../dims.js";
import type { Attr } from "../graph.js";
import { A, attrInt, attrString, type GradCtx, need, type OpDef } from "./types.js";

const add = { reduction: A.str("add") };

/**
 * Tables up to this many rows get their gradient as onehot(idx)ᵀ·g, one GEMM (N·V·C
 * multiply-adds on every core); larger ones use a serial ScatterElements (N·C adds), which
 * wins once V is in the thousands.
 */
const ONE_HOT_MAX = 1024;

function gatherGrad(c: GradCtx): (T | undefined)[] {
  const b = c.b;
  const [data, idx] = [c.x[0]!, c.x[1]!];
  if (!c.needs[0]) return [];
  if (normAxis(attrInt(c.node, "axis", 0), data.rank) !== 0) {
    throw new KeelError("KEEL_E_UNSUPPORTED", "Gather gradients are implemented for axis 0 only", {
      where: { id: c.node.name ?? "Gather" },
      hint: "transpose the gathered axis to the front",
    });
  }
  const V = data.shape[0];
  if (typeof V === "number" && V <= ONE_HOT_MAX && data.rank === 2) {
    // one-hot GEMM: d data = onehot(idx)ᵀ · g, dense and multi-threaded
    const ids = b.reshape(idx, [-1, 1]); // [N, 1]
    const wrapped = b.where(b.less(ids, 0), b.add(ids, V), ids); // negative ids count from the end
    const range = b.constant(
      idx.dtype,
      Array.from({ length: V }, (_, i) => i),
      [V],
    );
    const onehot = b.cast(b.equal(wrapped, range), data.dtype); // [N, V]
    const g2 = b.reshape(
      c.g[0]!,
      b.concat([b.ints([-1]), b.op1("Shape", [data], { start: A.int(1) })], 0),
    ); // [N, C]
    return [b.gemm(onehot, g2, undefined, { transA: true })]; // [V, C]
  }
  const rest = data.rank > 1 ? b.op1("Shape", [data], { start: A.int(1) }) : undefined; // [r]
  const g = b.reshape(c.g[0]!, rest ? b.concat([b.ints([-1]), rest], 0) : b.ints([-1])); // [N, …]
  const rows = b.reshape(idx, [-1, ...Array.from({ length: data.rank - 1 }, () => 1)]); // [N, 1…]
  const index = data.rank > 1 ? b.expand(rows, b.shapeOf(g)) : rows; // [N, …]
  return [b.op1("ScatterElements", [b.zerosLike(data), index, g], { axis: A.int(0), ...add })];
}

function scatterGrad(gatherOp: string) {
  return (c: GradCtx): (T | undefined)[] => {
    const b = c.b;
    const g = c.g[0]!;
    const [, idx, upd] = [c.x[0]!, c.x[1]!, c.x[2]!];
    const axisAttr: Record<string, Attr> =
      gatherOp === "GatherElements" ? { axis: A.int(attrInt(c.node, "axis", 0)) } : {};
    const reduction = attrString(c.node, "reduction", "none");
    if (reduction !== "none" && reduction !== "add") {
      throw new KeelError(
        "KEEL_E_UNSUPPORTED",
        `${c.node.op} with reduction ${reduction} has no gradient rule`,
      );
    }
    const dData = !c.needs[0]
      ? undefined
      : reduction === "add"
        ? g
        : b.op1(c.node.op, [g, idx, b.zerosLike(upd)], axisAttr);
    const dUpd = c.needs[2] ? b.op1(gatherOp, [g, idx], axisAttr) : undefined;
    return [dData, undefined, dUpd];
  };
}

export const GATHER_OPS: Record<string, OpDef> = {
  Gather: {
    infer: (c) => {
      const data = need(c, 0);
      const idx = need(c, 1);
      const axis = normAxis(attrInt(c.node, "axis", 0), data.shape.length);
      const shape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
      return [{ dtype: data.dtype, shape }];
    },
    grad: gatherGrad,
  },
  GatherElements: {
    infer: (c) => [{ dtype: need(c, 0).dtype, shape: need(c, 1).shape }],
    grad: (c) =>
      c.needs[0]
        ? [
            c.b.op1("ScatterElements", [c.b.zerosLike(c.x[0]!), c.x[1]!, c.g[0]!], {
              axis: A.int(attrInt(c.node, "axis", 0)),
              ...add,
            }),
          ]
        : [],
  },
  GatherND: {
    infer: (c) => {
      const data = need(c, 0);
      const idx = need(c, 1);
      const k = idx.shape[idx.shape.length - 1];
      if (typeof k !== "number")
        throw new KeelError("KEEL_E_SHAPE", "GatherND needs a static index depth");
      return [{ dtype: data.dtype, shape: [...idx.shape.slice(0, -1), ...data.shape.slice(k)] }];
    },
  },
  ScatterElements: { infer: (c) => [need(c, 0)], grad: scatterGrad("GatherElements") },
  ScatterND: { infer: (c) => [need(c, 0)], grad: scatterGrad("GatherND") },
};
