/**
 * Every differentiable op's backward rule against central finite differences in float64
 * (h = 1e-6; tolerance 1e-6 relative to max(1, |numeric|)), plus float32 builds of the ops
 * whose float32 rule differs (LayerNormalization reads the kernel's Mean/InvStdDev outputs;
 * products and their gradients run as ONNX Runtime's FusedMatMul) checked against the float64
 * differences with tolerance 1e-3.
 */
import { describe, expect, it } from "vitest";
import type { GraphBuilder, T } from "../../src/engine/builder.js";
import { A } from "../../src/engine/ops/types.js";
import { gradcheck, type InputSpec } from "./gradcheck.js";

type Case = [string, InputSpec[], (b: GraphBuilder, i: Record<string, T>) => T, number?];

const pos = (n: number) => Array.from({ length: n }, (_, i) => 0.5 + ((i * 7) % 11) / 5);
const away0 = (n: number) =>
  Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.3 + ((i * 5) % 7) / 4));

const CASES: Case[] = [
  [
    "Add broadcast",
    [
      { name: "a", shape: [2, 3, 4] },
      { name: "b", shape: [3, 1] },
    ],
    (b, i) => b.add(i.a!, i.b!),
  ],
  [
    "Add bias over rows",
    [
      { name: "x", shape: [4, 3] },
      { name: "b", shape: [3] },
    ],
    (b, i) => b.add(i.x!, i.b!),
  ],
  [
    "Sub broadcast",
    [
      { name: "a", shape: [4] },
      { name: "b", shape: [2, 3, 4] },
    ],
    (b, i) => b.sub(i.a!, i.b!),
  ],
  [
    "Mul broadcast",
    [
      { name: "a", shape: [2, 1, 4] },
      { name: "b", shape: [3, 1] },
    ],
    (b, i) => b.mul(i.a!, i.b!),
  ],
  [
    "Div broadcast",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [3], values: pos(3) },
    ],
    (b, i) => b.div(i.a!, i.b!),
  ],
  ["Neg", [{ name: "x", shape: [5] }], (b, i) => b.neg(i.x!)],
  ["Exp", [{ name: "x", shape: [5] }], (b, i) => b.exp(i.x!)],
  ["Log", [{ name: "x", shape: [5], values: pos(5) }], (b, i) => b.log(i.x!)],
  ["Sqrt", [{ name: "x", shape: [5], values: pos(5) }], (b, i) => b.sqrt(i.x!)],
  ["Tanh", [{ name: "x", shape: [5] }], (b, i) => b.tanh(i.x!)],
  ["Sigmoid", [{ name: "x", shape: [5] }], (b, i) => b.sigmoid(i.x!)],
  ["Relu", [{ name: "x", shape: [6], values: away0(6) }], (b, i) => b.relu(i.x!)],
  ["Gelu (tanh)", [{ name: "x", shape: [2, 6] }], (b, i) => b.gelu(i.x!)],
  // b.gelu writes float64 GELU out in ops, so the node's rule is checked on the node itself (an
  // imported graph's); ONNX Runtime runs it with float32 constants, 7e-9 off the rule's
  [
    "Gelu node (tanh)",
    [{ name: "x", shape: [2, 6] }],
    (b, i) => b.op1("Gelu", [i.x!], { approximate: A.str("tanh") }),
  ],
  ["Softmax last axis", [{ name: "x", shape: [2, 5] }], (b, i) => b.softmax(i.x!, -1)],
  ["Softmax axis 0", [{ name: "x", shape: [3, 2] }], (b, i) => b.softmax(i.x!, 0)],
  ["LogSoftmax", [{ name: "x", shape: [2, 5] }], (b, i) => b.logSoftmax(i.x!, -1)],
  [
    "LayerNormalization",
    [
      { name: "x", shape: [2, 3, 4] },
      { name: "g", shape: [4] },
      { name: "b", shape: [4] },
    ],
    (b, i) => b.layerNorm(i.x!, i.g!, i.b!),
  ],
  [
    "MatMul shared weight",
    [
      { name: "x", shape: [2, 3, 4] },
      { name: "w", shape: [4, 5] },
    ],
    (b, i) => b.matmul(i.x!, i.w!),
  ],
  [
    "MatMul batched",
    [
      { name: "q", shape: [2, 2, 3, 4] },
      { name: "k", shape: [2, 2, 4, 3] },
    ],
    (b, i) => b.matmul(i.q!, i.k!),
  ],
  [
    "MatMul broadcast batch",
    [
      { name: "a", shape: [3, 4] },
      { name: "b", shape: [2, 4, 2] },
    ],
    (b, i) => b.matmul(i.a!, i.b!),
  ],
  [
    "matmulT transB alpha (batched)",
    [
      { name: "q", shape: [2, 2, 3, 4] },
      { name: "k", shape: [2, 2, 5, 4] },
    ],
    (b, i) => b.matmulT(i.q!, i.k!, { transB: true, alpha: 0.5 }),
  ],
  [
    "matmulT transA (batched)",
    [
      { name: "a", shape: [2, 2, 4, 3] },
      { name: "b", shape: [2, 2, 4, 5] },
    ],
    (b, i) => b.matmulT(i.a!, i.b!, { transA: true }),
  ],
  [
    "matmulT transA transB alpha, broadcast batch",
    [
      { name: "a", shape: [4, 3] },
      { name: "b", shape: [2, 5, 4] },
    ],
    (b, i) => b.matmulT(i.a!, i.b!, { transA: true, transB: true, alpha: 2 }),
  ],
  [
    "matmulT alpha, shared weight",
    [
      { name: "x", shape: [2, 3, 4] },
      { name: "w", shape: [4, 5] },
    ],
    (b, i) => b.matmulT(i.x!, i.w!, { alpha: -1.5 }),
  ],
  [
    "Gemm transA transB alpha beta",
    [
      { name: "a", shape: [4, 3] },
      { name: "b", shape: [5, 4] },
      { name: "c", shape: [5] },
    ],
    (b, i) => b.gemm(i.a!, i.b!, i.c!, { transA: true, transB: true, alpha: 0.7, beta: 1.3 }),
  ],
  [
    "Gemm plain",
    [
      { name: "a", shape: [3, 4] },
      { name: "b", shape: [4, 2] },
    ],
    (b, i) => b.gemm(i.a!, i.b!),
  ],
  ["ReduceSum keepdims", [{ name: "x", shape: [2, 3, 4] }], (b, i) => b.reduceSum(i.x!, [1], true)],
  ["ReduceSum drop", [{ name: "x", shape: [2, 3, 4] }], (b, i) => b.reduceSum(i.x!, [0, 2], false)],
  ["ReduceMean", [{ name: "x", shape: [2, 3, 4] }], (b, i) => b.reduceMean(i.x!, [-1], false)],
  ["ReduceMax", [{ name: "x", shape: [3, 4] }], (b, i) => b.reduceMax(i.x!, [1], false)],
  ["Reshape", [{ name: "x", shape: [2, 3, 4] }], (b, i) => b.reshape(i.x!, [0, -1])],
  ["Transpose", [{ name: "x", shape: [2, 3, 4] }], (b, i) => b.transpose(i.x!, [2, 0, 1])],
  [
    "Concat",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [2, 2] },
    ],
    (b, i) => b.concat([i.a!, i.b!], 1),
  ],
  [
    "Split",
    [{ name: "x", shape: [2, 5] }],
    (b, i) => {
      const [p, q] = b.split(i.x!, [2, 3], 1);
      return b.concat([b.mul(q!, 2), p!], 1);
    },
  ],
  ["Split unused piece", [{ name: "x", shape: [6, 2] }], (b, i) => b.split(i.x!, [2, 4], 0)[1]!],
  ["Slice", [{ name: "x", shape: [3, 5] }], (b, i) => b.slice(i.x!, [1, -4], [3, -1], [0, 1])],
  [
    "Unsqueeze + Squeeze",
    [{ name: "x", shape: [3, 2] }],
    (b, i) => b.mul(b.squeeze(b.unsqueeze(i.x!, [0, 2]), [0]), 2),
  ],
  ["Expand", [{ name: "x", shape: [3, 1] }], (b, i) => b.expand(i.x!, b.ints([2, 3, 4]))],
  [
    "Gather (embedding, repeated ids)",
    [
      { name: "w", shape: [5, 3] },
      { name: "ids", shape: [2, 3], dtype: "int32", values: [1, 4, 1, 0, 1, 3] },
    ],
    (b, i) => b.gather(i.w!, i.ids!, 0),
  ],
  [
    "GatherElements (token log-probs)",
    [
      { name: "x", shape: [2, 4] },
      { name: "ix", shape: [2, 1], dtype: "int64", values: [3, 0] },
    ],
    (b, i) => b.gatherElements(i.x!, i.ix!, 1),
  ],
  [
    "Where",
    [
      { name: "c", shape: [2, 3], dtype: "bool", values: [1, 0, 1, 0, 0, 1] },
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [3] },
    ],
    (b, i) => b.where(i.c!, i.a!, i.b!),
  ],
  [
    "Clip",
    [{ name: "x", shape: [6], values: away0(6).map((v) => v * 2) }],
    (b, i) => b.clip(i.x!, -0.8, 1.2),
  ],
  [
    "Min",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [3] },
    ],
    (b, i) => b.min(i.a!, i.b!),
  ],
  [
    "Max",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [2, 1] },
    ],
    (b, i) => b.max(i.a!, i.b!),
  ],
  // linear, so a wide step is exact and rises above float32 rounding
  [
    "Cast f64→f32→f64",
    [{ name: "x", shape: [4] }],
    (b, i) => b.cast(b.mul(b.cast(i.x!, "float32"), 3), "float64"),
    0.25,
  ],
  [
    "Sum (variadic)",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [3] },
    ],
    (b, i) => b.op1("Sum", [i.a!, i.b!, i.a!]),
  ],
  ["Trilu", [{ name: "x", shape: [3, 3] }], (b, i) => b.op1("Trilu", [i.x!], { upper: A.int(0) })],
  [
    "CumSum",
    [{ name: "x", shape: [2, 4] }],
    (b, i) => b.op1("CumSum", [i.x!, b.constant("int64", [1], [])]),
  ],
  [
    "ScatterElements (add)",
    [
      { name: "d", shape: [2, 4] },
      { name: "ix", shape: [2, 2], dtype: "int64", values: [0, 0, 3, 1] },
      { name: "u", shape: [2, 2] },
    ],
    (b, i) =>
      b.op1("ScatterElements", [i.d!, i.ix!, i.u!], { axis: A.int(1), reduction: A.str("add") }),
  ],
  [
    "ScatterElements (replace)",
    [
      { name: "d", shape: [2, 4] },
      { name: "ix", shape: [2, 1], dtype: "int64", values: [2, 1] },
      { name: "u", shape: [2, 1] },
    ],
    (b, i) => b.op1("ScatterElements", [i.d!, i.ix!, i.u!], { axis: A.int(1) }),
  ], // ops whose rule had no finite-difference case before
  ["Identity", [{ name: "x", shape: [2, 3] }], (b, i) => b.mul(b.op1("Identity", [i.x!]), 2)],
  [
    "Dropout (inference)",
    [{ name: "x", shape: [2, 3] }],
    (b, i) => b.mul(b.op1("Dropout", [i.x!]), 2),
  ],
  [
    "CumSum exclusive",
    [{ name: "x", shape: [2, 4] }],
    (b, i) => b.op1("CumSum", [i.x!, b.constant("int64", [1], [])], { exclusive: A.int(1) }),
  ],
  [
    "CumSum reverse",
    [{ name: "x", shape: [3, 2] }],
    (b, i) => b.op1("CumSum", [i.x!, b.constant("int64", [0], [])], { reverse: A.int(1) }),
  ],
  [
    "CumSum exclusive reverse",
    [{ name: "x", shape: [5] }],
    (b, i) =>
      b.op1("CumSum", [i.x!, b.constant("int64", [0], [])], {
        exclusive: A.int(1),
        reverse: A.int(1),
      }),
  ],
  [
    "Trilu upper, k = 1",
    [{ name: "x", shape: [2, 3, 4] }],
    (b, i) => b.op1("Trilu", [i.x!, b.constant("int64", [1], [])], { upper: A.int(1) }),
  ],
  [
    "ScatterND (add, repeated index)",
    [
      { name: "d", shape: [4, 3] },
      { name: "ix", shape: [3, 1], dtype: "int64", values: [2, 0, 2] },
      { name: "u", shape: [3, 3] },
    ],
    (b, i) => b.op1("ScatterND", [i.d!, i.ix!, i.u!], { reduction: A.str("add") }),
  ],
  [
    "ScatterND (replace)",
    [
      { name: "d", shape: [4, 3] },
      { name: "ix", shape: [2, 2], dtype: "int64", values: [1, 2, 3, 0] },
      { name: "u", shape: [2] },
    ],
    (b, i) => b.op1("ScatterND", [i.d!, i.ix!, i.u!]),
  ],
  [
    "GatherElements axis 0",
    [
      { name: "x", shape: [3, 2] },
      { name: "ix", shape: [4, 2], dtype: "int64", values: [2, 0, 0, 0, 1, 2, 2, 1] },
    ],
    (b, i) => b.gatherElements(i.x!, i.ix!, 0),
  ],
  [
    "Gather (large table, scatter path)",
    [
      { name: "w", shape: [1100, 1] },
      { name: "ids", shape: [4], dtype: "int32", values: [1099, 3, -1, 3] },
    ],
    (b, i) => b.gather(i.w!, i.ids!, 0),
  ],
  [
    "Gather (3-D table)",
    [
      { name: "w", shape: [3, 2, 2] },
      { name: "ids", shape: [3], dtype: "int64", values: [2, 0, 2] },
    ],
    (b, i) => b.gather(i.w!, i.ids!, 0),
  ],
  [
    "ReduceMax with ties",
    [{ name: "x", shape: [2, 3], values: [1, 3, 3, -2, -1, -4] }],
    (b, i) => b.reduceMax(i.x!, [1], true),
  ],
  [
    "Slice to the end (symbolic-style end)",
    [{ name: "x", shape: [2, 5] }],
    (b, i) => b.slice(i.x!, [2], [2 ** 62], [1]),
  ],
  [
    "Split, one piece without gradient",
    [{ name: "x", shape: [3, 4] }],
    (b, i) => b.split(i.x!, [1, 3], 1)[0]!,
  ],
  ["Softmax axis 1 of 3", [{ name: "x", shape: [2, 3, 2] }], (b, i) => b.softmax(i.x!, 1)],
  ["LogSoftmax axis 0", [{ name: "x", shape: [3, 2] }], (b, i) => b.logSoftmax(i.x!, 0)],
  [
    "LayerNormalization over two axes",
    [
      { name: "x", shape: [2, 3, 4] },
      { name: "g", shape: [3, 4] },
      { name: "b", shape: [3, 4] },
    ],
    (b, i) =>
      b.op1("LayerNormalization", [i.x!, i.g!, i.b!], { axis: A.int(1), epsilon: A.float(1e-5) }),
  ],
  [
    "Min/Max with both operands needing a gradient",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [2, 3] },
    ],
    (b, i) => b.add(b.min(i.a!, i.b!), b.mul(b.max(i.a!, i.b!), 3)),
  ],
  [
    "Where with a broadcast condition",
    [
      { name: "c", shape: [3], dtype: "bool", values: [1, 0, 1] },
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [2, 1] },
    ],
    (b, i) => b.where(i.c!, i.a!, i.b!),
  ],
  [
    "Gemm with a column bias [M, 1]",
    [
      { name: "a", shape: [3, 4] },
      { name: "b", shape: [4, 2] },
      { name: "c", shape: [3, 1] },
    ],
    (b, i) => b.gemm(i.a!, i.b!, i.c!, { beta: 0.5 }),
  ],
  [
    "Gemm with a scalar bias, transA",
    [
      { name: "a", shape: [4, 3] },
      { name: "b", shape: [4, 2] },
      { name: "c", shape: [] },
    ],
    (b, i) => b.gemm(i.a!, i.b!, i.c!, { transA: true }),
  ],
  [
    "Div, both operands",
    [
      { name: "a", shape: [2, 3] },
      { name: "b", shape: [2, 3], values: pos(6) },
    ],
    (b, i) => b.div(i.a!, i.b!),
  ],
  // empty axes reduce every axis (ONNX's noop_with_empty_axes = 0): the mean divides by all 6
  [
    "ReduceMean over every axis",
    [{ name: "x", shape: [2, 3] }],
    (b, i) => b.reduceMean(i.x!, [], false),
  ],
  // three consumers: the adjoint is one Sum of three contributions, not an Add of the first two
  [
    "A value read by three ops",
    [{ name: "x", shape: [2, 3] }],
    (b, i) => b.add(b.add(b.exp(i.x!), b.tanh(i.x!)), b.mul(i.x!, 2)),
  ],
  [
    "Gather (large table, scatter path, 2-D ids)",
    [
      { name: "w", shape: [1100, 1] },
      { name: "ids", shape: [2, 2], dtype: "int32", values: [1099, 3, -1, 3] },
    ],
    (b, i) => b.gather(i.w!, i.ids!, 0),
  ],
];

