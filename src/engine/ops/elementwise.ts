/**
 * Elementwise ops with NumPy broadcasting, forward shape and backward rule side by side.
 * With g the upstream gradient, y the output and U(·) "sum back to the operand's shape":
 *
 *   Add  dA = U(g)            dB = U(g)          Sub  dA = U(g)     dB = U(−g)
 *   Mul  dA = U(g·B)          dB = U(g·A)        Div  dA = U(g/B)   dB = U(−(g/B)·y)
 *   Exp  g·y    Log  g/x    Sqrt  ½g/y    Tanh  g·(1−y²)    Sigmoid  g·y·(1−y)
 *   Relu  g·[x>0]           Where  g routed by the condition (no gradient to the condition)
 *   Clip  g·[x = y]  (gradient passes inside the bounds, inclusive, as in PyTorch's clamp)
 *   Min/Max  g to the operand equal to y, ties to the first     Cast  cast g back
 *   GELU (tanh form)  y = x·σ(2u), u = c(x + a·x³), c = √(2/π), a = 0.044715:
 *        dy/dx = s·(1 + p − s·p) with s = σ(2u), p = x·2c·(1 + 3a·x²)
 *   GELU (erf form)   dy/dx = Φ(x) + x·φ(x)
 * Comparison and logical ops produce booleans: no gradient flows through them.
 */

import { KeelError } from "../../core/errors.js";
import type { T } from "../builder.js";
import { broadcastShapes, unbroadcast } from "./broadcast.js";
import type { GradCtx, InferCtx, OpDef, OutInfo } from "./types.js";
import { attrInt, attrString, need } from "./types.js";

const DTYPE_BY_CODE = { 1: "float32", 6: "int32", 7: "int64", 9: "bool", 11: "float64" } as const;

function sameAs(i: number) {
  return (c: InferCtx): OutInfo[] => [need(c, i)];
}

function broadcast(dtypeFrom: number, outBool = false) {
  return (c: InferCtx): OutInfo[] => {
    const shapes = c.inputs.flatMap((v, i) => (v ? [need(c, i).shape] : []));
    return [
      {
        dtype: outBool ? "bool" : need(c, dtypeFrom).dtype,
        shape: broadcastShapes(c.node, shapes),
      },
    ];
  };
}

/** Gradient for input i, summed back to its shape, when that input needs one. */
function U(c: GradCtx, i: number, g: T | undefined): T | undefined {
  const x = c.x[i];
  if (!c.needs[i] || !g || !x) return undefined;
  return unbroadcast(c.b, g, x.shape);
}

function unary(rule: (c: GradCtx, g: T) => T): OpDef {
  return { infer: sameAs(0), grad: (c) => [c.g[0] && c.needs[0] ? rule(c, c.g[0]) : undefined] };
}

/** GELU's tanh-form constants c = √(2/π) and a, shared with `GraphBuilder.gelu`'s float64 form. */
export const GELU_C = Math.sqrt(2 / Math.PI);
export const GELU_A = 0.044715;

