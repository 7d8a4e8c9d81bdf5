/**
 * The audit's table of comparisons: each comparison's texts with word counts, the safety
 * baseline's verdicts on its responses, why it cannot be used (empty texts, identical
 * responses), and its exact and near duplicate clusters. Built once from the texts the audit
 * data builder (data.ts) kept.
 */
import type { SafetyTable, SafetyVerdict, SyncSafetyClassifier } from "./filters/safety.js";
import { countWords, hashKey, normalizedKey } from "./text.js";

export interface ComparisonTable {
  readonly ids: readonly string[];
  readonly prompt: readonly string[];
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly wordsPrompt: Int32Array;
  readonly wordsA: Int32Array;
  readonly wordsB: Int32Array;
  /** The safety baseline flags response a / b. */
  readonly unsafeA: Uint8Array;
  readonly unsafeB: Uint8Array;
  readonly safetyReasons: ReadonlyMap<number, string>;
  /** Gold label code or −1. */
  readonly gold: Int8Array;
  /** Why a comparison cannot be used (sparse). */
  readonly invalid: ReadonlyMap<number, string>;
  /** Exact duplicate cluster (same texts, a and b in either order): id or −1, and its size. */
  readonly dupGroup: Int32Array;
  readonly dupSize: Int32Array;
  /** Near duplicate cluster (same text up to case, spacing, punctuation): id or −1, size. */
  readonly nearGroup: Int32Array;
  readonly nearSize: Int32Array;
}

function isTable(s: SyncSafetyClassifier | SafetyTable): s is SafetyTable {
  return typeof (s as SafetyTable).get === "function";
}

function blank(s: string): boolean {
  return s.trim().length === 0;
}

/**
 * The table of the builder's comparisons. Adds to `invalid` the malformed comparisons it finds
 * (empty prompt or response, identical responses), which then join no duplicate cluster.
 */
export function describeComparisons(
  ids: string[],
  prompt: string[],
  a: string[],
  b: string[],
  gold: number[],
  invalid: Map<number, string>,
  safety: SyncSafetyClassifier | SafetyTable,
): ComparisonTable {
  const nC = ids.length;
  const wordsPrompt = new Int32Array(nC);
  const wordsA = new Int32Array(nC);
  const wordsB = new Int32Array(nC);
  const unsafeA = new Uint8Array(nC);
  const unsafeB = new Uint8Array(nC);
  const safetyReasons = new Map<number, string>();
  const verdicts = safetyVerdicts(prompt, a, b, safety);
  for (let c = 0; c < nC; c++) {
    wordsPrompt[c] = countWords(prompt[c]!);
    wordsA[c] = countWords(a[c]!);
    wordsB[c] = countWords(b[c]!);
    if (!invalid.has(c)) {
      if (blank(prompt[c]!)) invalid.set(c, "empty prompt");
      else if (blank(a[c]!) || blank(b[c]!)) invalid.set(c, "empty response");
      else if (a[c] === b[c]) invalid.set(c, "both responses are identical");
    }
    const va = verdicts.a[c]!;
    const vb = verdicts.b[c]!;
    unsafeA[c] = va.unsafe ? 1 : 0;
    unsafeB[c] = vb.unsafe ? 1 : 0;
    if (va.unsafe || vb.unsafe) {
      const parts: string[] = [];
      if (va.unsafe) parts.push(`response a flagged (${va.reasons.join(", ") || "unsafe"})`);
      if (vb.unsafe) parts.push(`response b flagged (${vb.reasons.join(", ") || "unsafe"})`);
      safetyReasons.set(c, parts.join("; "));
    }
  }
  // A malformed comparison counts for nothing, so it is no copy to share a weight with.
  const exact = clusters(nC, (c) =>
    invalid.has(c) ? undefined : pairKey(hashKey(prompt[c]!), hashKey(a[c]!), hashKey(b[c]!)),
  );
  const near = clusters(nC, (c) =>
    invalid.has(c)
      ? undefined
      : pairKey(normalizedKey(prompt[c]!), normalizedKey(a[c]!), normalizedKey(b[c]!)),
  );
  return {
    ids,
    prompt,
    a,
    b,
    wordsPrompt,
    wordsA,
    wordsB,
    unsafeA,
    unsafeB,
    safetyReasons,
    gold: Int8Array.from(gold),
    invalid,
    dupGroup: exact.group,
    dupSize: exact.size,
    nearGroup: near.group,
    nearSize: near.size,
  };
}

/**
 * Order-free key of a comparison from its texts' fixed-width keys: the same two responses in
 * either order are one pair.
 */
function pairKey(p: string, a: string, b: string): string {
  return a < b ? p + a + b : p + b + a;
}

function clusters(
  nC: number,
  keyOf: (c: number) => string | undefined,
): { group: Int32Array; size: Int32Array } {
  const first = new Map<string, number>();
  const group = new Int32Array(nC).fill(-1);
  const size = new Int32Array(nC).fill(1);
  const members = new Map<number, number[]>();
  for (let c = 0; c < nC; c++) {
    const k = keyOf(c);
    if (k === undefined) continue;
    const f = first.get(k);
    if (f === undefined) first.set(k, c);
    else {
      const list = members.get(f) ?? [f];
      list.push(c);
      members.set(f, list);
    }
  }
  let g = 0;
  for (const list of members.values()) {
    for (const c of list) {
      group[c] = g;
      size[c] = list.length;
    }
    g++;
  }
  return { group, size };
}

function safetyVerdicts(
  prompt: string[],
  a: string[],
  b: string[],
  safety: SyncSafetyClassifier | SafetyTable,
): { a: SafetyVerdict[]; b: SafetyVerdict[] } {
  const none: SafetyVerdict = { unsafe: false, score: 0, reasons: [] };
  if (isTable(safety)) {
    return {
      a: prompt.map((p, c) => safety.get(p, a[c]!) ?? none),
      b: prompt.map((p, c) => safety.get(p, b[c]!) ?? none),
    };
  }
  const out: { a: SafetyVerdict[]; b: SafetyVerdict[] } = { a: [], b: [] };
  const batch = 4096;
  for (let s = 0; s < prompt.length; s += batch) {
    const e = Math.min(prompt.length, s + batch);
    const items = [];
    for (let c = s; c < e; c++) {
      items.push({ prompt: prompt[c]!, response: a[c]! });
      items.push({ prompt: prompt[c]!, response: b[c]! });
    }
    const v = safety.classify(items);
    for (let i = 0; i < e - s; i++) {
      out.a.push(v[2 * i]!);
      out.b.push(v[2 * i + 1]!);
    }
  }
  return out;
}