describe("op gradients vs central finite differences (float64)", () => {
  for (const [name, specs, build, h] of CASES) {
    it(name, async () => {
      const r = await gradcheck(specs, build, h ? { h } : {});
      expect(r.maxRelErr).toBeLessThan(1e-6);
      const total = Object.values(r.analytic).reduce(
        (s, a) => s + a.reduce((p, v) => p + Math.abs(v), 0),
        0,
      );
      expect(total).toBeGreaterThan(0);
    });
  }
});

describe("ReduceMean over a symbolic dim", () => {
  it("divides the gradient by the reduced dim's run-time size", async () => {
    const { GraphBuilder } = await import("../../src/engine/builder.js");
    const { gradients } = await import("../../src/engine/autodiff.js");
    const { Session, tensor } = await import("../../src/engine/runtime.js");
    const b = new GraphBuilder("mean-sym");
    const x = b.input("x", "float64", ["B", 3]);
    const y = b.reduceMean(x, [0], false); // [3]
    const loss = b.reduceSum(b.mul(y, b.constant("float64", [1, 2, 3], [3])), [], false);
    b.output(gradients(b, [{ of: loss }], [x]).get("x")!, "g");
    const s = await Session.create(b.graph, { threads: 1 });
    const out = await s.run({ x: tensor("float64", new Float64Array(12), [4, 3]) });
    expect(Array.from(out.g!.data as Float64Array)).toEqual(
      Array.from({ length: 12 }, (_, i) => ((i % 3) + 1) / 4),
    );
    await s.dispose();
  });
});

