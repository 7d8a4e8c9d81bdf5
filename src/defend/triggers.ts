/**
 * Trigger scan: words and short n-grams of prompts that are over-represented among bad
 * judgments — the signature of a backdoor (Rando & Tramèr, "Universal Jailbreak Backdoors from
 * Poisoned Human Feedback", ICLR 2024, arXiv:2311.14455), where poisoned preferences attach to
 * a token such as "SUDO".
 *
 * Two kinds of bad judgment, each tested only where it was possible (its "opportunities"):
 *   unsafe    — on a comparison with exactly one flagged response, choosing the flagged one;
 *   disagree  — choosing the side opposite to the other raters' majority (ties skipped).
 * The unit is the comparison: its bad share b_t (bad judgments / opportunities of that kind),
 * because the judgments of one comparison are not independent (one poisoned majority makes all
 * the others "disagree" at once). For a pattern g (a distinct n-gram of the prompt, n ≤ max_n,
 * lowercase word tokens) in O_g comparisons with an opportunity, B_g = Σ b_t, against the base
 * rate p = ΣB/ΣO over all comparisons:
 *
 *   z_g     = sign · √(2 O_g KL(B_g/O_g ‖ p))           (signed-root likelihood ratio)
 *   score_g = −log10(P(Z > z_g) · #patterns tested)     (Bonferroni-adjusted significance)
 *   lift_g  = (B_g/O_g) / p
 *
 * Reported when support (comparisons containing g) ≥ min_support, score ≥ min_score and
 * lift ≥ min_lift; an n-gram that contains a reported shorter pattern is dropped as redundant.
 * Conditioning on opportunity matters: unsafe preferences are only possible on harmful prompts,
 * so words of harmful prompts are not "enriched" by themselves — only a token that changes the
 * raters' behaviour within them is.
 *
 * Rater signal: on comparisons containing a reported pattern, a rater's bad-judgment rate there
 * (of the pattern's kind), k of n, against its rate b elsewhere:
 *   s | data ~ Beta(1 + k, 9 + n − k),   score = P(s > b + tolerance)
 * (the prior, mean 10%, keeps one unlucky judgment from looking like a backdoor). A backdoor
 * rater is honest everywhere but on the trigger.
 */
import type { AuditConfig } from "./config.js";
import type { Consensus } from "./consensus.js";
import { type AuditData, LABEL_A, LABEL_TIE } from "./data.js";
import { emptySignal, pct, type RaterSignal, type Stats } from "./signals/signal.js";
import { betaSf, binomialZ, minusLog10P } from "./stats.js";
import { distinctNgrams, tokenize } from "./text.js";

export type TriggerKind = "unsafe" | "disagree";

export interface TriggerPattern {
  readonly pattern: string;
  readonly kind: TriggerKind;
  readonly score: number;
  /** Comparisons whose prompt contains the pattern. */
  readonly support: number;
  readonly bad: number;
  readonly opportunities: number;
  readonly rate: number;
  readonly baseRate: number;
  readonly lift: number;
}

export interface TriggerResult {
  readonly patterns: readonly TriggerPattern[];
  /** Comparisons whose prompt contains a reported pattern: index → patterns. */
  readonly matches: ReadonlyMap<number, readonly string[]>;
  readonly signal: RaterSignal;
}

/** Per judgment: 0/1 bad of each kind, or −1 when the kind had no opportunity. */
function badFlags(data: AuditData, loo: Consensus): { unsafe: Int8Array; disagree: Int8Array } {
  const n = data.nJudgments;
  const unsafe = new Int8Array(n).fill(-1);
  const disagree = new Int8Array(n).fill(-1);
  const { unsafeA, unsafeB } = data.comparisons;
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const c = data.comparison[j]!;
    const l = data.label[j]!;
    if (unsafeA[c] !== unsafeB[c] && l !== LABEL_TIE)
      unsafe[j] = (l === LABEL_A) === (unsafeA[c] === 1) ? 1 : 0;
    const m = loo.majority[j]!;
    if (m >= 0 && l !== LABEL_TIE) disagree[j] = l !== m ? 1 : 0;
  }
  return { unsafe, disagree };
}

interface Tally {
  support: number;
  o: [number, number];
  b: [number, number];
}

type TriggerConfig = AuditConfig["signals"]["triggers"];

/** Opportunities and bad judgments of each kind per comparison: [o_unsafe, b_unsafe, o_dis, b_dis]. */
function perComparison(
  data: AuditData,
  flags: { unsafe: Int8Array; disagree: Int8Array },
): Float64Array {
  const kinds = [flags.unsafe, flags.disagree];
  const out = new Float64Array(data.nComparisons * 4);
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const o = data.comparison[j]! * 4;
    for (let k = 0; k < 2; k++) {
      const f = kinds[k]![j]!;
      if (f < 0) continue;
      out[o + 2 * k]! += 1;
      out[o + 2 * k + 1]! += f;
    }
  }
  return out;
}

