/**
 * Shape-changing ops. Their gradients move g back into the input's layout:
 *
 *   Reshape / Squeeze / Unsqueeze  dx = reshape(g, shape(x))
 *   Transpose(perm)                dx = transpose(g, perm⁻¹)
 *   Expand                         dx = g summed over the expanded axes
 *   Concat(axis)                   dxᵢ = the i-th piece of g along axis (Split, or Slice when
 *                                  the sizes are symbolic)
 *   Split(axis)                    dx = concat(gᵢ), zeros for pieces with no gradient
 *   Slice (steps 1)                dx = pad(g) with zeros back to x's shape
 *   Trilu                          dx = trilu(g) with the same k and side
 *   Dropout (inference mode)       dx = g; training mode is refused
 * Shape, Size, ConstantOfShape, Constant and Range make integer or constant tensors and carry
 * no gradient. Shape inputs (target shapes, axes, starts/ends) must be constants for exact
 * inference; otherwise the affected dims become unknown symbols.
 */
import { KeelError } from "../../core/errors.js";
import type { T } from "../builder.js";
import { dimAdd, dimDiv, dimProduct, freshDim, normAxis } from "../dims.js";
import type { Dim, TensorData } from "../graph.js";
import { broadcastShapes, unbroadcast } from "./broadcast.js";
import type { GradCtx, InferCtx, OpDef, OutInfo } from "./types.js";
import { A, attrInt, attrInts, need, shapeError } from "./types.js";

const BIG = 2 ** 62;

function constInts(c: InferCtx, i: number): number[] | undefined {
  const name = c.node.inputs[i];
  return name ? c.graph.constantInts(name) : undefined;
}

/**
 * The dims held by a 1-D int64 shape tensor, when known at build time: a constant, a Shape
 * node (possibly sliced by start/end), or a Concat of those. This is what keeps dims symbolic
 * rather than unknown through reshape-back and expand in backward graphs.
 */
function shapeDims(c: InferCtx, name: string | undefined): Dim[] | undefined {
  if (!name) return undefined;
  const k = c.graph.constantInts(name);
  if (k) return k;
  const p = c.graph.producer.get(name);
  if (p?.op === "Shape") {
    const src = c.graph.info(p.inputs[0]!).shape;
    if (!src) return undefined;
    const r = src.length;
    const start = normAxis(attrInt(p, "start", 0), r);
    const end = Math.min(normAxis(attrInt(p, "end", r), r), r);
    return src.slice(start, end);
  }
  if (p?.op === "Concat") {
    const parts = p.inputs.map((i) => shapeDims(c, i));
    return parts.every((x) => x !== undefined) ? parts.flat() : undefined;
  }
  return undefined;
}

function inferReshape(c: InferCtx): OutInfo[] {
  const x = need(c, 0);
  const target = shapeDims(c, c.node.inputs[1]);
  if (!target) {
    const len = need(c, 1).shape[0];
    const rank = typeof len === "number" ? len : 0;
    return [{ dtype: x.dtype, shape: Array.from({ length: rank }, () => freshDim()) }];
  }
  const out: Dim[] = target.map((t, i) => (t === 0 ? x.shape[i]! : t));
  const hole = target.indexOf(-1 as Dim);
  if (hole >= 0) {
    const known = dimProduct(out.filter((_, i) => i !== hole));
    out[hole] = dimDiv(dimProduct(x.shape), known);
  }
  return [{ dtype: x.dtype, shape: out }];
}

function reshapeBack(c: GradCtx): (T | undefined)[] {
  return [c.needs[0] ? c.b.reshape(c.g[0]!, c.b.shapeVec(c.x[0]!)) : undefined];
}

function squeezeAxes(c: InferCtx): number[] {
  const x = need(c, 0);
  const axes = constInts(c, 1) ?? attrInts(c.node, "axes");
  if (axes) return axes.map((a) => normAxis(a, x.shape.length));
  return x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
}

/** Start and length of a unit-step slice of a dim, or undefined when not expressible. */
function sliceDim(dim: Dim, start: number, end: number): { start: number; len: Dim } {
  if (typeof dim === "number") {
    const s = Math.min(Math.max(start < 0 ? start + dim : start, 0), dim);
    const e = Math.min(Math.max(end < 0 ? end + dim : end, 0), dim);
    return { start: s, len: Math.max(e - s, 0) };
  }
  if (start >= 0 && end >= BIG / 2) return { start, len: start === 0 ? dim : `${dim}-${start}` };
  if (start >= 0 && end >= 0) return { start, len: end - start };
  if (start >= 0 && end < 0) return { start, len: `${dim}-${start - end}` };
  if (start < 0 && end >= BIG / 2) return { start: Number.NaN, len: -start };
  return { start: Number.NaN, len: freshDim() };
}