describe("backward graphs take the documented one-GEMM paths", () => {
  // linalg.ts: a 2-D weight shared across a batch gets dB = one Gemm over the flattened rows;
  // gather.ts: a table of ≤ 1024 rows gets d data = onehot(idx)ᵀ·g, one Gemm. The other paths
  // are correct too (the cases above), only slower, so only the graph tells them apart.
  it("shared-weight MatMul and small-table Gather", async () => {
    const { GraphBuilder } = await import("../../src/engine/builder.js");
    const { gradients } = await import("../../src/engine/autodiff.js");
    const b = new GraphBuilder("paths");
    const x = b.input("x", "float64", [2, 3, 4]);
    const w = b.input("w", "float64", [4, 5]);
    const table = b.input("table", "float64", [64, 4]);
    const ids = b.input("ids", "int32", [2, 3]);
    const y = b.add(b.matmul(x, w), b.reduceSum(b.gather(table, ids, 0), [2], true)); // [2, 3, 5]
    const g = gradients(b, [{ of: b.reduceSum(y, [], false) }], [w, table]);
    const producer = (t: T) => b.graph.producer.get(t.name)?.op;
    expect(producer(g.get("w")!)).toBe("Gemm");
    expect(producer(g.get("table")!)).toBe("Gemm");
  });
});