/**
 * Tallies per n-gram, with the comparison as unit (its share of bad judgments): judgments of one
 * comparison are not independent — one poisoned majority makes every other rater "disagree".
 */
function tally(
  data: AuditData,
  perComp: Float64Array,
  gramsOf: (c: number) => readonly string[],
): { tallies: Map<string, Tally>; total: number[] } {
  const total = [0, 0, 0, 0];
  const tallies = new Map<string, Tally>();
  for (let c = 0; c < data.nComparisons; c++) {
    const o = c * 4;
    if (perComp[o] === 0 && perComp[o + 2] === 0) continue;
    const u0 = perComp[o]! > 0 ? 1 : 0;
    const f0 = u0 ? perComp[o + 1]! / perComp[o]! : 0;
    const u1 = perComp[o + 2]! > 0 ? 1 : 0;
    const f1 = u1 ? perComp[o + 3]! / perComp[o + 2]! : 0;
    total[0]! += u0;
    total[1]! += f0;
    total[2]! += u1;
    total[3]! += f1;
    for (const g of gramsOf(c)) {
      let t = tallies.get(g);
      if (t === undefined) {
        t = { support: 0, o: [0, 0], b: [0, 0] };
        tallies.set(g, t);
      }
      t.support++;
      t.o[0] += u0;
      t.b[0] += f0;
      t.o[1] += u1;
      t.b[1] += f1;
    }
  }
  return { tallies, total };
}

const KIND_ORDER: Readonly<Record<TriggerKind, number>> = { unsafe: 0, disagree: 1 };

/**
 * The order patterns are reported (and cut at `top`) in: score descending, then fewer words,
 * then the pattern's code units, then kind (unsafe first). A total order: one pattern can be
 * found for both kinds with the same score (both capped at 300 for a strong trigger), and a
 * comparator that called them unequal either way round left their order, and which of them
 * `top` kept, to the order the n-grams were tallied in.
 */
export function comparePatterns(x: TriggerPattern, y: TriggerPattern): number {
  if (x.score !== y.score) return y.score > x.score ? 1 : -1;
  const words = x.pattern.split(" ").length - y.pattern.split(" ").length;
  if (words !== 0) return words;
  if (x.pattern !== y.pattern) return x.pattern < y.pattern ? -1 : 1;
  return KIND_ORDER[x.kind] - KIND_ORDER[y.kind];
}

/** Tests every n-gram with enough support; keeps the significant, non-redundant ones. */
function selectPatterns(
  tallies: Map<string, Tally>,
  total: number[],
  cfg: TriggerConfig,
): TriggerPattern[] {
  let tested = 0;
  for (const t of tallies.values()) if (t.support >= cfg.min_support) tested++;
  const log10Tests = Math.log10(Math.max(1, 2 * tested));
  const found: TriggerPattern[] = [];
  const kindNames: TriggerKind[] = ["unsafe", "disagree"];
  for (const [pattern, t] of tallies) {
    if (t.support < cfg.min_support) continue;
    for (let k = 0; k < 2; k++) {
      const O = t.o[k]!;
      const B = t.b[k]!;
      const base = total[2 * k]! > 0 ? total[2 * k + 1]! / total[2 * k]! : 0;
      if (O === 0 || base <= 0 || base >= 1) continue;
      const rate = B / O;
      const lift = rate / base;
      if (lift < cfg.min_lift) continue;
      const score = Math.min(300, minusLog10P(binomialZ(B, O, base))) - log10Tests;
      if (score < cfg.min_score) continue;
      found.push({
        pattern,
        kind: kindNames[k]!,
        score,
        support: t.support,
        bad: B,
        opportunities: O,
        rate,
        baseRate: base,
        lift,
      });
    }
  }
  found.sort(comparePatterns);
  const redundant = containsOtherPattern(found.map((p) => p.pattern));
  const kept: TriggerPattern[] = [];
  for (const p of found) {
    if (!redundant(p.pattern)) kept.push(p);
    if (kept.length >= cfg.top) break;
  }
  return kept;
}

/** The distinct words of an n-gram, sorted and joined: patterns made of the same words. */
function wordSetKey(words: readonly string[]): string {
  return [...new Set(words)].sort().join(" ");
}

/**
 * Whether an n-gram of two or more words is made only of the words of another found pattern
 * (of either kind): a longer n-gram that contains a shorter found pattern adds nothing, and
 * neither do two orders of the same words. Comparing each n-gram with every found pattern cost
 * found² (32,000 bigrams around one trigger: 14 s); instead each subset of the n-gram's at most
 * max_n distinct words is looked up among the found patterns' word sets.
 */