function geluGrad(c: GradCtx, g: T): T {
  const b = c.b;
  const x = c.x[0]!;
  if (attrString(c.node, "approximate", "none") === "tanh") {
    const x2 = b.mul(x, x);
    const z = b.mul(x, b.add(b.mul(x2, 2 * GELU_C * GELU_A), 2 * GELU_C)); // 2u
    const s = b.sigmoid(z);
    const p = b.mul(x, b.add(b.mul(x2, 6 * GELU_C * GELU_A), 2 * GELU_C)); // x·d(2u)/dx
    const inner = b.add(b.sub(p, b.mul(s, p)), 1);
    return b.mul(g, b.mul(s, inner));
  }
  if (x.dtype !== "float32") {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      "the erf form of GELU differentiates in float32 only",
      {
        hint: "use approximate='tanh' for float64 graphs",
      },
    );
  }
  const cdf = b.mul(b.add(b.op1("Erf", [b.mul(x, Math.SQRT1_2)]), 1), 0.5);
  const pdf = b.mul(b.exp(b.mul(b.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return b.mul(g, b.add(cdf, b.mul(x, pdf)));
}

function minMaxGrad(c: GradCtx): (T | undefined)[] {
  const g = c.g[0];
  if (!g) return [];
  if (c.x.length === 1) return [g];
  if (c.x.length !== 2) {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      `${c.node.op} with ${c.x.length} inputs has no gradient rule`,
      {
        hint: "use a chain of two-input Min/Max",
      },
    );
  }
  const b = c.b;
  const takeA = b.equal(c.x[0]!, c.y[0]!);
  return [
    c.needs[0] ? U(c, 0, b.where(takeA, g, 0)) : undefined,
    c.needs[1] ? U(c, 1, b.where(takeA, 0, g)) : undefined,
  ];
}

const comparison: OpDef = { infer: broadcast(0, true) };

export const ELEMENTWISE_OPS: Record<string, OpDef> = {
  Add: { infer: broadcast(0), grad: (c) => [U(c, 0, c.g[0]), U(c, 1, c.g[0])] },
  Sub: {
    infer: broadcast(0),
    grad: (c) => [U(c, 0, c.g[0]), c.needs[1] && c.g[0] ? U(c, 1, c.b.neg(c.g[0])) : undefined],
  },
  Mul: {
    infer: broadcast(0),
    grad: (c) => {
      const g = c.g[0]!;
      return [
        c.needs[0] ? U(c, 0, c.b.mul(g, c.x[1]!)) : undefined,
        c.needs[1] ? U(c, 1, c.b.mul(g, c.x[0]!)) : undefined,
      ];
    },
  },
  Div: {
    infer: broadcast(0),
    grad: (c) => {
      const t = c.b.div(c.g[0]!, c.x[1]!);
      return [U(c, 0, t), c.needs[1] ? U(c, 1, c.b.neg(c.b.mul(t, c.y[0]!))) : undefined];
    },
  },
  Sum: { infer: broadcast(0), grad: (c) => c.x.map((_, i) => U(c, i, c.g[0])) },
  Neg: unary((c, g) => c.b.neg(g)),
  Identity: unary((_c, g) => g),
  Exp: unary((c, g) => c.b.mul(g, c.y[0]!)),
  Log: unary((c, g) => c.b.div(g, c.x[0]!)),
  Sqrt: unary((c, g) => c.b.div(c.b.mul(g, 0.5), c.y[0]!)),
  Tanh: unary((c, g) => c.b.mul(g, c.b.sub(1, c.b.mul(c.y[0]!, c.y[0]!)))),
  Sigmoid: unary((c, g) => c.b.mul(g, c.b.mul(c.y[0]!, c.b.sub(1, c.y[0]!)))),
  Relu: unary((c, g) => c.b.where(c.b.greater(c.x[0]!, 0), g, 0)),
  Gelu: unary(geluGrad),
  Erf: { infer: sameAs(0) },
  Where: {
    infer: (c) => [
      {
        dtype: need(c, 1).dtype,
        shape: broadcastShapes(
          c.node,
          [0, 1, 2].map((i) => need(c, i).shape),
        ),
      },
    ],
    grad: (c) => {
      const g = c.g[0]!;
      const cond = c.x[0]!;
      return [
        undefined,
        c.needs[1] ? U(c, 1, c.b.where(cond, g, 0)) : undefined,
        c.needs[2] ? U(c, 2, c.b.where(cond, 0, g)) : undefined,
      ];
    },
  },
  Clip: {
    infer: sameAs(0),
    grad: (c) => [c.needs[0] ? c.b.where(c.b.equal(c.x[0]!, c.y[0]!), c.g[0]!, 0) : undefined],
  },
  Min: { infer: broadcast(0), grad: minMaxGrad },
  Max: { infer: broadcast(0), grad: minMaxGrad },
  Cast: {
    infer: (c) => {
      const to = attrInt(c.node, "to", 1) as keyof typeof DTYPE_BY_CODE;
      const dtype = DTYPE_BY_CODE[to];
      if (!dtype)
        throw new KeelError("KEEL_E_UNSUPPORTED", `Cast to ONNX type ${to} is not supported`);
      return [{ dtype, shape: need(c, 0).shape }];
    },
    grad: (c) => {
      const x = c.x[0]!;
      const g = c.g[0]!;
      const isFloat = x.dtype === "float32" || x.dtype === "float64";
      return [isFloat && c.needs[0] ? (g.dtype === x.dtype ? g : c.b.cast(g, x.dtype)) : undefined];
    },
  },
  Equal: comparison,
  Less: comparison,
  Greater: comparison,
  LessOrEqual: comparison,
  GreaterOrEqual: comparison,
  And: comparison,
  Or: comparison,
  Not: { infer: sameAs(0) },
};