describe("float32 rules vs float64 finite differences", () => {
  const F32 = [
    "LayerNormalization",
    "Gelu (tanh)",
    "Softmax last axis",
    "LogSoftmax",
    "MatMul batched",
    "MatMul broadcast batch",
    "MatMul shared weight",
    "matmulT transB alpha (batched)",
    "matmulT transA (batched)",
    "matmulT transA transB alpha, broadcast batch",
    "matmulT alpha, shared weight",
    "Gather (embedding, repeated ids)",
    "LayerNormalization over two axes",
    "Softmax axis 1 of 3",
  ];
  for (const [name, specs, build] of CASES.filter((c) => F32.includes(c[0]))) {
    it(name, async () => {
      const r = await gradcheck(specs, build, { dtype: "float32" });
      expect(r.maxRelErr).toBeLessThan(1e-3);
    });
  }
});

describe("embedding gradient under multi-threaded ONNX Runtime", () => {
  // ORT 1.30's ScatterND(add) races on >1 thread when indices repeat; the Gather rule must not.
  // V = 64 takes the one-hot GEMM path, V = 1100 the ScatterElements path.
  for (const [V, C] of [
    [64, 256],
    [1100, 16],
  ] as const) {
    it(`sums repeated ids exactly with 2 threads (table ${V} x ${C})`, async () => {
      const { GraphBuilder } = await import("../../src/engine/builder.js");
      const { gradients } = await import("../../src/engine/autodiff.js");
      const { Session, tensor } = await import("../../src/engine/runtime.js");
      const { Rng } = await import("../../src/core/rng.js");
      const N = 4096;
      const b = new GraphBuilder("emb");
      const w = b.input("w", "float32", [V, C]);
      const ids = b.input("ids", "int32", [N]);
      const up = b.input("up", "float32", [N, C]);
      const y = b.gather(w, ids, 0);
      const g = gradients(b, [{ of: y, grad: up }], [w]).get("w")!;
      b.output(g, "g");
      const rng = new Rng(3);
      const idv = Int32Array.from({ length: N }, () => rng.int(V) - (rng.bernoulli(0.1) ? V : 0));
      const upv = Float32Array.from({ length: N * C }, () => rng.normal());
      const ref = new Float64Array(V * C);
      for (let n = 0; n < N; n++) {
        const row = idv[n]! < 0 ? idv[n]! + V : idv[n]!;
        for (let c = 0; c < C; c++) ref[row * C + c]! += upv[n * C + c]!;
      }
      const s = await Session.create(b.graph, { threads: 2 });
      for (let rep = 0; rep < 3; rep++) {
        const out = await s.run({
          w: tensor("float32", new Float32Array(V * C), [V, C]),
          ids: tensor("int32", idv, [N]),
          up: tensor("float32", upv, [N, C]),
        });
        const got = out.g!.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < V * C; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
        expect(worst).toBeLessThan(1e-3);
      }
      await s.dispose();
    });
  }
});