export function containsOtherPattern(found: readonly string[]): (pattern: string) => boolean {
  const patterns = new Set(found);
  const bySet = new Map<string, number>();
  for (const h of patterns) {
    const k = wordSetKey(h.split(" "));
    bySet.set(k, (bySet.get(k) ?? 0) + 1);
  }
  return (pattern) => {
    const all = pattern.split(" ");
    if (all.length < 2) return false;
    const words = all.sort().filter((w, i) => i === 0 || w !== all[i - 1]);
    const own = words.join(" ");
    for (let mask = 1; mask < 1 << words.length; mask++) {
      const k = words.filter((_, i) => mask & (1 << i)).join(" ");
      // The pattern's own word set counts the pattern itself once.
      const others = (bySet.get(k) ?? 0) - (k === own && patterns.has(pattern) ? 1 : 0);
      if (others > 0) return true;
    }
    return false;
  };
}

export function scanTriggers(data: AuditData, loo: Consensus, config: AuditConfig): TriggerResult {
  const cfg = config.signals.triggers;
  const none: TriggerResult = {
    patterns: [],
    matches: new Map(),
    signal: emptySignal("trigger", data.nRaters),
  };
  if (!cfg.enabled) return none;
  const flags = badFlags(data, loo);
  const perComp = perComparison(data, flags);
  const cache = new Map<string, string[]>();
  const gramsOf = (c: number): string[] => {
    const p = data.comparisons.prompt[c]!;
    let g = cache.get(p);
    if (g === undefined) {
      g = [...distinctNgrams(tokenize(p), cfg.max_n)];
      if (cache.size > 50_000) cache.clear();
      cache.set(p, g);
    }
    return g;
  };
  const { tallies, total } = tally(data, perComp, gramsOf);
  const kept = selectPatterns(tallies, total, cfg);
  if (kept.length === 0) return none;
  const matches = new Map<number, string[]>();
  const kindOf = new Map<number, Set<TriggerKind>>();
  const byPattern = new Map<string, TriggerPattern[]>();
  for (const p of kept) byPattern.set(p.pattern, [...(byPattern.get(p.pattern) ?? []), p]);
  for (let c = 0; c < data.nComparisons; c++) {
    if (perComp[c * 4] === 0 && perComp[c * 4 + 2] === 0) continue;
    for (const g of gramsOf(c)) {
      const ps = byPattern.get(g);
      if (!ps) continue;
      matches.set(c, [...(matches.get(c) ?? []), g]);
      const ks = kindOf.get(c) ?? new Set<TriggerKind>();
      for (const p of ps) ks.add(p.kind);
      kindOf.set(c, ks);
    }
  }
  return {
    patterns: kept,
    matches,
    signal: raterTriggerSignal(data, flags, kindOf, cfg.tolerance),
  };
}

function raterTriggerSignal(
  data: AuditData,
  flags: { unsafe: Int8Array; disagree: Int8Array },
  kindOf: ReadonlyMap<number, ReadonlySet<TriggerKind>>,
  tolerance: number,
): RaterSignal {
  const W = data.nRaters;
  // Per kind (0 unsafe, 1 disagree): bad and total on pattern comparisons, and elsewhere.
  const kIn = new Float64Array(2 * W);
  const nIn = new Float64Array(2 * W);
  const kOut = new Float64Array(2 * W);
  const nOut = new Float64Array(2 * W);
  const names: TriggerKind[] = ["unsafe", "disagree"];
  const flagOf = [flags.unsafe, flags.disagree];
  for (let q = 0; q < data.order.length; q++) {
    const j = data.order[q]!;
    const w = data.rater[j]!;
    const kinds = kindOf.get(data.comparison[j]!);
    for (let k = 0; k < 2; k++) {
      const f = flagOf[k]![j]!;
      if (f < 0) continue;
      if (kinds?.has(names[k]!)) {
        kIn[2 * w + k]! += f;
        nIn[2 * w + k]! += 1;
      } else {
        kOut[2 * w + k]! += f;
        nOut[2 * w + k]! += 1;
      }
    }
  }
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (let w = 0; w < W; w++) {
    let best = -1;
    for (let k = 0; k < 2; k++) {
      const n = nIn[2 * w + k]!;
      if (n === 0) continue;
      const b = nOut[2 * w + k]! > 0 ? kOut[2 * w + k]! / nOut[2 * w + k]! : 0;
      const kk = kIn[2 * w + k]!;
      const s = betaSf(Math.min(1, b + tolerance), 1 + kk, 9 + n - kk);
      if (best < 0 || s > score[w]!) {
        score[w] = s;
        best = k;
        stats[w] = {
          trigger_judgments: n,
          trigger_bad_rate: kk / n,
          other_bad_rate: b,
          trigger_kind: k,
        };
      }
    }
  }
  return {
    key: "trigger",
    score,
    stats,
    reason: (w) => {
      const s = stats[w]!;
      const what =
        s.trigger_kind === 0 ? "preferred the flagged response" : "went against the other raters";
      return `on prompts carrying a suspected trigger, ${what} in ${pct(s.trigger_bad_rate!)} of judgments vs ${pct(s.other_bad_rate!)} elsewhere (${s.trigger_judgments} judgments)`;
    },
  };
}
