/**
 * Every op the engine understands, in one explicit table: shape inference for all of them, a
 * gradient rule for the differentiable ones. An op missing here cannot be built or imported;
 * an op present without `grad` blocks gradients that would have to flow through it.
 */
import { KeelError } from "../../core/errors.js";
import type { Graph, Node, ValueInfo } from "../graph.js";
import { ELEMENTWISE_OPS } from "./elementwise.js";
import { GATHER_OPS } from "./gather.js";
import { LINALG_OPS, MS_LINALG_OPS } from "./linalg.js";
import { NN_OPS } from "./nn.js";
import { REDUCE_OPS } from "./reduce.js";
import { SHAPE_OPS } from "./shape.js";
import type { OpDef } from "./types.js";

export const OPS: Readonly<Record<string, OpDef>> = {
  ...ELEMENTWISE_OPS,
  ...LINALG_OPS,
  ...REDUCE_OPS,
  ...NN_OPS,
  ...SHAPE_OPS,
  ...GATHER_OPS,
};

/** ONNX Runtime's contrib domain; keel emits only `FusedMatMul` from it (see builder.matmulT). */
export const MS_DOMAIN = "com.microsoft";

export const MS_OPS: Readonly<Record<string, OpDef>> = { ...MS_LINALG_OPS };

export function opDef(node: Node): OpDef {
  const def =
    node.domain === "" || node.domain === "ai.onnx"
      ? OPS[node.op]
      : node.domain === MS_DOMAIN
        ? MS_OPS[node.op]
        : undefined;
  if (!def) {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      `op ${node.domain ? `${node.domain}:` : ""}${node.op} is not supported by the engine`,
      {
        where: { id: node.name ?? node.op },
        hint: `supported ops: ${Object.keys(OPS).sort().join(", ")}`,
      },
    );
  }
  return def;
}

/** Infers the outputs of `node` from the graph's current value infos. */
export function inferNode(graph: Graph, node: Node): ValueInfo[] {
  const def = opDef(node);
  const inputs = node.inputs.map((name) => (name === "" ? undefined : graph.info(name)));
  const outs = def.infer({ graph, node, inputs });
  const infos: ValueInfo[] = [];
  node.outputs.forEach((name, i) => {
    const o = outs[i];
    if (name !== "" && o) infos.push({ name, dtype: o.dtype, shape: o.shape });
  });
  return infos;
}
