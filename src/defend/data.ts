/**
 * The audit's working set: judgments read once into dense columns (comparison, rater, label,
 * shown order, latency), each comparison's texts with word counts and safety verdicts, the
 * validation filters' findings (malformed comparisons, duplicate judgments, exact and near
 * duplicate comparisons), and the judgments grouped by comparison. Every detector reads this.
 * The table of comparisons (texts, safety, malformed and duplicate comparisons) is built in
 * comparison-table.ts.
 *
 * Judgments that cannot count — a rater's repeat judgment of the same comparison (the first is
 * kept), judgments of malformed comparisons — are marked inactive here and left out of every
 * statistic.
 */
import { Column } from "../core/column.js";
import { KeelError } from "../core/errors.js";
import { contentToText, type GoldAnswer, type Judgment, type Rater } from "../core/types.js";
import { type ComparisonTable, describeComparisons } from "./comparison-table.js";
import type { SafetyTable, SyncSafetyClassifier } from "./filters/safety.js";

export const LABEL_A = 0;
export const LABEL_B = 1;
export const LABEL_TIE = 2;
const CHOICE_CODE: Record<string, number> = { a: LABEL_A, b: LABEL_B, tie: LABEL_TIE };

export interface AuditData {
  readonly nJudgments: number;
  readonly nComparisons: number;
  readonly nRaters: number;
  readonly raterIds: readonly string[];
  /** Rater attributes (locale, cohort, …) when given. [nRaters] */
  readonly attributes: readonly (Readonly<Record<string, string>> | undefined)[];
  readonly comparisons: ComparisonTable;
  /** Per judgment, in input order. [n] */
  readonly comparison: Int32Array;
  readonly rater: Int32Array;
  readonly label: Uint8Array;
  /** 1 when the rater saw b first (shown_order "ba"). */
  readonly swapped: Uint8Array;
  /** Latency in ms, NaN when not recorded. */
  readonly latency: Float64Array;
  /** 1 when the judgment counts; 0 for repeats and judgments of malformed comparisons. */
  readonly active: Uint8Array;
  /** Index of the judgment this one repeats (same rater and comparison), or −1. */
  readonly repeatOf: Int32Array;
  /** Active judgments grouped by comparison: ids `order[start[c] .. start[c+1])`. */
  readonly start: Int32Array;
  readonly order: Int32Array;
  /** Active labels per comparison. [nComparisons] */
  readonly countA: Int32Array;
  readonly countB: Int32Array;
  readonly countTie: Int32Array;
  readonly safetyId: string;
  /** Judgments whose comparison id reappeared with different texts (the first texts are kept). */
  readonly conflicts: number;
}

export interface PrepareInput {
  /** The judgments, or a builder they were streamed into (spent by `prepareAuditData`). */
  readonly judgments: Iterable<AuditJudgment> | AuditDataBuilder;
  readonly gold?: Iterable<GoldAnswer>;
  readonly raters?: Iterable<Rater>;
}

export interface PrepareOptions {
  /** A synchronous classifier, or a table computed by `precomputeSafety`. */
  readonly safety: SyncSafetyClassifier | SafetyTable;
  readonly useGold: boolean;
}

/** What the audit reads of a judgment. */
export type AuditJudgment = Pick<
  Judgment,
  | "comparison_id"
  | "prompt"
  | "response_a"
  | "response_b"
  | "rater_id"
  | "choice"
  | "gold"
  | "latency_ms"
  | "shown_order"
>;

/** A later judgment of a comparison, without the texts its first judgment carried. */
export type AuditJudgmentWithoutTexts = Omit<AuditJudgment, "prompt" | "response_a" | "response_b">;

/**
 * Builds the audit's working set one judgment at a time, keeping only dense columns and one
 * copy of each comparison's texts — so a caller that streams judgments (a file, a store) never
 * holds them as objects: at a million judgments that is about 280 MB less at the audit's peak.
 */
