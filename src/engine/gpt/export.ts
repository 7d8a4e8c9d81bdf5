/**
 * Standalone inference export: the forward graph with every weight embedded as an
 * initializer, inputs `input_ids` and `attention_mask` (int64 [B, T], as Hugging Face exports
 * name them) and outputs chosen among logits [B, T, V], logprobs [B, T], values [B, T],
 * rewards [B]. Any ONNX Runtime (or other ONNX tool supporting opset 20) loads it without
 * keel.
 */
import { writeFileAtomic } from "../checkpoint/atomic.js";
import { encodeModel } from "../onnx/proto.js";
import { forwardGraph, type Head } from "./graphs.js";
import type { Gpt } from "./model.js";

export function exportOnnxBytes(model: Gpt, heads: readonly Head[] = ["logits"]): Uint8Array {
  return encodeModel(forwardGraph(model.config, model.params, heads, true), { producer: "keel" });
}

export function exportOnnx(model: Gpt, path: string, heads: readonly Head[] = ["logits"]): number {
  const bytes = exportOnnxBytes(model, heads);
  writeFileAtomic(path, bytes);
  return bytes.byteLength;
}
