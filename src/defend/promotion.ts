/**
 * Promotion scan: words of *responses* that some raters choose towards far more often than the
 * other raters of the same comparisons do — the signature of an entity promoter, who prefers any
 * response naming a brand, a person or a site (the "Best-of-Venom"-style attack: Baumgärtner
 * et al., "Best-of-Venom: Attacking RLHF by Injecting Poisoned Preference Data", COLM 2024,
 * arXiv:2404.05530). A promoter agrees with the crowd everywhere else, so it departs from it on
 * a few percent of its judgments: inside the tolerance of every rater-level detector, and the
 * trigger scan reads prompts, not responses.
 *
 * Words. By default (`words: names`) only words written as names — capitalised, not at the
 * start of a sentence, two letters or more, not "I" — lowercased, with runs of up to `max_n`
 * names as one ("acme corp"); `words: all` scans every word and its n-grams (slower, and words
 * of style and quality then dominate, see below). A word is *one-sided* in a comparison when one
 * response has it and the other does not contain it at all; only words one-sided in at least
 * `min_support` comparisons are scanned.
 *
 * Per judgment j of rater w (label a or b) on comparison c with m ≥ 2 active judgments:
 *
 *   u_j = (chose a) − (the other raters' share for a; a tie counts half)
 *
 * For a word t one-sided in c, w's excess towards t's side is +u_j (t in a) or −u_j (t in b).
 * Honest raters lean systematically too — towards a (position), towards the longer response,
 * towards the others' side more or less than typical (skill) — and those leanings correlate
 * with words (long answers share their filler words). So per rater, u is regressed by least
 * squares on (1, ln(words_a/words_b) clipped to ±3, others' share for a − ½) over its
 * judgments of comparisons with a one-sided word, and the residual r_j is used instead: a promoter's pull towards a word is
 * independent of all three and stays. With σ²_w the rater's residual variance (floored):
 *
 *   D_wt = Σ_j ±r_j,  V_wt = n_wt σ²_w,  n_wt = #judgments of w where t was one-sided
 *
 * Under "w chooses like the others", D_wt has mean 0 and variance ≈ V_wt. Taking the leanings
 * out can leave all raters a small common excess on a word that marks quality (the regression
 * on the others' share carries their noise), so excesses are measured from the common one:
 * D'_wt = D_wt − n_wt · median_w(D_wt/n_wt) (a median, so that promoters do not move it).
 *
 * A word t is reported when the raters' standardised excesses are over-dispersed — a few raters
 * lean to it far more than the others while the rest do not:
 *
 *   Q_t = Σ_w D'_wt²/V_wt  (raters with n_wt ≥ 3; ≈ χ² with K_t − 1 degrees of freedom under
 *                            the null)
 *   z_t = (Q_t − df_t)/√(2 df_t),  score_t = −log10(P(Z > z_t) · #words tested)
 *
 * at score ≥ `min_score`. Words that mark an answer's quality can be over-dispersed too, by
 * honest raters' knowledge (a wrong answer's "Oceania" in a million judgments), which is why a
 * reported word alone changes no weight: raters are scored against a tolerance.
 *
 * Rater signal, over the reported words, for n_wt ≥ 5: the excess share δ_wt = D'_wt/n_wt with
 * standard error s = √max(V_wt, 0.15 n_wt)/n_wt, shrunk towards 0 by a N(0, 0.15²) prior (as
 * the agreement detector does):
 *
 *   δ | data ~ N(μ, σ²),  σ² = 1/(1/0.15² + 1/s²),  μ = σ² δ_wt / s²
 *   score_w = max_t P(δ > tolerance)          (default tolerance 0.25: chooses the word's side in
 *                                              a quarter of its opportunities more than the others
 *                                              would; a promoter who always does is near ½)
 *
 * The promotions themselves — judgments that chose the side of a reported name whose rater
 * scores ≥ ½ on it — are marked (`promoted`), and the weights discount them
 * (`weights.promoted_choice`), whatever the rater's overall verdict.
 */
import type { AuditConfig } from "./config.js";
import { type AuditData, LABEL_A, LABEL_TIE } from "./data.js";
import {
  emptySignal,
  pct,
  type RaterSignal,
  type Stats,
  shrunkExceedance,
} from "./signals/signal.js";
import { median, minusLog10P } from "./stats.js";
import { distinctNgrams, isWordCharacter, namesIn, tokenize } from "./text.js";