export class AuditDataBuilder {
  private readonly compIndex = new Map<string, number>();
  private readonly raterIndex = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly raterIds: string[] = [];
  private readonly prompt: string[] = [];
  private readonly a: string[] = [];
  private readonly b: string[] = [];
  /** The first gold label a judgment of the comparison carried, or −1. */
  private readonly judgedGold: number[] = [];
  private readonly invalid = new Map<number, string>();
  private readonly jc = new Column(Int32Array);
  private readonly jw = new Column(Int32Array);
  private readonly lab = new Column(Uint8Array);
  private readonly sw = new Column(Uint8Array);
  private readonly lat = new Column(Float64Array);
  private conflicts = 0;
  private built = false;

  /** Judgments added so far. */
  get count(): number {
    return this.jc.length;
  }

  /**
   * A judgment without texts (a store's `judgmentsTextsOnce`) must be of a comparison added
   * before: the store fixes a comparison's texts, so there is nothing to compare.
   */
  add(j: AuditJudgment | AuditJudgmentWithoutTexts): void {
    const c = "prompt" in j ? this.comparisonOf(j) : this.knownComparison(j.comparison_id);
    if (j.gold !== undefined && this.judgedGold[c] === -1)
      this.judgedGold[c] = CHOICE_CODE[j.gold]!;
    let w = this.raterIndex.get(j.rater_id);
    if (w === undefined) {
      w = this.raterIds.length;
      this.raterIndex.set(j.rater_id, w);
      this.raterIds.push(j.rater_id);
    }
    this.jc.push(c);
    this.jw.push(w);
    this.lab.push(CHOICE_CODE[j.choice] ?? LABEL_TIE);
    this.sw.push(j.shown_order === "ba" ? 1 : 0);
    this.lat.push(j.latency_ms ?? Number.NaN);
  }

  /** The judgment's comparison, added on its first judgment, checked on the later ones. */
  private comparisonOf(j: AuditJudgment): number {
    let c = this.compIndex.get(j.comparison_id);
    const p = contentToText(j.prompt);
    const ra = contentToText(j.response_a);
    const rb = contentToText(j.response_b);
    if (c === undefined) {
      c = this.ids.length;
      this.compIndex.set(j.comparison_id, c);
      this.ids.push(j.comparison_id);
      this.prompt.push(p);
      this.a.push(ra);
      this.b.push(rb);
      this.judgedGold.push(-1);
    } else if (this.prompt[c] !== p || this.a[c] !== ra || this.b[c] !== rb) {
      this.conflicts++;
      this.invalid.set(c, "the same comparison id carries different texts");
    }
    return c;
  }

  private knownComparison(id: string): number {
    const c = this.compIndex.get(id);
    if (c !== undefined) return c;
    throw new KeelError(
      "KEEL_E_INTERNAL",
      "a judgment without texts came before its comparison's first judgment",
      { where: { id } },
    );
  }

  /**
   * Each comparison's prompt and responses as the audit reads them (the first texts seen under
   * its id), in first-seen order: what an asynchronous safety classifier must see beforehand.
   */
  *comparisonTexts(): Generator<{ prompt: string; a: string; b: string }> {
    for (let c = 0; c < this.ids.length; c++)
      yield { prompt: this.prompt[c]!, a: this.a[c]!, b: this.b[c]! };
  }

