/**
 * Connectivity of the comparison graph. Bradley–Terry's maximum-likelihood scores exist (are
 * finite and unique up to a constant) iff for every split of the items into two groups some
 * item of each group beats — or ties — some item of the other (Zermelo 1929; Hunter 2004,
 * Assumption 1): the directed graph "loser → winner" must be strongly connected. Strongly
 * connected components are found with Tarjan's algorithm, written iteratively so that a long
 * chain of items cannot overflow the call stack.
 */
import { KeelError } from "../../core/errors.js";

/** Directed graph in compressed rows: the successors of v are to[start[v] .. start[v+1]). */
export interface Digraph {
  readonly n: number;
  readonly start: Int32Array;
  readonly to: Int32Array;
}

export function buildDigraph(
  n: number,
  from: Int32Array,
  to: Int32Array,
  m = from.length,
): Digraph {
  const start = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) start[from[e]! + 1]! += 1;
  for (let v = 0; v < n; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, n);
  const out = new Int32Array(m);
  for (let e = 0; e < m; e++) out[fill[from[e]!]!++] = to[e]!;
  return { n, start, to: out };
}

/** Component id of each vertex (ids in reverse topological order) and the component count. */
export function stronglyConnectedComponents(g: Digraph): { comp: Int32Array; count: number } {
  const { n, start, to } = g;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  const callV = new Int32Array(n);
  const callE = new Int32Array(n);
  let sp = 0;
  let next = 0;
  let count = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    let depth = 0;
    callV[0] = root;
    callE[0] = start[root]!;
    index[root] = low[root] = next++;
    stack[sp++] = root;
    onStack[root] = 1;
    while (depth >= 0) {
      const v = callV[depth]!;
      const e = callE[depth]!;
      if (e < start[v + 1]!) {
        callE[depth] = e + 1;
        const w = to[e]!;
        if (index[w] === -1) {
          index[w] = low[w] = next++;
          stack[sp++] = w;
          onStack[w] = 1;
          depth++;
          callV[depth] = w;
          callE[depth] = start[w]!;
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, index[w]!);
        }
        continue;
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack[--sp]!;
          onStack[w] = 0;
          comp[w] = count;
        } while (w !== v);
        count++;
      }
      depth--;
      if (depth >= 0) {
        const parent = callV[depth]!;
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
    }
  }
  return { comp, count };
}

/** Names the components of a graph that is not strongly connected, for an error message. */
export function describeComponents(
  comp: Int32Array,
  count: number,
  names: readonly string[],
): string {
  const groups: string[][] = Array.from({ length: count }, () => []);
  const sizes = new Int32Array(count);
  for (let v = 0; v < comp.length; v++) {
    const c = comp[v]!;
    sizes[c]! += 1;
    if (groups[c]!.length < 4) groups[c]!.push(names[v] ?? String(v));
  }
  const shown = groups.slice(0, 6).map((g, c) => {
    const more = sizes[c]! > g.length ? `, … (${sizes[c]} items)` : "";
    return `{${g.map((s) => JSON.stringify(s)).join(", ")}${more}}`;
  });
  return `${count} components: ${shown.join("; ")}${count > 6 ? `; … and ${count - 6} more` : ""}`;
}

/** Throws KEEL_E_NOT_CONNECTED naming the components unless the graph is strongly connected. */
export function assertStronglyConnected(
  g: Digraph,
  names: readonly string[],
  method: string,
): void {
  if (g.n <= 1) return;
  const { comp, count } = stronglyConnectedComponents(g);
  if (count === 1) return;
  throw new KeelError(
    "KEEL_E_NOT_CONNECTED",
    `${method}: the comparison graph is not strongly connected (some group of items never beats or ties the rest, so their scores would run off to ±∞): ${describeComponents(comp, count, names)}`,
    {
      hint: "add comparisons between the groups, or ask for regularisation (--prior, e.g. 1) which adds virtual games against a reference item",
    },
  );
}