function sliceParams(c: InferCtx | GradCtx, rank: number) {
  const graph = "graph" in c ? c.graph : c.b.graph;
  const ins = c.node.inputs;
  const starts = ins[1] ? graph.constantInts(ins[1]) : attrInts(c.node, "starts");
  const ends = ins[2] ? graph.constantInts(ins[2]) : attrInts(c.node, "ends");
  const axes =
    (ins[3] ? graph.constantInts(ins[3]) : attrInts(c.node, "axes")) ?? starts?.map((_, i) => i);
  const steps = ins[4] ? graph.constantInts(ins[4]) : undefined;
  if (!starts || !ends || !axes || steps?.some((s) => s !== 1)) return undefined;
  return { starts, ends, axes: axes.map((a) => normAxis(a, rank)) };
}

function inferSlice(c: InferCtx): OutInfo[] {
  const x = need(c, 0);
  const p = sliceParams(c, x.shape.length);
  if (!p) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim()) }];
  const shape = [...x.shape];
  p.axes.forEach((a, i) => {
    shape[a] = sliceDim(x.shape[a]!, p.starts[i]!, p.ends[i]!).len;
  });
  return [{ dtype: x.dtype, shape }];
}

function sliceGrad(c: GradCtx): (T | undefined)[] {
  const b = c.b;
  const x = c.x[0]!;
  const g = c.g[0]!;
  if (!c.needs[0]) return [];
  const p = sliceParams(c, x.rank);
  if (!p) {
    throw new KeelError(
      "KEEL_E_UNSUPPORTED",
      "Slice gradients need constant starts/ends/axes and unit steps",
      {
        where: { id: c.node.name ?? "Slice" },
      },
    );
  }
  const begin = x.shape.map(() => 0);
  p.axes.forEach((a, i) => {
    const s = sliceDim(x.shape[a]!, p.starts[i]!, p.ends[i]!).start;
    if (Number.isNaN(s)) {
      throw new KeelError(
        "KEEL_E_UNSUPPORTED",
        "Slice gradient: a negative start on a symbolic dim",
        {
          where: { id: c.node.name ?? "Slice" },
        },
      );
    }
    begin[a] = s;
  });
  const beginVec = b.ints(begin);
  const endVec = b.op1("Sub", [b.op1("Sub", [b.shapeVec(x), b.shapeVec(g)]), beginVec]);
  return [b.op1("Pad", [g, b.concat([beginVec, endVec], 0)])];
}

function concatGrad(c: GradCtx): (T | undefined)[] {
  const b = c.b;
  const g = c.g[0]!;
  const axis = normAxis(attrInt(c.node, "axis", 0), g.rank);
  const sizes = c.x.map((x) => x!.shape[axis]!);
  if (sizes.every((s) => typeof s === "number")) {
    const parts = b.split(g, sizes as number[], axis);
    return parts.map((p, i) => (c.needs[i] ? p : undefined));
  }
  let offset: T = b.ints([0]);
  return c.x.map((x, i) => {
    const size = b.op1("Shape", [x!], { start: A.int(axis), end: A.int(axis + 1) });
    const end = b.op1("Add", [offset, size]);
    const piece = c.needs[i] ? b.op1("Slice", [g, offset, end, b.ints([axis])]) : undefined;
    offset = end;
    return piece;
  });
}

function splitSizes(c: InferCtx, dim: Dim): Dim[] {
  const given = constInts(c, 1) ?? attrInts(c.node, "split");
  if (given) return [...given];
  const n = attrInt(c.node, "num_outputs", c.node.outputs.length);
  if (typeof dim === "number") {
    const chunk = Math.ceil(dim / n);
    return Array.from({ length: n }, (_, i) => Math.max(Math.min(chunk, dim - chunk * i), 0));
  }
  return Array.from({ length: n }, () => dimDiv(dim, n));
}

function tensorFromAttr(c: InferCtx): TensorData | undefined {
  const a = c.node.attrs;
  if (a.value?.kind === "tensor") return a.value.value;
  return undefined;
}