/** Raters need this many opportunities on a word to count towards its dispersion. */
const MIN_RATER_N = 3;
/** … and this many for a rater score: a handful of judgments can lean anywhere by chance. */
const MIN_SCORED_N = 5;
/**
 * Floors of the per-judgment residual variance: for the word test (a rater's own estimate from
 * few judgments can be near 0), and a more cautious one for rater scores, where a low estimate
 * would turn a few lucky judgments into a verdict (an honest rater's is about 0.1–0.2).
 */
const VAR_FLOOR = 0.0625;
const SCORED_VAR_FLOOR = 0.15;

export interface PromotionPattern {
  readonly pattern: string;
  readonly score: number;
  /** Comparisons in which the word is one-sided. */
  readonly support: number;
  /** Raters whose excess on the word is probably above the tolerance (score ≥ ½). */
  readonly raters: number;
  /** Σ D'²/V over raters (excesses from the median rater's), and its degrees of freedom. */
  readonly dispersion: number;
  readonly df: number;
}

type PromotionConfig = AuditConfig["signals"]["promotion"];

export interface PromotionResult {
  readonly patterns: readonly PromotionPattern[];
  readonly signal: RaterSignal;
  /**
   * Per judgment: 1 when it chose the side of a reported name its rater leans to (that
   * rater's score on the name ≥ ½) — the promotions themselves, which the weights discount.
   */
  readonly promoted: Uint8Array;
}

/** One-sided words per comparison: word ids, +id+1 for a's side, −(id+1) for b's. */
interface Sides {
  readonly vocab: readonly string[];
  readonly support: Int32Array;
  /** Whether a word is scanned (enough support). */
  readonly scanned: Uint8Array;
  readonly offsets: Int32Array;
  readonly words: Int32Array;
}

/** The distinct word n-grams of a response (every word: `words: all`). */
function allGrams(text: string, maxN: number): Set<string> {
  return distinctNgrams(tokenize(text), maxN);
}

/**
 * The distinct names of a response, lowercased: runs of up to `maxN` names separated by single
 * spaces count as one ("Acme Corp").
 */
function nameGrams(text: string, maxN: number): Set<string> {
  const { names, starts, ends } = namesIn(text);
  const out = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    let g = names[i]!;
    out.add(g);
    for (let k = i + 1; k < names.length && k - i < maxN; k++) {
      if (!/^ +$/.test(text.slice(ends[k - 1]!, starts[k]!))) break;
      g = `${g} ${names[k]!}`;
      out.add(g);
    }
  }
  return out;
}

/** Whether `lower` (a lowercased text) contains `word` as whole words. */
function containsWord(lower: string, word: string): boolean {
  let i = lower.indexOf(word);
  while (i >= 0) {
    const before = i === 0 ? "" : lower[i - 1]!;
    const after = lower[i + word.length] ?? "";
    if (!isWordCharacter(before) && !isWordCharacter(after)) return true;
    i = lower.indexOf(word, i + 1);
  }
  return false;
}

function oneSidedWords(data: AuditData, cfg: PromotionConfig): Sides {
  const ids = new Map<string, number>();
  const vocab: string[] = [];
  const support: number[] = [];
  const offsets = new Int32Array(data.nComparisons + 1);
  let words = new Int32Array(1 << 16);
  let used = 0;
  const idOf = (g: string): number => {
    let id = ids.get(g);
    if (id === undefined) {
      id = vocab.length;
      ids.set(g, id);
      vocab.push(g);
      support.push(0);
    }
    return id;
  };
  const push = (x: number) => {
    if (used === words.length) {
      const grown = new Int32Array(words.length * 2);
      grown.set(words);
      words = grown;
    }
    words[used++] = x;
  };
  const side = (g: string, sign: number) => {
    const id = idOf(g);
    support[id]!++;
    push(sign * (id + 1));
  };
  const { a, b, invalid } = data.comparisons;
  const names = cfg.words === "names";
  for (let c = 0; c < data.nComparisons; c++) {
    offsets[c] = used;
    // Only comparisons where a judgment can be set against another one matter.
    if (invalid.has(c) || data.start[c + 1]! - data.start[c]! < 2) continue;
    if (names) {
      // A name is one-sided when the other response does not contain it at all, in any case.
      const na = nameGrams(a[c]!, cfg.max_n);
      const nb = nameGrams(b[c]!, cfg.max_n);
      if (na.size === 0 && nb.size === 0) continue;
      const la = a[c]!.toLowerCase();
      const lb = b[c]!.toLowerCase();
      for (const g of na) if (!containsWord(lb, g)) side(g, 1);
      for (const g of nb) if (!containsWord(la, g)) side(g, -1);
    } else {
      const ga = allGrams(a[c]!, cfg.max_n);
      const gb = allGrams(b[c]!, cfg.max_n);
      for (const g of ga) if (!gb.has(g)) side(g, 1);
      for (const g of gb) if (!ga.has(g)) side(g, -1);
    }
  }
  offsets[data.nComparisons] = used;
  const scanned = new Uint8Array(vocab.length);
  for (let t = 0; t < vocab.length; t++) scanned[t] = support[t]! >= cfg.min_support ? 1 : 0;
  return {
    vocab,
    support: Int32Array.from(support),
    scanned,
    offsets,
    words: words.subarray(0, used),
  };
}

