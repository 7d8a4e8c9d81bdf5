/**
 * Imported .onnx files whose weights are not finite. A weight lifted for training (`trainable`)
 * that is NaN or ±∞ makes every gradient NaN, and the first AdamW step failed with only
 * "gradient norm is NaN": the import refuses it, naming the initializer, the element and the
 * file. Constants that stay in the graph are the model's business (−∞ is a mask's usual fill).
 */
import { describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { exportOnnxBytes } from "../../src/engine/gpt/export.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { importOnnx } from "../../src/engine/onnx/import.js";

const CFG = { vocab: 11, dModel: 4, layers: 1, heads: 1, context: 4 };

/** An exported values-only model with `bad` at element `i` of `name`. */
function exported(name: string, i: number, bad: number): Uint8Array {
  const m = new Gpt(CFG, { seed: 7, threads: 1 });
  m.params.view(name)[i] = bad;
  const bytes = exportOnnxBytes(m, ["values"]);
  void m.dispose();
  return bytes;
}

function importError(bytes: Uint8Array, trainable: (n: string) => boolean): KeelError {
  try {
    importOnnx(bytes, { trainable, file: "rm.onnx" });
  } catch (e) {
    if (isKeelError(e)) return e;
    throw new Error(`expected a KeelError, got ${String(e)}`);
  }
  throw new Error("expected a KeelError, nothing was thrown");
}

describe("importOnnx with non-finite weights", () => {
  it("refuses a trainable weight holding NaN or ±∞, naming it, the element and the file", () => {
    for (const [name, i, bad] of [
      ["value_head.weight", 2, Number.NaN],
      ["h.0.mlp.c_fc.weight", 9, Number.POSITIVE_INFINITY],
      ["ln_f.bias", 0, Number.NEGATIVE_INFINITY],
    ] as const) {
      const e = importError(exported(name, i, bad), () => true);
      expect(e.code).toBe("KEEL_E_NUMERIC");
      expect(e.detail).toBe(`trainable initializer ${name} holds ${bad} at element ${i}`);
      expect(e.where).toEqual({ file: "rm.onnx", id: name });
    }
  });

  it("imports the same file when that weight stays a constant, and trains the finite others", () => {
    const bytes = exported("value_head.weight", 2, Number.NaN);
    const m = importOnnx(bytes, { trainable: (n) => n !== "value_head.weight" });
    expect(m.params.has("value_head.weight")).toBe(false);
    expect(m.params.has("wte")).toBe(true);
    expect(m.graph.initializers.has("value_head.weight")).toBe(true);
    expect(importOnnx(bytes).params.size).toBe(0);
  });
});
