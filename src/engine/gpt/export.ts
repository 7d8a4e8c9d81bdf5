/**
 * Standalone inference export: the forward graph with every weight embedded as an
 * initializer, inputs `input_ids` and `attention_mask` (int64 [B, T], as Hugging Face exports
 * name them) and outputs chosen among logits [B, T, V], logprobs [B, T], values [B, T],
 * rewards [B]. Any ONNX Runtime (or other ONNX tool supporting opset 20) loads it without
 * keel.
 */
import { KeelError } from "../../core/errors.js";
import { writeFileAtomic } from "../checkpoint/atomic.js";
import type { Graph } from "../graph.js";
import { encodeModel } from "../onnx/proto.js";
import { forwardGraph, type Head } from "./graphs.js";
import type { Gpt } from "./model.js";

export function exportOnnxBytes(model: Gpt, heads: readonly Head[] = ["logits"]): Uint8Array {
  // a graph of no outputs loads in ONNX Runtime and computes nothing: refuse it, as forward does
  if (heads.length === 0)
    throw new KeelError("KEEL_E_USAGE", "ONNX export needs at least one head");
  // a head named twice would be two graph outputs of one name: a file no runtime loads
  const g = forwardGraph(model.config, model.params, [...new Set(heads)], true);
  dropUnusedInitializers(g);
  return encodeModel(g, { producer: "keel" });
}

/**
 * Drops the weights no node reads (the value and reward heads of a logits-only export): they
 * only make the file larger, and ONNX Runtime warns about each on every load.
 */
function dropUnusedInitializers(g: Graph): void {
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const o of g.outputs) read.add(o);
  for (const name of [...g.initializers.keys()]) {
    if (!read.has(name)) {
      g.initializers.delete(name);
      g.values.delete(name);
    }
  }
}

export function exportOnnx(model: Gpt, path: string, heads: readonly Head[] = ["logits"]): number {
  const bytes = exportOnnxBytes(model, heads);
  writeFileAtomic(path, bytes);
  return bytes.byteLength;
}