export const SHAPE_OPS: Record<string, OpDef> = {
  Reshape: { infer: inferReshape, grad: reshapeBack },
  Squeeze: {
    infer: (c) => {
      const x = need(c, 0);
      const axes = squeezeAxes(c);
      return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
    },
    grad: reshapeBack,
  },
  Unsqueeze: {
    infer: (c) => {
      const x = need(c, 0);
      const axes = constInts(c, 1) ?? attrInts(c.node, "axes");
      if (!axes) throw shapeError(c.node, "axes must be constant");
      const rank = x.shape.length + axes.length;
      const norm = axes.map((a) => normAxis(a, rank));
      const rest = [...x.shape];
      return [
        {
          dtype: x.dtype,
          shape: Array.from({ length: rank }, (_, i) => (norm.includes(i) ? 1 : rest.shift()!)),
        },
      ];
    },
    grad: reshapeBack,
  },
  Transpose: {
    infer: (c) => {
      const x = need(c, 0);
      const perm = attrInts(c.node, "perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
    },
    grad: (c) => {
      const x = c.x[0]!;
      const perm = attrInts(c.node, "perm") ?? x.shape.map((_, i) => x.rank - 1 - i);
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [c.needs[0] ? c.b.transpose(c.g[0]!, inv) : undefined];
    },
  },
  Expand: {
    infer: (c) => {
      const x = need(c, 0);
      const target = shapeDims(c, c.node.inputs[1]);
      if (!target) {
        const len = need(c, 1).shape[0];
        return [
          {
            dtype: x.dtype,
            shape: Array.from({ length: typeof len === "number" ? len : 0 }, () => freshDim()),
          },
        ];
      }
      return [{ dtype: x.dtype, shape: broadcastShapes(c.node, [x.shape, target]) }];
    },
    grad: (c) => [c.needs[0] ? unbroadcast(c.b, c.g[0]!, c.x[0]!.shape) : undefined],
  },
  Concat: {
    infer: (c) => {
      const first = need(c, 0);
      const axis = normAxis(attrInt(c.node, "axis", 0), first.shape.length);
      const dims = c.inputs.map((_, i) => need(c, i).shape[axis]!);
      const total = dims.reduce<Dim>((a, d) => dimAdd(a, d), 0);
      return [{ dtype: first.dtype, shape: first.shape.map((d, i) => (i === axis ? total : d)) }];
    },
    grad: concatGrad,
  },
  Split: {
    infer: (c) => {
      const x = need(c, 0);
      const axis = normAxis(attrInt(c.node, "axis", 0), x.shape.length);
      return splitSizes(c, x.shape[axis]!).map((s) => ({
        dtype: x.dtype,
        shape: x.shape.map((d, i) => (i === axis ? s : d)),
      }));
    },
    grad: (c) => {
      if (!c.needs[0]) return [];
      const axis = normAxis(attrInt(c.node, "axis", 0), c.x[0]!.rank);
      const parts = c.y.map((y, i) => c.g[i] ?? c.b.zerosLike(y!));
      return [c.b.concat(parts, axis)];
    },
  },
  Slice: { infer: inferSlice, grad: sliceGrad },
  Pad: {
    infer: (c) => {
      const x = need(c, 0);
      const pads = constInts(c, 1);
      const r = x.shape.length;
      const shape = x.shape.map((d, i) =>
        pads && typeof d === "number"
          ? d + pads[i]! + pads[i + r]!
          : pads && pads[i] === 0 && pads[i + r] === 0
            ? d
            : freshDim(),
      );
      return [{ dtype: x.dtype, shape }];
    },
  },
  Trilu: {
    infer: (c) => [need(c, 0)],
    grad: (c) => [
      c.needs[0]
        ? c.b.op1("Trilu", [c.g[0]!, c.x[1]], c.node.attrs as Record<string, never>)
        : undefined,
    ],
  },
  Dropout: {
    infer: (c): OutInfo[] =>
      [need(c, 0), { dtype: "bool" as const, shape: need(c, 0).shape }].slice(
        0,
        c.node.outputs.length,
      ),
    grad: (c) => {
      // in training mode the output is masked and rescaled, so g would need the same mask
      const mode = c.node.inputs[2] ? c.b.graph.constant(c.node.inputs[2]) : undefined;
      if (c.node.inputs[2] && (!mode || Number(mode.data[0]) !== 0)) {
        throw new KeelError("KEEL_E_UNSUPPORTED", "Dropout in training mode has no gradient rule", {
          where: { id: c.node.name ?? "Dropout" },
          hint: "export the graph in inference mode (training_mode false or absent)",
        });
      }
      return [c.needs[0] ? c.g[0] : undefined];
    },
  },
  Shape: {
    infer: (c) => {
      const r = need(c, 0).shape.length;
      const start = normAxis(attrInt(c.node, "start", 0), r);
      const end = Math.min(normAxis(attrInt(c.node, "end", r), r), r);
      return [{ dtype: "int64", shape: [Math.max(end - start, 0)] }];
    },
  },
  Size: { infer: () => [{ dtype: "int64", shape: [] }] },
  ConstantOfShape: {
    infer: (c) => {
      const shape = shapeDims(c, c.node.inputs[0]);
      const value = tensorFromAttr(c);
      const dtype = value?.dtype ?? "float32";
      if (shape) return [{ dtype, shape }];
      const len = need(c, 0).shape[0];
      return [
        {
          dtype,
          shape: Array.from({ length: typeof len === "number" ? len : 0 }, () => freshDim()),
        },
      ];
    },
  },
  Constant: {
    infer: (c) => {
      const t = tensorFromAttr(c);
      if (t) return [{ dtype: t.dtype, shape: t.dims }];
      const a = c.node.attrs;
      if (a.value_float) return [{ dtype: "float32", shape: [] }];
      if (a.value_int) return [{ dtype: "int64", shape: [] }];
      if (a.value_ints?.kind === "ints")
        return [{ dtype: "int64", shape: [a.value_ints.value.length] }];
      if (a.value_floats?.kind === "floats")
        return [{ dtype: "float32", shape: [a.value_floats.value.length] }];
      throw shapeError(c.node, "unsupported Constant attribute");
    },
  },
  Range: { infer: (c) => [{ dtype: need(c, 0).dtype, shape: [freshDim()] }] },
};