/** Per (rater, word) sums D, V, n, in growable columns addressed through a map. */
class Cells {
  private readonly index = new Map<number, number>();
  rater = new Int32Array(1024);
  word = new Int32Array(1024);
  d = new Float64Array(1024);
  v = new Float64Array(1024);
  n = new Float64Array(1024);
  size = 0;
  constructor(private readonly nWords: number) {}
  add(w: number, t: number, d: number): void {
    const key = w * this.nWords + t;
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.size++;
      if (i === this.rater.length) this.grow();
      this.index.set(key, i);
      this.rater[i] = w;
      this.word[i] = t;
    }
    this.d[i]! += d;
    this.n[i]! += 1;
  }
  private grow(): void {
    const cap = this.rater.length * 2;
    const g = <T extends Int32Array | Float64Array>(x: T, make: (n: number) => T): T => {
      const y = make(cap);
      y.set(x);
      return y;
    };
    this.rater = g(this.rater, (n) => new Int32Array(n));
    this.word = g(this.word, (n) => new Int32Array(n));
    this.d = g(this.d, (n) => new Float64Array(n));
    this.v = g(this.v, (n) => new Float64Array(n));
    this.n = g(this.n, (n) => new Float64Array(n));
  }
}

/** Solves the 3×3 system A x = b (row-major A, ridge-stabilised); zeros if singular. */
function solve3(A: Float64Array, b: Float64Array, o: number): [number, number, number] {
  // The ridge goes on the slopes' diagonal, not the intercept's.
  const m = [0, 1, 2].map((r) => [
    A[o * 9 + r * 3]!,
    A[o * 9 + r * 3 + 1]! + (r === 1 ? 1e-6 : 0),
    A[o * 9 + r * 3 + 2]! + (r === 2 ? 1e-6 : 0),
    b[o * 3 + r]!,
  ]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (Math.abs(m[p]![c]!) < 1e-12) return [0, 0, 0];
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < 4; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!];
}

/**
 * Every word's x − e in a judgment is ±u, u = (chose a) − (the others' share for a): the words
 * only decide the sign. What a rater's u owes to its general leanings — towards a (position or
 * habit), towards the longer response (length preference), towards the others' side (skill) —
 * is fitted per rater by least squares on (1, ln(words_a/words_b), others' share for a − ½)
 * over the comparisons that have a one-sided word, and taken out, so that an honest rater who
 * likes long answers does not seem to promote the words long answers contain. A promoter's pull
 * towards a word is independent of all three, so it stays.
 */
