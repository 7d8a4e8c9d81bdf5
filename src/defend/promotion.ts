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
 * The rater's evidence names the word of that maximum; equal scores (names that always appear
 * together) go to the word reported first.
 *
 * The promotions themselves — judgments that chose the side of a reported name whose rater
 * scores ≥ ½ on it — are marked (`promoted`), and the weights discount them
 * (`weights.promoted_choice`), whatever the rater's overall verdict.
 */
import { compareText } from "../core/canonical.js";
import type { AuditConfig } from "./config.js";
import { type AuditData, LABEL_A, LABEL_TIE } from "./data.js";
import { accumulate, type Cells } from "./promotion-fit.js";
import { oneSidedWords, type Sides } from "./promotion-words.js";
import {
  emptySignal,
  pct,
  type RaterSignal,
  type Stats,
  shrunkExceedance,
} from "./signals/signal.js";
import { median, minusLog10P } from "./stats.js";

/** Raters need this many opportunities on a word to count towards its dispersion. */
const MIN_RATER_N = 3;
/** … and this many for a rater score: a handful of judgments can lean anywhere by chance. */
const MIN_SCORED_N = 5;
/**
 * The floor of the per-judgment residual variance for rater scores, more cautious than the word
 * test's (promotion-fit.ts): a low estimate would turn a few lucky judgments into a verdict (an
 * honest rater's is about 0.1–0.2).
 */
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

export interface PromotionResult {
  readonly patterns: readonly PromotionPattern[];
  readonly signal: RaterSignal;
  /**
   * Per judgment: 1 when it chose the side of a reported name its rater leans to (that
   * rater's score on the name ≥ ½) — the promotions themselves, which the weights discount.
   */
  readonly promoted: Uint8Array;
}

function raterScore(d: number, v: number, n: number, tolerance: number): number {
  if (n === 0 || v <= 0) return 0;
  return shrunkExceedance(d / n, v / (n * n), tolerance);
}

/** Per word: the raters' common excess, the dispersion Q_t of their excesses and its df. */
interface Dispersion {
  readonly commons: Float64Array;
  readonly q: Float64Array;
  readonly df: Float64Array;
}

function dispersion(cells: Cells, T: number): Dispersion {
  // The raters' common excess on a word (what taking out each rater's leanings leaves behind
  // on words that mark quality) is no one rater's lean: excesses are measured from it.
  const shares: number[][] = Array.from({ length: T }, () => []);
  for (let i = 0; i < cells.size; i++)
    if (cells.n[i]! >= MIN_RATER_N) shares[cells.word[i]!]!.push(cells.d[i]! / cells.n[i]!);
  const commons = new Float64Array(T);
  for (let t = 0; t < T; t++) if (shares[t]!.length > 0) commons[t] = median(shares[t]!);
  const q = new Float64Array(T);
  const df = new Float64Array(T);
  for (let i = 0; i < cells.size; i++) {
    if (cells.n[i]! < MIN_RATER_N || cells.v[i]! <= 0) continue;
    const t = cells.word[i]!;
    const d = cells.d[i]! - cells.n[i]! * commons[t]!;
    q[t]! += (d * d) / cells.v[i]!;
    df[t]! += 1;
  }
  // One degree of freedom went into the common excess (about; it is a median).
  for (let t = 0; t < T; t++) if (df[t]! > 0) df[t]! -= 1;
  return { commons, q, df };
}

/** A found word: its index in the vocabulary and its score. */
export interface FoundWord {
  readonly t: number;
  readonly score: number;
}

/**
 * The order words are reported in: best score first, then the word (code-unit order), then its
 * index. Total, so the report does not depend on the order the words were found in.
 */
export function bestWordsFirst(vocab: readonly string[]): (x: FoundWord, y: FoundWord) => number {
  return (x, y) => y.score - x.score || compareText(vocab[x.t]!, vocab[y.t]!) || x.t - y.t;
}

/** The over-dispersed words, best first, without runs that contain a word found on its own. */
function reportedWords(
  sides: Sides,
  { q, df }: Dispersion,
  cfg: AuditConfig["signals"]["promotion"],
): FoundWord[] {
  const T = sides.vocab.length;
  let tested = 0;
  for (let t = 0; t < T; t++) if (df[t]! > 0 && sides.scanned[t] === 1) tested++;
  const log10Tests = Math.log10(Math.max(1, tested));
  const found: FoundWord[] = [];
  for (let t = 0; t < T; t++) {
    if (df[t]! === 0 || sides.scanned[t] === 0) continue;
    const z = (q[t]! - df[t]!) / Math.sqrt(2 * df[t]!);
    const score = Math.min(300, minusLog10P(z)) - log10Tests;
    if (score >= cfg.min_score) found.push({ t, score });
  }
  found.sort(bestWordsFirst(sides.vocab));
  // A run of words containing a word found on its own adds nothing ("globex corp" after "globex").
  const single = new Set(found.map((f) => sides.vocab[f.t]!).filter((g) => !g.includes(" ")));
  return found
    .filter((f) => {
      const g = sides.vocab[f.t]!;
      return !g.includes(" ") || !g.split(" ").some((x) => single.has(x));
    })
    .slice(0, cfg.top);
}

