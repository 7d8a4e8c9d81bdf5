import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../src/engine/builder.js";
import { dimAdd, dimDiv, dimMul } from "../../src/engine/dims.js";
import { decodeModel, encodeModel } from "../../src/engine/onnx/proto.js";
import { A } from "../../src/engine/ops/types.js";
import { Session, tensor } from "../../src/engine/runtime.js";

describe("symbolic dimensions", () => {
  it("multiply, divide and offset canonically", () => {
    expect(dimMul("T", "B")).toBe("B*T");
    expect(dimMul(4, "B")).toBe("4*B");
    expect(dimDiv("B*T", "T")).toBe("B");
    expect(dimDiv(dimMul("B", 12), 4)).toBe("3*B");
    expect(String(dimDiv("B", "T"))).toMatch(/^\?/);
    expect(dimAdd("T-1", 1)).toBe("T");
    expect(dimAdd("T", -2)).toBe("T-2");
  });
});

describe("shape inference", () => {
  it("follows a transformer's reshapes with symbolic batch and sequence", () => {
    const b = new GraphBuilder("shapes");
    const x = b.input("x", "float32", ["B", "T", 8]);
    const w = b.input("w", "float32", [8, 24]);
    const y = b.matmul(x, w);
    expect(y.shape).toEqual(["B", "T", 24]);
    const heads = b.transpose(b.reshape(y, [0, 0, 6, 4]), [0, 2, 1, 3]);
    expect(heads.shape).toEqual(["B", 6, "T", 4]);
    const [q, k] = b.split(heads, [2, 4], 1);
    expect(q!.shape).toEqual(["B", 2, "T", 4]);
    expect(k!.shape).toEqual(["B", 4, "T", 4]);
    expect(b.reshape(y, [-1, 24]).shape).toEqual(["B*T", 24]);
    const shifted = b.slice(x, [0], [-1], [1]);
    expect(shifted.shape).toEqual(["B", "T-1", 8]);
    expect(b.concat([b.slice(x, [0], [1], [1]), shifted], 1).shape).toEqual(["B", "T", 8]);
    expect(b.reduceSum(x, [1], false).shape).toEqual(["B", 8]);
    expect(b.add(x, b.input("bias", "float32", [8])).shape).toEqual(["B", "T", 8]);
    expect(b.reshape(y, b.shapeOf(y)).shape).toEqual(["B", "T", 24]);
  });

  it("broadcasts every operand of Where, reduces every axis for empty axes", () => {
    const b = new GraphBuilder("edges");
    const x = b.input("x", "float32", ["B", "T", 8]);
    const cond = b.input("c", "bool", [3]);
    const row = b.input("r", "float32", [3]);
    // the widest operand may be the middle one
    expect(b.where(cond, b.input("a", "float32", [2, 3]), row).shape).toEqual([2, 3]);
    // a symbolic dim is never 1 (dims.ts), so against a fixed dim n it is n
    expect(b.add(b.input("s", "float32", ["B", 3]), b.input("f", "float32", [4, 3])).shape).toEqual(
      [4, 3],
    );
    // ONNX: empty axes with noop_with_empty_axes = 0 reduce over every axis
    expect(b.reduceSum(x, [], false).shape).toEqual([]);
    expect(b.reduceMax(x, [], true).shape).toEqual([1, 1, 1]);
  });

  it("reports a shape error at the op that caused it", () => {
    const b = new GraphBuilder("bad");
    const x = b.input("x", "float32", [2, 3]);
    const w = b.input("w", "float32", [4, 5]);
    expect(() => b.matmul(x, w)).toThrow(/inner dims differ/);
    expect(() => b.add(x, b.input("y", "float32", [4]))).toThrow(/cannot broadcast/);
    expect(() => b.op1("NoSuchOp", [x])).toThrow(/not supported/);
  });
});

