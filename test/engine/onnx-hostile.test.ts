/**
 * Hostile and corrupted .onnx files: `decodeModel` must refuse them with a KeelError, and
 * check an initializer's payload against its dims before allocating what the dims claim.
 */
import { describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { exportOnnxBytes } from "../../src/engine/gpt/export.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { Graph, type TensorData } from "../../src/engine/graph.js";
import { decodeModel, encodeModel } from "../../src/engine/onnx/proto.js";

function decodeError(bytes: Uint8Array, file?: string): KeelError {
  try {
    decodeModel(bytes, file);
  } catch (e) {
    if (isKeelError(e)) return e;
    throw new Error(`expected a KeelError, got ${String(e)}`);
  }
  throw new Error("expected a KeelError, nothing was thrown");
}

/** A model whose one initializer claims `dims` but carries `data`. */
function withInitializer(dims: number[], data: TensorData["data"]): Uint8Array {
  const g = new Graph("hostile");
  g.addInitializer("w", { dtype: "float32", dims, data });
  return encodeModel(g);
}

describe("decodeModel on hostile files", () => {
  it("refuses a file cut short anywhere, naming the file", () => {
    const full = exportOnnxBytes(
      new Gpt({ vocab: 11, dModel: 4, layers: 1, heads: 1, context: 4 }, { seed: 1 }),
      ["logits"],
    );
    let refused = 0;
    for (let cut = 1; cut < full.byteLength; cut += 97) {
      try {
        decodeModel(full.subarray(0, cut), "m.onnx");
      } catch (e) {
        // a cut at a field boundary can leave a well-formed (smaller) model; any error is ours
        if (!isKeelError(e)) throw new Error(`cut at ${cut}: ${String(e)}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    const e = decodeError(full.subarray(0, full.byteLength - 3), "m.onnx");
    expect(e.code).toBe("KEEL_E_UNKNOWN_FORMAT");
    expect(e.where?.file).toBe("m.onnx");
  });

  it("checks an initializer's payload against its dims before allocating them", () => {
    // dims of 10^12 floats with 4 bytes of data used to allocate first (RangeError)
    const e = decodeError(withInitializer([1_000_000, 1_000_000], new Float32Array(1)));
    expect(e.code).toBe("KEEL_E_SHAPE");
    expect(e.detail).toMatch(/holds 4 bytes of raw_data; it needs 4000000000000/);
    expect(e.where?.id).toBe("w");
    // more bytes than the dims used to overflow the typed array's `set` (RangeError)
    expect(decodeError(withInitializer([2], new Float32Array(3))).detail).toMatch(
      /holds 12 bytes of raw_data; it needs 8/,
    );
    // fewer used to be zero-filled silently
    expect(decodeError(withInitializer([3], new Float32Array(2))).detail).toMatch(
      /holds 8 bytes of raw_data; it needs 12/,
    );
    expect(decodeError(withInitializer([-1], new Float32Array(1))).detail).toMatch(
      /tensor has dims \[-1\]/,
    );
    const ok = decodeModel(withInitializer([2, 1], Float32Array.of(1, 2)));
    expect(Array.from(ok.initializers.get("w")!.data as Float32Array)).toEqual([1, 2]);
  });
});