/** Per rater, its best score over the reported words and that cell; per word, who leans to it. */
function raterLeanings(
  cells: Cells,
  keptSet: ReadonlyMap<number, number>,
  excess: (i: number) => number,
  W: number,
  T: number,
  tolerance: number,
) {
  const score = new Float64Array(W);
  /** Per rater, the cell of its best-scoring reported word, or −1. */
  const bestCell = new Int32Array(W).fill(-1);
  const ratersOver = new Int32Array(keptSet.size);
  /** Cells (rater, reported word) whose rater leans to the word: keys w · T + t. */
  const leaning = new Set<number>();
  for (let i = 0; i < cells.size; i++) {
    const k = keptSet.get(cells.word[i]!);
    if (k === undefined) continue;
    const w = cells.rater[i]!;
    const n = cells.n[i]!;
    if (n < MIN_SCORED_N) continue;
    const d = excess(i);
    const s = raterScore(d, Math.max(cells.v[i]!, n * SCORED_VAR_FLOOR), n, tolerance);
    if (s >= 0.5) {
      ratersOver[k]!++;
      leaning.add(w * T + cells.word[i]!);
    }
    // A tie (two names always mentioned together) goes to the word listed first, not to the
    // one whose cell the judgments' order happened to create first.
    const b = bestCell[w]!;
    if (b < 0 || s > score[w]! || (s === score[w]! && k < keptSet.get(cells.word[b]!)!)) {
      score[w] = s;
      bestCell[w] = i;
    }
  }
  return { score, bestCell, ratersOver, leaning };
}

/**
 * Judgments that chose the side of a word their rater leans to (`leaning` keys w · T + t).
 *
 * The leaned-to words are a few reported names, so each comparison's one-sided words are read
 * once for them, and only a comparison that has one looks at its judgments: O(one-sided words
 * + judgments × leaned-to words present). Checking every one-sided word for every judgment
 * cost judgments × words: with `words: all`, 10,000 comparisons of two 5,000-word responses
 * and 5 judgments each, ~10⁹ set look-ups.
 */
export function promotedJudgments(
  data: Pick<AuditData, "nJudgments" | "nComparisons" | "start" | "order" | "label" | "rater">,
  sides: Pick<Sides, "vocab" | "offsets" | "words">,
  leaning: ReadonlySet<number>,
): Uint8Array {
  const promoted = new Uint8Array(data.nJudgments);
  if (leaning.size === 0) return promoted;
  const T = sides.vocab.length;
  const leanedTo = new Uint8Array(T);
  for (const key of leaning) leanedTo[key % T] = 1;
  /** The leaned-to words one-sided in the current comparison, signed as in `sides.words`. */
  const present: number[] = [];
  for (let c = 0; c < data.nComparisons; c++) {
    present.length = 0;
    for (let k = sides.offsets[c]!; k < sides.offsets[c + 1]!; k++) {
      const side = sides.words[k]!;
      if (leanedTo[Math.abs(side) - 1] === 1) present.push(side);
    }
    if (present.length === 0) continue;
    for (let q = data.start[c]!; q < data.start[c + 1]!; q++) {
      const j = data.order[q]!;
      const l = data.label[j]!;
      if (l === LABEL_TIE) continue;
      const w = data.rater[j]!;
      for (const side of present) {
        // The word is on the chosen side: a's words are positive, b's negative.
        if (side > 0 !== (l === LABEL_A)) continue;
        if (leaning.has(w * T + Math.abs(side) - 1)) {
          promoted[j] = 1;
          break;
        }
      }
    }
  }
  return promoted;
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
  const disp = dispersion(cells, T);
  const { commons, q, df } = disp;
  const excess = (i: number) => cells.d[i]! - cells.n[i]! * commons[cells.word[i]!]!;
  const kept = reportedWords(sides, disp, cfg);
  if (kept.length === 0) return none;
  const keptSet = new Map(kept.map((f, i) => [f.t, i]));
  const { score, bestCell, ratersOver, leaning } = raterLeanings(
    cells,
    keptSet,
    excess,
    data.nRaters,
    T,
    cfg.tolerance,
  );
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
  const promoted = promotedJudgments(data, sides, leaning);
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