describe("ONNX protobuf", () => {
  it("round-trips nodes, attributes, initializers and symbolic dims", async () => {
    const b = new GraphBuilder("rt");
    const x = b.input("x", "float32", ["N", 3]);
    const y = b.op1("Gelu", [b.mul(x, 2)], { approximate: A.str("tanh") });
    b.output(b.softmax(y, 1), "out");
    const bytes = encodeModel(b.graph);
    const m = decodeModel(bytes);
    expect(m.opset).toBe(20);
    expect(m.inputs).toEqual([{ name: "x", dtype: "float32", shape: ["N", 3] }]);
    expect(m.nodes.map((n) => n.op)).toEqual(["Mul", "Gelu", "Softmax", "Identity"]);
    expect(m.nodes[1]!.attrs.approximate).toEqual({ kind: "string", value: "tanh" });
    expect([...m.initializers.values()][0]!.data).toEqual(Float32Array.from([2]));
    const s = await Session.fromBytes(bytes, { threads: 1 });
    const out = await s.run({
      x: tensor("float32", Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]),
    });
    const row = Array.from(out.out!.data as Float32Array).slice(0, 3);
    expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
    await s.dispose();
  });
});

describe("matmulT", () => {
  const build = (dtype: "float32" | "float64", portable = false) => {
    const b = new GraphBuilder("mt", { portable });
    const q = b.input("q", dtype, [2, 3, 4]);
    const k = b.input("k", dtype, [2, 5, 4]);
    const y = b.matmulT(q, k, { transB: true, alpha: 0.5 });
    expect(y.shape).toEqual([2, 3, 5]);
    b.output(y, "y");
    return b.graph;
  };
  const q = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
  const k = Float32Array.from({ length: 40 }, (_, i) => Math.cos(i));
  const expected = Array.from({ length: 30 }, (_, o) => {
    const [bt, i, j] = [Math.floor(o / 15), Math.floor(o / 5) % 3, o % 5];
    let s = 0;
    for (let d = 0; d < 4; d++) s += q[bt * 12 + i * 4 + d]! * k[bt * 20 + j * 4 + d]!;
    return 0.5 * s;
  });

  it("is one FusedMatMul in float32 graphs, and standard ops when portable or float64", async () => {
    const fused = build("float32");
    expect(fused.nodes.map((n) => `${n.domain}:${n.op}`)).toEqual([
      "com.microsoft:FusedMatMul",
      ":Identity",
    ]);
    expect(build("float32", true).nodes.map((n) => n.op)).toEqual([
      "Transpose",
      "MatMul",
      "Mul",
      "Identity",
    ]);
    expect(build("float64").nodes.some((n) => n.domain !== "")).toBe(false);
    for (const g of [fused, build("float32", true)]) {
      const s = await Session.create(g, { threads: 1 });
      const out = await s.run({
        q: tensor("float32", q, [2, 3, 4]),
        k: tensor("float32", k, [2, 5, 4]),
      });
      const y = Array.from(out.y!.data as Float32Array);
      y.forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i]!, 5);
      });
      await s.dispose();
    }
  });

  it("rejects operands whose inner dims differ, naming the transposes", () => {
    const b = new GraphBuilder("bad");
    const x = b.input("x", "float32", [2, 3]);
    expect(() => b.matmulT(x, x)).toThrow(/inner dims differ/);
    expect(() => b.matmulT(x, x, { transA: true, transB: true })).toThrow(/ᵀ/);
  });
});

describe("gelu", () => {
  it("is the float64 function in float64 graphs, not ONNX Runtime's float32-constant expansion", async () => {
    // ONNX Runtime has no float64 Gelu kernel; its expansion of the node holds √(2/π) and
    // 0.044715 as float32 values, 1e-8 off the function the backward rule differentiates.
    const b = new GraphBuilder("gelu64");
    b.output(b.gelu(b.input("x", "float64", [97])), "y");
    const x = Float64Array.from({ length: 97 }, (_, i) => -6 + i / 8);
    const s = await Session.create(b.graph, { threads: 1 });
    const y = (await s.run({ x: tensor("float64", x, [97]) })).y!.data as Float64Array;
    await s.dispose();
    let worst = 0;
    x.forEach((v, i) => {
      const want = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
      worst = Math.max(worst, Math.abs(y[i]! - want) / Math.max(1, Math.abs(want)));
    });
    expect(worst).toBeLessThan(1e-14);
  });

  it("is one Gelu node in float32 graphs", () => {
    const b = new GraphBuilder("gelu32");
    b.output(b.gelu(b.input("x", "float32", [4])), "y");
    expect(b.graph.nodes.map((n) => n.op)).toEqual(["Gelu", "Identity"]);
    expect(b.graph.nodes[0]!.attrs.approximate).toEqual(A.str("tanh"));
  });
});
