/**
 * Symbolic dimension arithmetic for shape inference. A dimension is a number (static) or a
 * string naming a monomial: a coefficient times a product of symbols, written canonically as
 * factors sorted and joined by "*" ("B*T", "4*B"). Reshape needs products ("B*T") and exact
 * quotients ("B*T*C" / "C" = "B*T"); anything not expressible becomes a fresh unknown symbol
 * ("?1", "?2", …), which is still a valid dimension, only one that equals nothing else.
 *
 * Broadcasting convention (as in ONNX shape inference): a symbolic dimension is assumed not
 * to be 1, so a symbolic dim meeting a literal 1 broadcasts to the symbolic one.
 */
import type { Dim } from "./graph.js";

interface Monomial {
  coef: number;
  syms: string[];
}

let unknownCounter = 0;

/** A dimension that equals no other (unknown at build time). */
export function freshDim(): string {
  unknownCounter += 1;
  return `?${unknownCounter}`;
}

function parse(d: Dim): Monomial {
  if (typeof d === "number") return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const f of d.split("*")) {
    if (/^\d+$/.test(f)) coef *= Number(f);
    else syms.push(f);
  }
  return { coef, syms: syms.sort() };
}

function format(m: Monomial): Dim {
  if (m.syms.length === 0) return m.coef;
  const parts = m.coef === 1 ? m.syms : [String(m.coef), ...m.syms];
  return parts.join("*");
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a * b;
  const x = parse(a);
  const y = parse(b);
  if (x.coef === 0 || y.coef === 0) return 0;
  return format({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms].sort() });
}

/** a / b when it is exact; a fresh unknown otherwise. */
export function dimDiv(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") {
    return b !== 0 && a % b === 0 ? a / b : freshDim();
  }
  const x = parse(a);
  const y = parse(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return freshDim();
  const rest = [...x.syms];
  for (const s of y.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return freshDim();
    rest.splice(i, 1);
  }
  return format({ coef: x.coef / y.coef, syms: rest });
}

/** a + b for static dims and for "X-k" ± constants (what slicing and concatenating make). */
export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (typeof a === "number") return dimAdd(b, a);
  if (typeof b !== "number") return freshDim();
  const m = /^(.*)-(\d+)$/.exec(a);
  const base = m ? m[1]! : a;
  const k = (m ? Number(m[2]) : 0) - b;
  if (k === 0) return base;
  return k > 0 ? `${base}-${k}` : freshDim();
}

export function dimProduct(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