  /** The working set; the builder is spent afterwards. */
  build(
    opts: PrepareOptions,
    extras: { gold?: Iterable<GoldAnswer>; raters?: Iterable<Rater> } = {},
  ): AuditData {
    if (this.built) throw new Error("AuditDataBuilder.build called twice");
    this.built = true;
    const { compIndex, raterIndex, ids, raterIds, invalid } = this;
    const goldList = opts.useGold ? this.judgedGold : ids.map(() => -1);
    if (opts.useGold && extras.gold) {
      for (const g of extras.gold) {
        const c = compIndex.get(g.comparison_id);
        if (c !== undefined) goldList[c] = CHOICE_CODE[g.gold]!;
      }
    }
    const attributes: (Readonly<Record<string, string>> | undefined)[] = raterIds.map(
      () => undefined,
    );
    if (extras.raters) {
      for (const r of extras.raters) {
        const w = raterIndex.get(r.rater_id);
        if (w !== undefined) attributes[w] = r.attributes;
      }
    }
    const nC = ids.length;
    const n = this.jc.length;
    const comparisons = describeComparisons(
      ids,
      this.prompt,
      this.a,
      this.b,
      goldList,
      invalid,
      opts.safety,
    );
    const comparison = this.jc.finish();
    const rater = this.jw.finish();
    const label = this.lab.finish();
    const { active, repeatOf, start, order, countA, countB, countTie } = groupActive(
      comparison,
      rater,
      label,
      nC,
      invalid,
    );
    return {
      nJudgments: n,
      nComparisons: nC,
      nRaters: raterIds.length,
      raterIds,
      attributes,
      comparisons,
      comparison,
      rater,
      label,
      swapped: this.sw.finish(),
      latency: this.lat.finish(),
      active,
      repeatOf,
      start,
      order,
      countA,
      countB,
      countTie,
      safetyId: opts.safety.id,
      conflicts: this.conflicts,
    };
  }
}

export function prepareAuditData(input: PrepareInput, opts: PrepareOptions): AuditData {
  let builder: AuditDataBuilder;
  if (input.judgments instanceof AuditDataBuilder) builder = input.judgments;
  else {
    builder = new AuditDataBuilder();
    for (const j of input.judgments) builder.add(j);
  }
  return builder.build(opts, {
    ...(input.gold ? { gold: input.gold } : {}),
    ...(input.raters ? { raters: input.raters } : {}),
  });
}

function groupActive(
  comparison: Int32Array,
  rater: Int32Array,
  label: Uint8Array,
  nC: number,
  invalid: ReadonlyMap<number, string>,
) {
  const n = comparison.length;
  const active = new Uint8Array(n);
  const repeatOf = new Int32Array(n).fill(-1);
  // Counting sort by comparison (stable: input order within a comparison).
  const all = new Int32Array(nC + 1);
  for (let j = 0; j < n; j++) all[comparison[j]! + 1]!++;
  for (let c = 0; c < nC; c++) all[c + 1]! += all[c]!;
  const pos = all.slice(0, nC);
  const byComp = new Int32Array(n);
  for (let j = 0; j < n; j++) byComp[pos[comparison[j]!]!++] = j;
  const countA = new Int32Array(nC);
  const countB = new Int32Array(nC);
  const countTie = new Int32Array(nC);
  const start = new Int32Array(nC + 1);
  const order: number[] = [];
  // The comparison each rater was last seen on and its first judgment there: one pass, where a
  // scan of the comparison's earlier judgments cost m² (a flooded comparison, minutes).
  let nW = 0;
  for (let j = 0; j < n; j++) nW = Math.max(nW, rater[j]! + 1);
  const seenOn = new Int32Array(nW).fill(-1);
  const firstOf = new Int32Array(nW);
  for (let c = 0; c < nC; c++) {
    start[c] = order.length;
    if (invalid.has(c)) continue;
    for (let q = all[c]!; q < all[c + 1]!; q++) {
      const j = byComp[q]!;
      const w = rater[j]!;
      if (seenOn[w] === c) {
        repeatOf[j] = firstOf[w]!;
        continue;
      }
      seenOn[w] = c;
      firstOf[w] = j;
      active[j] = 1;
      order.push(j);
      const l = label[j]!;
      if (l === LABEL_A) countA[c]!++;
      else if (l === LABEL_B) countB[c]!++;
      else countTie[c]!++;
    }
  }
  start[nC] = order.length;
  return { active, repeatOf, start, order: Int32Array.from(order), countA, countB, countTie };
}
