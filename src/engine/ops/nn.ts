/**
 * Softmax, LogSoftmax and LayerNormalization. With g the upstream gradient and y the output,
 * over the op's axis (sums keep the axis):
 *
 *   Softmax     dx = y · (g − Σ g·y)
 *   LogSoftmax  dx = g − exp(y) · Σ g
 *   LayerNorm   x̂ = (x − μ)·r, r = 1/√(σ² + ε), y = x̂·γ + β over the trailing axes:
 *               dγ = Σ_rows g·x̂,  dβ = Σ_rows g,
 *               dx = r · (gγ − mean(gγ) − x̂ · mean(gγ·x̂))
 * In float32 the backward rule reads μ and r from the forward kernel's optional Mean and
 * InvStdDev outputs (it adds them to the node when absent); ONNX Runtime has no float64
 * kernel with those outputs, so in float64 they are recomputed from x.
 */
import type { T } from "../builder.js";
import { normAxis } from "../dims.js";
import type { Dim } from "../graph.js";
import { unbroadcast } from "./broadcast.js";
import type { GradCtx, OpDef } from "./types.js";
import { attrFloat, attrInt, need } from "./types.js";

function axisOf(c: GradCtx): number {
  return normAxis(attrInt(c.node, "axis", -1), c.x[0]!.rank);
}

/** μ and r of the forward pass, as [..., 1, …, 1]-shaped tensors. */
function meanAndInvStd(c: GradCtx, axes: readonly number[]): [T, T] {
  const b = c.b;
  const x = c.x[0]!;
  if (x.dtype === "float32") {
    const node = c.node;
    const outs = node.outputs;
    if (!outs[1] || !outs[2]) {
      const statShape: Dim[] = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      for (const i of [1, 2]) {
        if (outs[i]) continue;
        const name = b.fresh(i === 1 ? "ln_mean" : "ln_invstd");
        outs[i] = name;
        b.graph.setInfo({ name, dtype: "float32", shape: statShape });
        b.graph.producer.set(name, node);
      }
    }
    return [b.value(outs[1]!), b.value(outs[2]!)];
  }
  const eps = attrFloat(c.node, "epsilon", 1e-5);
  const mean = b.reduceMean(x, axes);
  const xc = b.sub(x, mean);
  const variance = b.reduceMean(b.mul(xc, xc), axes);
  return [mean, b.div(1, b.sqrt(b.add(variance, eps)))];
}

function layerNormGrad(c: GradCtx): (T | undefined)[] {
  const b = c.b;
  const x = c.x[0]!;
  const scale = c.x[1]!;
  const bias = c.x[2];
  const g = c.g[0];
  if (!g) return [];
  const axis = axisOf(c);
  const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
  const [mean, invStd] = meanAndInvStd(c, axes);
  const xhat = b.mul(b.sub(x, mean), invStd);
  let dx: T | undefined;
  if (c.needs[0]) {
    const gs = b.mul(g, scale);
    const m1 = b.reduceMean(gs, axes);
    const m2 = b.reduceMean(b.mul(gs, xhat), axes);
    dx = b.mul(invStd, b.sub(b.sub(gs, m1), b.mul(xhat, m2)));
  }
  const dScale = c.needs[1] ? unbroadcast(b, b.mul(g, xhat), scale.shape) : undefined;
  const dBias = bias && c.needs[2] ? unbroadcast(b, g, bias.shape) : undefined;
  return [dx, dScale, dBias];
}

export const NN_OPS: Record<string, OpDef> = {
  Softmax: {
    infer: (c) => [need(c, 0)],
    grad: (c) => {
      const b = c.b;
      const y = c.y[0]!;
      const g = c.g[0]!;
      const s = b.reduceSum(b.mul(g, y), [axisOf(c)], true);
      return [b.mul(y, b.sub(g, s))];
    },
  },
  LogSoftmax: {
    infer: (c) => [need(c, 0)],
    grad: (c) => {
      const b = c.b;
      const g = c.g[0]!;
      const s = b.reduceSum(g, [axisOf(c)], true);
      return [b.sub(g, b.mul(b.exp(c.y[0]!), s))];
    },
  },
  LayerNormalization: {
    infer: (c) => {
      const x = need(c, 0);
      const axis = normAxis(attrInt(c.node, "axis", -1), x.shape.length);
      const stat = x.shape.map((d, i) => (i >= axis ? 1 : d));
      const n = c.node.outputs.length;
      return [
        x,
        { dtype: "float32" as const, shape: stat },
        { dtype: "float32" as const, shape: stat },
      ].slice(0, n);
    },
    grad: layerNormGrad,
  },
};