describe("float32-only rules vs float64 finite differences", () => {
  // The erf form differentiates in float32 only, and ONNX Runtime has no float64 Erf, so the
  // differences run the float32 kernel between casts with a wide step (h = 1e-2: truncation
  // ~1e-5, float32 round-off over 2h ~1e-5).
  it("Gelu (erf form)", async () => {
    const r = await gradcheck(
      [{ name: "x", shape: [2, 6] }],
      (b, i) => b.cast(b.op1("Gelu", [b.cast(i.x!, "float32")]), i.x!.dtype),
      { dtype: "float32", h: 1e-2 },
    );
    expect(r.maxRelErr).toBeLessThan(1e-3);
  });
});

describe("Dropout in training mode", () => {
  it("is refused on the differentiated path rather than differentiated as the identity", async () => {
    const { GraphBuilder } = await import("../../src/engine/builder.js");
    const { gradients } = await import("../../src/engine/autodiff.js");
    const b = new GraphBuilder("dropout");
    const x = b.input("x", "float64", [2, 3]);
    const y = b.op1("Dropout", [x, b.scalar(0.5, "float64"), b.constant("bool", [1], [])]);
    const loss = b.reduceSum(y, [], false);
    expect(() => gradients(b, [{ of: loss }], [x])).toThrow(/training mode/);
  });
});
