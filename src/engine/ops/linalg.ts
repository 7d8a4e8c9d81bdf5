/**
 * Matrix products.
 *
 * MatMul  Y[..., M, N] = A[..., M, K] · B[..., K, N] (batch dims broadcast)
 *   dA = g · Bᵀ,  dB = Aᵀ · g, each summed back over broadcast batch dims. When B is a 2-D
 *   weight shared across a batch of A (the common [B, T, C] · [C, D] case), dB is one GEMM
 *   over the flattened rows: dB = Gemm(reshape(A, [−1, K]), reshape(g, [−1, N]), transA),
 *   which is much faster than a batched product followed by a sum. Transposes are left to
 *   ONNX Runtime, which fuses Transpose+MatMul into FusedMatMul.
 * Gemm    Y = α·op(A)·op(B) + β·C with op = identity or transpose
 *   dA = α·g·op(B)ᵀ (transposed back when transA), dB = α·op(A)ᵀ·g (likewise), dC = U(β·g).
 * Gradients need operands of rank ≥ 2 (1-D MatMul operands are inferred but not
 * differentiated).
 */
import { KeelError } from "../../core/errors.js";
import type { T } from "../builder.js";
import type { Dim } from "../graph.js";
import { broadcastShapes, unbroadcast } from "./broadcast.js";
import type { GradCtx, OpDef } from "./types.js";
import { attrFloat, attrInt, need, shapeError } from "./types.js";

function swapLast(b: GradCtx["b"], x: T): T {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return b.transpose(x, perm);
}

function matmulGrad(c: GradCtx): (T | undefined)[] {
  const b = c.b;
  const [a, w] = [c.x[0]!, c.x[1]!];
  const g = c.g[0]!;
  if (a.rank < 2 || w.rank < 2) {
    throw new KeelError("KEEL_E_UNSUPPORTED", "MatMul gradients need operands of rank >= 2", {
      where: { id: c.node.name ?? "MatMul" },
      hint: "unsqueeze 1-D operands to matrices",
    });
  }
  let dA: T | undefined;
  let dB: T | undefined;
  if (c.needs[0]) dA = unbroadcast(b, b.matmul(g, swapLast(b, w)), a.shape);
  if (c.needs[1]) {
    const k = a.shape[a.rank - 1]!;
    const n = g.shape[g.rank - 1]!;
    if (w.rank === 2 && a.rank > 2 && typeof k === "number" && typeof n === "number") {
      dB = b.gemm(b.reshape(a, [-1, k]), b.reshape(g, [-1, n]), undefined, { transA: true });
    } else {
      dB = unbroadcast(b, b.matmul(swapLast(b, a), g), w.shape);
    }
  }
  return [dA, dB];
}

function gemmGrad(c: GradCtx): (T | undefined)[] {
  const b = c.b;
  const [a, w, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
  const g = c.g[0]!;
  const alpha = attrFloat(c.node, "alpha", 1);
  const beta = attrFloat(c.node, "beta", 1);
  const ta = attrInt(c.node, "transA", 0) === 1;
  const tb = attrInt(c.node, "transB", 0) === 1;
  let dA: T | undefined;
  let dB: T | undefined;
  let dC: T | undefined;
  if (c.needs[0]) {
    dA = ta
      ? b.gemm(w, g, undefined, { transA: tb, transB: true, alpha })
      : b.gemm(g, w, undefined, { transB: !tb, alpha });
  }
  if (c.needs[1]) {
    dB = tb
      ? b.gemm(g, a, undefined, { transA: true, transB: ta, alpha })
      : b.gemm(a, g, undefined, { transA: !ta, alpha });
  }
  if (bias && c.needs[2]) dC = unbroadcast(b, beta === 1 ? g : b.mul(g, beta), bias.shape);
  return [dA, dB, dC];
}

export const LINALG_OPS: Record<string, OpDef> = {
  MatMul: {
    infer: (c) => {
      const a = need(c, 0);
      const w = need(c, 1);
      const sa = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
      const sb = w.shape.length === 1 ? [...w.shape, 1] : w.shape;
      const ka = sa[sa.length - 1]!;
      const kb = sb[sb.length - 2]!;
      if (typeof ka === "number" && typeof kb === "number" && ka !== kb) {
        throw shapeError(
          c.node,
          `inner dims differ: [${a.shape.join(", ")}] x [${w.shape.join(", ")}]`,
        );
      }
      const batch = broadcastShapes(c.node, [sa.slice(0, -2), sb.slice(0, -2)]);
      const out: Dim[] = [...batch];
      if (a.shape.length > 1) out.push(sa[sa.length - 2]!);
      if (w.shape.length > 1) out.push(sb[sb.length - 1]!);
      return [{ dtype: a.dtype, shape: out }];
    },
    grad: matmulGrad,
  },
  Gemm: {
    infer: (c) => {
      const a = need(c, 0);
      const w = need(c, 1);
      if (a.shape.length !== 2 || w.shape.length !== 2)
        throw shapeError(c.node, "operands must be 2-D");
      const m = attrInt(c.node, "transA", 0) ? a.shape[1]! : a.shape[0]!;
      const n = attrInt(c.node, "transB", 0) ? w.shape[0]! : w.shape[1]!;
      return [{ dtype: a.dtype, shape: [m, n] }];
    },
    grad: gemmGrad,
  },
};