function accumulate(data: AuditData, sides: Sides): Cells {
  const cells = new Cells(sides.vocab.length);
  const { start, order, countA, countTie } = data;
  const { wordsA, wordsB } = data.comparisons;
  const W = data.nRaters;
  const zz = new Float64Array(W * 9);
  const zu = new Float64Array(W * 3);
  // Pass 1: per rater, the normal equations of u on its covariates. (Fitting them on all of a
  // rater's judgments instead found entity promoters a little more often in bench:defend but
  // flagged one more honest rater elsewhere, so the fit stays where the words are.)
  const each = (fn: (c: number, j: number, u: number, z1: number, z2: number) => void) => {
    for (let c = 0; c < data.nComparisons; c++) {
      if (sides.offsets[c] === sides.offsets[c + 1]) continue;
      const m = start[c + 1]! - start[c]!;
      if (m < 2) continue;
      const tA = countA[c]! + 0.5 * countTie[c]!;
      const len = Math.max(
        -3,
        Math.min(3, Math.log(Math.max(1, wordsA[c]!) / Math.max(1, wordsB[c]!))),
      );
      for (let q = start[c]!; q < start[c + 1]!; q++) {
        const j = order[q]!;
        const l = data.label[j]!;
        if (l === LABEL_TIE) continue;
        const self = l === LABEL_A ? 1 : 0;
        const othersA = (tA - self) / (m - 1);
        fn(c, j, self - othersA, len, othersA - 0.5);
      }
    }
  };
  each((_c, j, u, z1, z2) => {
    const w = data.rater[j]!;
    const z = [1, z1, z2];
    for (let r = 0; r < 3; r++) {
      zu[w * 3 + r]! += z[r]! * u;
      for (let k = 0; k < 3; k++) zz[w * 9 + r * 3 + k]! += z[r]! * z[k]!;
    }
  });
  const beta = new Float64Array(W * 3);
  for (let w = 0; w < W; w++) {
    // Too few judgments to fit three leanings: take none out.
    if (zz[w * 9]! < 10) continue;
    const [b0, b1, b2] = solve3(zz, zu, w);
    beta[w * 3] = b0;
    beta[w * 3 + 1] = b1;
    beta[w * 3 + 2] = b2;
  }
  // Pass 2: each word's residual excess, signed by the word's side; each rater's residual
  // variance, which is the variance of every one of its signed residuals under the null.
  const sq = new Float64Array(W);
  const cnt = new Float64Array(W);
  each((c, j, u, z1, z2) => {
    const w = data.rater[j]!;
    const res = u - beta[w * 3]! - beta[w * 3 + 1]! * z1 - beta[w * 3 + 2]! * z2;
    sq[w]! += res * res;
    cnt[w]! += 1;
    for (let k = sides.offsets[c]!; k < sides.offsets[c + 1]!; k++) {
      const s = sides.words[k]!;
      const t = Math.abs(s) - 1;
      if (sides.scanned[t] === 0) continue;
      cells.add(w, t, s > 0 ? res : -res);
    }
  });
  for (let i = 0; i < cells.size; i++) {
    const w = cells.rater[i]!;
    cells.v[i] = cells.n[i]! * Math.max(VAR_FLOOR, sq[w]! / Math.max(1, cnt[w]!));
  }
  return cells;
}

function raterScore(d: number, v: number, n: number, tolerance: number): number {
  if (n === 0 || v <= 0) return 0;
  return shrunkExceedance(d / n, v / (n * n), tolerance);
}

