/**
 * Reverse-mode automatic differentiation over an ONNX graph, appending the backward pass to
 * the same graph so that one ONNX Runtime session computes forward and backward together.
 *
 * For values v and seeds s (outputs with given upstream gradients ∂L/∂s), the adjoint
 * v̄ = Σ over consumers n of v of (∂n/∂v)ᵀ·n̄ is built by visiting nodes in reverse topological
 * order and calling each op's rule (`ops/*.ts`), summing contributions with Add (two) or Sum
 * (more). Only nodes on a path from a `wrt` value to a seed are differentiated: a value
 * "requires grad" when it is float and depends on `wrt`; a node is visited when one of its
 * outputs received a gradient.
 *
 * The pass reads nothing but the graph (nodes, value infos, constants), so it differentiates
 * graphs made by other tools as well as keel's own, once `importOnnx` has inferred shapes.
 *
 * Precondition: the graph is acyclic and every value on the differentiated path has a known
 * rank. Ops without a gradient rule on that path raise KEEL_E_UNSUPPORTED naming the op.
 */
import { KeelError } from "../core/errors.js";
import type { GraphBuilder, T } from "./builder.js";
import type { Graph, Node } from "./graph.js";
import { isFloat } from "./graph.js";
import { opDef } from "./ops/registry.js";

export interface Seed {
  /** The value to differentiate (a loss, or any output fed an upstream gradient). */
  readonly of: T;
  /** Its upstream gradient; omitted means ones (dL/dL = 1 for a scalar loss). */
  readonly grad?: T;
}

/** Nodes in an order where every node follows the producers of its inputs (Kahn). */
export function topoOrder(graph: Graph): Node[] {
  const ready = new Set<string>([...graph.inputs, ...graph.initializers.keys(), ""]);
  const pending = graph.nodes.map((n) => ({
    n,
    missing: n.inputs.filter((i) => !ready.has(i)).length,
  }));
  const waiting = new Map<string, { n: Node; missing: number }[]>();
  const order: Node[] = [];
  const queue = pending.filter((p) => p.missing === 0);
  for (const p of pending) {
    for (const i of new Set(p.n.inputs)) {
      if (ready.has(i)) continue;
      const list = waiting.get(i) ?? [];
      list.push(p);
      waiting.set(i, list);
    }
  }
  while (queue.length > 0) {
    const p = queue.shift()!;
    order.push(p.n);
    for (const o of p.n.outputs) {
      for (const w of waiting.get(o) ?? []) {
        w.missing -= w.n.inputs.filter((i) => i === o).length;
        if (w.missing === 0) queue.push(w);
      }
      waiting.delete(o);
    }
  }
  if (order.length !== graph.nodes.length) {
    throw new KeelError("KEEL_E_SHAPE", `graph ${graph.name} has a cycle or an undefined input`, {
      hint: "every node input must be a graph input, an initializer or another node's output",
    });
  }
  return order;
}

/**
 * Appends the backward pass for `seeds` to the builder's graph and returns, for each `wrt`
 * value, its gradient (undefined when the seeds do not depend on it).
 */
export function gradients(
  b: GraphBuilder,
  seeds: readonly Seed[],
  wrt: readonly T[],
): Map<string, T | undefined> {
  const graph = b.graph;
  const order = topoOrder(graph);
  const requires = new Set(wrt.map((w) => w.name));
  for (const n of order) {
    if (!n.inputs.some((i) => requires.has(i))) continue;
    for (const o of n.outputs) if (o && isFloat(graph.info(o).dtype)) requires.add(o);
  }
  const pending = new Map<string, T[]>();
  const push = (name: string, g: T) => {
    const list = pending.get(name) ?? [];
    list.push(g);
    pending.set(name, list);
  };
  for (const s of seeds) {
    if (!requires.has(s.of.name)) continue;
    push(s.of.name, s.grad ?? ones(b, s.of));
  }
  const total = (name: string): T | undefined => {
    const list = pending.get(name);
    if (!list || list.length === 0) return undefined;
    const sum =
      list.length === 1
        ? list[0]!
        : list.length === 2
          ? b.add(list[0]!, list[1]!)
          : b.op1("Sum", list);
    pending.set(name, [sum]);
    return sum;
  };
  b.scope("grad", () => {
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k]!;
      const g = node.outputs.map((o) => (o ? total(o) : undefined));
      if (g.every((x) => x === undefined)) continue;
      const needs = node.inputs.map((i) => i !== "" && requires.has(i));
      if (!needs.some(Boolean)) continue;
      const def = opDef(node);
      if (!def.grad) {
        throw new KeelError(
          "KEEL_E_UNSUPPORTED",
          `op ${node.op} has no gradient rule but lies on the differentiated path`,
          {
            where: { id: node.name ?? node.op },
            hint: "stop the gradient before this op or differentiate with respect to other values",
          },
        );
      }
      const x = node.inputs.map((i) => (i === "" ? undefined : b.value(i)));
      const y = node.outputs.map((o) => (o ? b.value(o) : undefined));
      const dx = def.grad({ b, node, x, y, g, needs });
      dx.forEach((d, i) => {
        const name = node.inputs[i];
        if (d && name && needs[i]) push(name, refine(b, d, x[i]!));
      });
    }
  });
  return new Map(wrt.map((w) => [w.name, total(w.name)]));
}

/**
 * A gradient has its value's shape. Rules that rebuild a shape at run time (Pad, Reshape to
 * a Shape node's output) leave unknown dims ("?n") in the inferred shape; filling them from
 * the value keeps later rules on their static fast paths (e.g. one GEMM for a weight
 * gradient instead of a batched product and a sum).
 */
function refine(b: GraphBuilder, d: T, like: T): T {
  if (
    d.rank !== like.rank ||
    !d.shape.some((x, i) => typeof x === "string" && x.startsWith("?") && x !== like.shape[i])
  ) {
    return d;
  }
  const shape = d.shape.map((x, i) =>
    typeof x === "string" && x.startsWith("?") ? like.shape[i]! : x,
  );
  b.graph.setInfo({ name: d.name, dtype: d.dtype, shape });
  return b.value(d.name);
}

function ones(b: GraphBuilder, like: T): T {
  if (like.rank === 0) return b.scalar(1, like.dtype);
  const one = b.scalar(1, like.dtype);
  return b.expand(one, b.shapeVec(like));
}
