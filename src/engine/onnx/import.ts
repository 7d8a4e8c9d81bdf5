/**
 * Reads an ONNX model made by any tool into keel's Graph, inferring every value's shape with
 * the engine's op table, so that `gradients()` can differentiate it exactly as it does keel's
 * own graphs. `trainable` selects float initializers to lift into graph inputs backed by a
 * ParamStore: the weights keel will own, feed and update when fine-tuning an imported model.
 *
 * Limits: ops outside the engine's table, subgraphs (If/Loop), external tensor data and
 * non-default op domains are rejected with KEEL_E_UNSUPPORTED naming the op.
 */
import { KeelError } from "../../core/errors.js";
import { topoOrder } from "../autodiff.js";
import { Graph, type TensorData } from "../graph.js";
import { inferNode } from "../ops/registry.js";
import { ParamStore } from "../params.js";
import { decodeModel } from "./proto.js";

export interface ImportOptions {
  /** Float initializers to turn into trainable inputs (default: none). */
  readonly trainable?: (name: string, t: TensorData) => boolean;
  /** The file the bytes came from, named in errors. */
  readonly file?: string;
}

export interface ImportedModel {
  readonly graph: Graph;
  readonly opset: number;
  /** The lifted weights (empty when nothing is trainable), in graph-input form. */
  readonly params: ParamStore;
}

export function importOnnx(bytes: Uint8Array, o: ImportOptions = {}): ImportedModel {
  const m = decodeModel(bytes, o.file);
  if (m.opset > 0 && m.opset < 13) {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      `opset ${m.opset} is too old; keel reads opset 13 and later`,
      {
        hint: "re-export the model with a newer opset",
      },
    );
  }
  const g = new Graph(m.name);
  for (const v of m.inputs) g.addInput(v);
  const lifted: [string, TensorData][] = [];
  for (const [name, t] of m.initializers) {
    const float = t.dtype === "float32" || t.dtype === "float64";
    if (float && o.trainable?.(name, t)) {
      lifted.push([name, t]);
      g.addInput({ name, dtype: t.dtype, shape: [...t.dims] });
    } else g.addInitializer(name, t);
  }
  // A trainable weight that is NaN or infinite makes every gradient NaN: the first optimizer
  // step would fail with no word of which weight (a constant may well be −∞, a mask's fill).
  for (const [name, t] of lifted) {
    const d = t.data as Float32Array | Float64Array;
    for (let i = 0; i < d.length; i++)
      if (d[i]! - d[i]! !== 0)
        throw new KeelError(
          "KEEL_E_NUMERIC",
          `trainable initializer ${name} holds ${d[i]} at element ${i}`,
          {
            where: { ...(o.file ? { file: o.file } : {}), id: name },
            hint: "a weight to train must be finite: export the model from before it diverged, or leave this initializer out of `trainable`",
          },
        );
  }
  const dtypes = new Set(lifted.map(([, t]) => t.dtype));
  if (dtypes.size > 1)
    throw new KeelError("KEEL_E_UNSUPPORTED", "trainable weights mix float32 and float64");
  const params = new ParamStore(
    lifted.map(([name, t]) => ({ name, shape: t.dims, init: "zeros" as const })),
    dtypes.has("float64") ? "float64" : "float32",
  );
  for (const [name, t] of lifted) params.view(name).set(t.data as Float32Array);
  // nodes are inserted in dependency order so that each sees its inputs' inferred shapes
  const staging = new Graph(m.name);
  for (const n of m.nodes) staging.nodes.push(n);
  for (const name of [...g.inputs, ...g.initializers.keys()]) staging.setInfo(g.info(name));
  staging.inputs.push(...g.inputs);
  for (const [k, t] of g.initializers) staging.initializers.set(k, t);
  for (const node of topoOrder(staging)) g.addNode(node, inferNode(g, node));
  for (const out of m.outputs) {
    if (!g.has(out.name))
      throw new KeelError("KEEL_E_SHAPE", `graph output ${out.name} is never produced`);
    g.outputs.push(out.name);
  }
  return { graph: g, opset: m.opset, params };
}