export function scanPromotions(data: AuditData, config: AuditConfig): PromotionResult {
  const cfg = config.signals.promotion;
  const none: PromotionResult = {
    patterns: [],
    signal: emptySignal("promotion", data.nRaters),
    promoted: new Uint8Array(data.nJudgments),
  };
  if (!cfg.enabled) return none;
  const sides = oneSidedWords(data, cfg);
  const cells = accumulate(data, sides);
  const T = sides.vocab.length;
  // The raters' common excess on a word (what taking out each rater's leanings leaves behind
  // on words that mark quality) is no one rater's lean: excesses are measured from it.
  const shares: number[][] = Array.from({ length: T }, () => []);
  for (let i = 0; i < cells.size; i++)
    if (cells.n[i]! >= MIN_RATER_N) shares[cells.word[i]!]!.push(cells.d[i]! / cells.n[i]!);
  const commons = new Float64Array(T);
  for (let t = 0; t < T; t++) if (shares[t]!.length > 0) commons[t] = median(shares[t]!);
  const excess = (i: number) => cells.d[i]! - cells.n[i]! * commons[cells.word[i]!]!;
  const q = new Float64Array(T);
  const df = new Float64Array(T);
  for (let i = 0; i < cells.size; i++) {
    if (cells.n[i]! < MIN_RATER_N || cells.v[i]! <= 0) continue;
    const t = cells.word[i]!;
    const d = excess(i);
    q[t]! += (d * d) / cells.v[i]!;
    df[t]! += 1;
  }
  // One degree of freedom went into the common excess (about; it is a median).
  for (let t = 0; t < T; t++) if (df[t]! > 0) df[t]! -= 1;
  let tested = 0;
  for (let t = 0; t < T; t++) if (df[t]! > 0 && sides.scanned[t] === 1) tested++;
  const log10Tests = Math.log10(Math.max(1, tested));
  const found: { t: number; score: number }[] = [];
  for (let t = 0; t < T; t++) {
    if (df[t]! === 0 || sides.scanned[t] === 0) continue;
    const z = (q[t]! - df[t]!) / Math.sqrt(2 * df[t]!);
    const score = Math.min(300, minusLog10P(z)) - log10Tests;
    if (score >= cfg.min_score) found.push({ t, score });
  }
  if (found.length === 0) return none;
  found.sort((x, y) => y.score - x.score || (sides.vocab[x.t]! < sides.vocab[y.t]! ? -1 : 1));
  // A run of words containing a word found on its own adds nothing ("globex corp" after "globex").
  const single = new Set(found.map((f) => sides.vocab[f.t]!).filter((g) => !g.includes(" ")));
  const kept = found
    .filter((f) => {
      const g = sides.vocab[f.t]!;
      return !g.includes(" ") || !g.split(" ").some((x) => single.has(x));
    })
    .slice(0, cfg.top);
  const keptSet = new Map(kept.map((f, i) => [f.t, i]));
  const W = data.nRaters;
  const score = new Float64Array(W);
  /** Per rater, the cell of its best-scoring reported word, or −1. */
  const bestCell = new Int32Array(W).fill(-1);
  const ratersOver = new Int32Array(kept.length);
  /** Cells (rater, reported word) whose rater leans to the word: keys w · T + t. */
  const leaning = new Set<number>();
  for (let i = 0; i < cells.size; i++) {
    const k = keptSet.get(cells.word[i]!);
    if (k === undefined) continue;
    const w = cells.rater[i]!;
    const n = cells.n[i]!;
    if (n < MIN_SCORED_N) continue;
    const d = excess(i);
    const s = raterScore(d, Math.max(cells.v[i]!, n * SCORED_VAR_FLOOR), n, cfg.tolerance);
    if (s >= 0.5) {
      ratersOver[k]!++;
      leaning.add(w * T + cells.word[i]!);
    }
    if (bestCell[w]! < 0 || s > score[w]!) {
      score[w] = s;
      bestCell[w] = i;
    }
  }
  // A word nobody leans to beyond the tolerance is reported only through raters' evidence.
  const patterns: PromotionPattern[] = [];
  const renumber = new Int32Array(kept.length).fill(-1);
  kept.forEach((f, k) => {
    if (ratersOver[k]! === 0) return;
    renumber[k] = patterns.length;
    patterns.push({
      pattern: sides.vocab[f.t]!,
      score: f.score,
      support: sides.support[f.t]!,
      raters: ratersOver[k]!,
      dispersion: q[f.t]!,
      df: df[f.t]!,
    });
  });
  const promoted = new Uint8Array(data.nJudgments);
  if (leaning.size > 0) {
    for (let c = 0; c < data.nComparisons; c++) {
      const w0 = sides.offsets[c]!;
      const w1 = sides.offsets[c + 1]!;
      if (w0 === w1) continue;
      for (let q = data.start[c]!; q < data.start[c + 1]!; q++) {
        const j = data.order[q]!;
        const l = data.label[j]!;
        if (l === LABEL_TIE) continue;
        const w = data.rater[j]!;
        for (let k = w0; k < w1; k++) {
          const side = sides.words[k]!;
          // The word is on the chosen side: a's words are positive, b's negative.
          if (side > 0 !== (l === LABEL_A)) continue;
          if (leaning.has(w * T + Math.abs(side) - 1)) {
            promoted[j] = 1;
            break;
          }
        }
      }
    }
  }
  // Evidence names its word by its place in the audit's `promotions` (−1: not reported).
  const stats: (Stats | undefined)[] = Array.from(bestCell, (i) =>
    i < 0
      ? undefined
      : {
          promotion_judgments: cells.n[i]!,
          promotion_excess: excess(i) / cells.n[i]!,
          promotion_word: renumber[keptSet.get(cells.word[i]!)!]!,
        },
  );
  return {
    patterns,
    promoted,
    signal: {
      key: "promotion",
      score,
      stats,
      reason: (w) => {
        const s = stats[w]!;
        const word = sides.vocab[cells.word[bestCell[w]!]!]!;
        // Quoted as JSON: with `words: all` a word is any bracketed run of a response's text,
        // control characters included, and the reason is printed to terminals.
        return `chose the response containing ${JSON.stringify(word)} ${pct(s.promotion_excess!)} more often than the other raters of the same comparisons (${s.promotion_judgments} judgments)`;
      },
    },
  };
}
