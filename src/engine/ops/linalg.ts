/**
 * Matrix products.
 *
 * MatMul  Y[..., M, N] = A[..., M, K] · B[..., K, N] (batch dims broadcast)
 *   dA = g · Bᵀ,  dB = Aᵀ · g, each summed back over broadcast batch dims. When B is a 2-D
 *   weight shared across a batch of A (the common [B, T, C] · [C, D] case), dB is one GEMM
 *   over the flattened rows: dB = Gemm(reshape(A, [−1, K]), reshape(g, [−1, N]), transA),
 *   which is much faster than a batched product followed by a sum. The transposed operands
 *   are read in place by `FusedMatMul` (float32) or materialised by Transpose (float64).
 * FusedMatMul (com.microsoft, float32) Y = α·op(A)·op(B): the same rules with α and the
 *   transposes carried into the gradient products (see productGrad).
 * Gemm    Y = α·op(A)·op(B) + β·C with op = identity or transpose
 *   dA = α·g·op(B)ᵀ (transposed back when transA), dB = α·op(A)ᵀ·g (likewise), dC = U(β·g).
 * Gradients need operands of rank ≥ 2 (1-D MatMul operands are inferred but not
 * differentiated).
 */
import { KeelError } from "../../core/errors.js";
import type { T } from "../builder.js";
import type { Dim, Node } from "../graph.js";
import { broadcastShapes, unbroadcast } from "./broadcast.js";
import type { GradCtx, InferCtx, OpDef, OutInfo } from "./types.js";
import { attrFloat, attrInt, need, shapeError } from "./types.js";

/**
 * Gradients of Y = α·op(A)·op(B): with G = ∂L/∂Y,
 *   ∂op(A) = α·G·op(B)ᵀ, so dA = α·G·op(B)ᵀ, or α·op(B)·Gᵀ when A is read transposed;
 *   ∂op(B) = α·op(A)ᵀ·G, so dB = α·op(A)ᵀ·G, or α·Gᵀ·op(A) when B is read transposed;
 * each a `matmulT` (no Transpose node in float32 graphs), summed back over broadcast batch dims.
 */
function productGrad(c: GradCtx, tA: boolean, tB: boolean, alpha: number): (T | undefined)[] {
  const b = c.b;
  const [a, w] = [c.x[0]!, c.x[1]!];
  const g = c.g[0]!;
  if (a.rank < 2 || w.rank < 2) {
    throw new KeelError("KEEL_E_UNSUPPORTED", `${c.node.op} gradients need operands of rank >= 2`, {
      where: { id: c.node.name ?? c.node.op },
      hint: "unsqueeze 1-D operands to matrices",
    });
  }
  let dA: T | undefined;
  let dB: T | undefined;
  if (c.needs[0]) {
    const d = tA
      ? b.matmulT(w, g, { transA: tB, transB: true, alpha })
      : b.matmulT(g, w, { transB: !tB, alpha });
    dA = unbroadcast(b, d, a.shape);
  }
  if (c.needs[1]) {
    const k = a.shape[a.rank - 1]!;
    const n = g.shape[g.rank - 1]!;
    if (
      !tA &&
      !tB &&
      w.rank === 2 &&
      a.rank > 2 &&
      typeof k === "number" &&
      typeof n === "number"
    ) {
      dB = b.gemm(b.reshape(a, [-1, k]), b.reshape(g, [-1, n]), undefined, { transA: true, alpha });
    } else {
      const d = tB
        ? b.matmulT(g, a, { transA: true, transB: tA, alpha })
        : b.matmulT(a, g, { transA: !tA, alpha });
      dB = unbroadcast(b, d, w.shape);
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

/** Shape of op(A)·op(B) with batch dims broadcast (1-D operands as in numpy's matmul). */
function productInfer(c: InferCtx, tA: boolean, tB: boolean): OutInfo[] {
  const a = need(c, 0);
  const w = need(c, 1);
  const swap = (s: readonly Dim[]) => [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
  let sa = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
  let sb = w.shape.length === 1 ? [...w.shape, 1] : w.shape;
  if (tA) sa = swap(sa);
  if (tB) sb = swap(sb);
  const ka = sa[sa.length - 1]!;
  const kb = sb[sb.length - 2]!;
  if (typeof ka === "number" && typeof kb === "number" && ka !== kb) {
    throw shapeError(
      c.node,
      `inner dims differ: [${a.shape.join(", ")}]${tA ? "ᵀ" : ""} x [${w.shape.join(", ")}]${tB ? "ᵀ" : ""}`,
    );
  }
  const batch = broadcastShapes(c.node, [sa.slice(0, -2), sb.slice(0, -2)]);
  const out: Dim[] = [...batch];
  if (a.shape.length > 1) out.push(sa[sa.length - 2]!);
  if (w.shape.length > 1) out.push(sb[sb.length - 1]!);
  return [{ dtype: a.dtype, shape: out }];
}

const flag = (c: { node: Node }, name: string) => attrInt(c.node, name, 0) === 1;

export const LINALG_OPS: Record<string, OpDef> = {
  MatMul: {
    infer: (c) => productInfer(c, false, false),
    grad: (c) => productGrad(c, false, false, 1),
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

/**
 * ONNX Runtime's `com.microsoft:FusedMatMul` (float32): Y = alpha·op(A)·op(B) with transA,
 * transB over the last two axes. The batch-transposing attributes are not supported.
 */
export const MS_LINALG_OPS: Record<string, OpDef> = {
  FusedMatMul: {
    infer: (c) => {
      for (const k of ["transBatchA", "transBatchB"]) {
        if (flag(c, k)) throw shapeError(c.node, `${k} is not supported`);
      }
      for (const i of [0, 1]) {
        const v = need(c, i);
        if (v.dtype !== "float32" || v.shape.length < 2)
          throw shapeError(c.node, `operand ${i} must be float32 of rank >= 2`);
      }
      return productInfer(c, flag(c, "transA"), flag(c, "transB"));
    },
    grad: (c) =>
      productGrad(c, flag(c, "transA"), flag(c, "transB"), attrFloat(c.node, "alpha", 1)),
  },
};
