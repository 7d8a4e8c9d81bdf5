/**
 * Session options decided from the model itself: float64 graphs run at optimisation level
 * "basic", because the extended fusions write float32 attributes (a product followed by a
 * scale becomes a FusedMatMul whose alpha is a float32); float32 graphs keep every fusion.
 */

import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../src/engine/builder.js";
import type { DType } from "../../src/engine/graph.js";
import { encodeModel } from "../../src/engine/onnx/proto.js";
import {
  defaultThreads,
  MAX_THREADS,
  optimisationLevel,
  Session,
  tensor,
} from "../../src/engine/runtime.js";

/** q·kᵀ/√8 over [2, 3, 8] and [2, 5, 8], attention's scaled product. */
function scaledProduct(dtype: DType) {
  const b = new GraphBuilder("scaled");
  const q = b.input("q", dtype, [2, 3, 8]);
  const k = b.input("k", dtype, [2, 5, 8]);
  b.output(b.matmulT(q, k, { transB: true, alpha: 1 / Math.sqrt(8) }), "y"); // [2, 3, 5]
  return b.graph;
}

describe("optimisationLevel", () => {
  it('is "all" for float32 models and "basic" when an input, output or initializer is float64', () => {
    expect(optimisationLevel(encodeModel(scaledProduct("float32")))).toBe("all");
    expect(optimisationLevel(encodeModel(scaledProduct("float64")))).toBe("basic");

    // float32 inputs, float64 only in the output
    const out = new GraphBuilder("out64");
    out.output(out.cast(out.input("x", "float32", [3]), "float64"), "y");
    expect(optimisationLevel(encodeModel(out.graph))).toBe("basic");

    // float32 inputs and outputs, float64 only in a weight stored in the file
    const init = new GraphBuilder("init64");
    const w = init.constant("float64", [1, 2, 3], [3]);
    const x = init.input("x", "float32", [3]);
    init.output(init.mul(x, init.cast(w, "float32")), "y");
    expect(optimisationLevel(encodeModel(init.graph))).toBe("basic");

    // integer inputs and a float32 output are not float64
    const ids = new GraphBuilder("ids");
    ids.output(ids.cast(ids.input("i", "int64", [3]), "float32"), "y");
    expect(optimisationLevel(encodeModel(ids.graph))).toBe("all");
  });

  it('is "all" for bytes that are not a model, leaving the error to ONNX Runtime', async () => {
    const junk = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(optimisationLevel(junk)).toBe("all");
    await expect(Session.fromBytes(junk)).rejects.toMatchObject({ code: "KEEL_E_INTERNAL" });
  });
});

describe("float64 sessions", () => {
  it("keep a product's scale in float64 (no float32 alpha from fusion)", async () => {
    // 1/√8 is not a float32 value: fused into a float32 alpha it moves every entry by 1.7e-8
    // of its size, a million times float64's round-off.
    const qv = Float64Array.from({ length: 48 }, (_, i) => Math.sin(1.3 * i + 0.2));
    const kv = Float64Array.from({ length: 80 }, (_, i) => Math.cos(0.7 * i - 0.5));
    const s = await Session.create(scaledProduct("float64"), { threads: 1 });
    const y = (
      await s.run({ q: tensor("float64", qv, [2, 3, 8]), k: tensor("float64", kv, [2, 5, 8]) })
    ).y!.data as Float64Array;
    await s.dispose();
    let worst = 0;
    for (let o = 0; o < 30; o++) {
      const [bt, i, j] = [Math.floor(o / 15), Math.floor(o / 5) % 3, o % 5];
      let dot = 0;
      for (let d = 0; d < 8; d++) dot += qv[bt * 24 + i * 8 + d]! * kv[bt * 40 + j * 8 + d]!;
      const want = dot / Math.sqrt(8);
      worst = Math.max(worst, Math.abs(y[o]! - want) / Math.max(1e-3, Math.abs(want)));
    }
    expect(worst).toBeLessThan(1e-13);
  });
});

describe("KEEL_THREADS", () => {
  const withEnv = (v: string | undefined) => {
    const old = process.env.KEEL_THREADS;
    if (v === undefined) delete process.env.KEEL_THREADS;
    else process.env.KEEL_THREADS = v;
    try {
      return defaultThreads();
    } finally {
      if (old === undefined) delete process.env.KEEL_THREADS;
      else process.env.KEEL_THREADS = old;
    }
  };

  it("takes a whole number from 1 to the cap, and every core when unset or empty", () => {
    expect(withEnv("3")).toBe(3);
    expect(withEnv(String(MAX_THREADS))).toBe(MAX_THREADS);
    expect(withEnv(undefined)).toBe(availableParallelism());
    expect(withEnv("")).toBe(availableParallelism());
  });

  it("refuses anything else naming the variable (it was ignored, or read as hex, or passed on)", () => {
    for (const v of ["lots", "2abc", "0x2", " 2", "1.5", "0", "-1", "1e9", String(MAX_THREADS + 1)])
      expect(() => withEnv(v), v).toThrow(/^KEEL_THREADS must be a whole number from 1 to 1024/);
  });
});
