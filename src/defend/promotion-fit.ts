/**
 * The promotion scan's sums (promotion.ts): per rater, its general leanings — towards a, towards
 * the longer response, towards the others' side — fitted by least squares and taken out; per
 * (rater, word), the signed residual excess D, its variance V and count n.
 */
import { type AuditData, LABEL_A, LABEL_TIE } from "./data.js";
import type { Sides } from "./promotion-words.js";

/**
 * The floor of a rater's per-judgment residual variance in the word test: its own estimate from
 * few judgments can be near 0 (rater scores use a more cautious floor, promotion.ts).
 */
const VAR_FLOOR = 0.0625;

/** Per (rater, word) sums D, V, n, in growable columns addressed through a map. */
export class Cells {
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
export function accumulate(data: AuditData, sides: Sides): Cells {
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
