/**
 * Trains a byte-level BPE vocabulary (Sennrich et al., ACL 2016): count pre-token frequencies
 * over the corpus, then repeatedly add the most frequent adjacent pair of symbols as a new
 * token, until the vocabulary reaches `vocabSize` (bytes + merges + special tokens) or no pair
 * occurs `minFrequency` times. Ties go to the pair whose token ids are smallest, so training
 * is deterministic. Pair counts are kept incrementally with a lazy max-heap, so each merge
 * touches only the words that contain the merged pair.
 *
 * Example: corpus ["low low lower"] → the first merges are "l o", "lo w", then "Ġ l" …
 */
import { KeelError } from "../../core/errors.js";
import { AddedTokens } from "./added.js";
import { BpeTokenizer, byteVocab, preTokenPieces } from "./bpe.js";
import { BYTE_TO_CHAR, preTokenize } from "./bytelevel.js";

export interface BpeTrainOptions {
  /** Total vocabulary: 256 bytes + merges + special tokens. */
  readonly vocabSize: number;
  readonly minFrequency?: number;
  readonly specialTokens?: readonly string[];
}

interface Word {
  symbols: number[];
  readonly count: number;
}

class PairHeap {
  private readonly items: [number, number, number][] = []; // [count, a, b]
  private better(x: [number, number, number], y: [number, number, number]): boolean {
    return x[0] !== y[0] ? x[0] > y[0] : x[1] !== y[1] ? x[1] < y[1] : x[2] < y[2];
  }
  push(it: [number, number, number]): void {
    const h = this.items;
    h.push(it);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): [number, number, number] | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.better(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.better(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const KEY_BASE = 0x100000;
const key = (a: number, b: number) => a * KEY_BASE + b;

/** The options' refusals; returns the number of merges the vocabulary leaves room for. */
function checkTrainOptions(o: BpeTrainOptions, special: readonly string[]): number {
  if (!Number.isSafeInteger(o.vocabSize)) {
    throw new KeelError("KEEL_E_CONFIG", `vocabSize ${o.vocabSize} is not an integer`);
  }
  // A pair's key packs two ids in 20 bits each (`key`); larger ids would collide.
  if (o.vocabSize > KEY_BASE) {
    throw new KeelError("KEEL_E_CONFIG", `vocabSize ${o.vocabSize} is above ${KEY_BASE}`);
  }
  // NaN compared false with every count, so it trained as 1; a fraction has no meaning.
  if (
    o.minFrequency !== undefined &&
    !(Number.isSafeInteger(o.minFrequency) && o.minFrequency >= 0)
  )
    throw new KeelError(
      "KEEL_E_CONFIG",
      `minFrequency ${o.minFrequency} is not a non-negative integer (a pair's count to merge it)`,
    );
  const maxMerges = o.vocabSize - 256 - special.length;
  if (maxMerges < 0) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `vocabSize ${o.vocabSize} is below 256 bytes + ${special.length} special tokens`,
    );
  }
  // An empty special token matched between every two characters of the text at encode.
  special.forEach((t, i) => {
    if (!t || special.indexOf(t) !== i)
      throw new KeelError(
        "KEEL_E_CONFIG",
        `special token ${JSON.stringify(t)} is ${t ? "given twice" : "empty"}; special tokens must be distinct, non-empty strings`,
      );
  });
  return maxMerges;
}

/**
 * How often each piece occurs, counted in the pieces the encoder merges (see MAX_PRETOKEN): a
 * merge across two pieces would never be applied, and a whole 200 KB line of letters as one
 * word made every merge rescan it (90 s, against 11 s for the same text in pieces). Special
 * tokens are cut out of the text first, as the encoder cuts them (and as `tokenizers` trains):
 * counted as text, "<|eos|>" taught merges such as "> <" the encoder never applies.
 */
function countPieces(corpus: Iterable<string>, special: readonly string[]): Map<string, number> {
  const added = new AddedTokens(special.map((content, id) => ({ id, content })));
  const counts = new Map<string, number>();
  for (const text of corpus)
    for (const part of added.split(text)) {
      if (typeof part === "number") continue;
      for (const w of preTokenize(part))
        for (const piece of preTokenPieces(w)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  return counts;
}

export function trainBpe(corpus: Iterable<string>, o: BpeTrainOptions): BpeTokenizer {
  const special = o.specialTokens ?? [];
  const maxMerges = checkTrainOptions(o, special);
  const counts = countPieces(corpus, special);
  const tokens: string[] = [...BYTE_TO_CHAR];
  const charId = byteVocab();
  const words: Word[] = [...counts].map(([w, count]) => ({
    symbols: Array.from(w, (c) => charId.get(c)!),
    count,
  }));

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const { symbols, count } = words[wi]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const k = key(symbols[i]!, symbols[i + 1]!);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * count);
      if (sign > 0) {
        const s = pairWords.get(k);
        if (s) s.add(wi);
        else pairWords.set(k, new Set([wi]));
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push([c, Math.floor(k / KEY_BASE), k % KEY_BASE]);

  const merges: [string, string][] = [];
  const minFreq = o.minFrequency ?? 2;
  while (merges.length < maxMerges) {
    const top = heap.pop();
    if (!top) break;
    const [c, a, b] = top;
    const k = key(a, b);
    if (pairCount.get(k) !== c) continue; // stale entry
    if (c < minFreq) break;
    const merged = tokens[a]! + tokens[b]!;
    let id = charId.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      charId.set(merged, id);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    const touched = new Set<number>();
    for (const wi of pairWords.get(k) ?? []) {
      const w = words[wi]!;
      for (let i = 0; i + 1 < w.symbols.length; i++)
        touched.add(key(w.symbols[i]!, w.symbols[i + 1]!));
      addPairs(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(id);
          i++;
        } else out.push(w.symbols[i]!);
      }
      w.symbols = out;
      addPairs(wi, 1);
      for (let i = 0; i + 1 < out.length; i++) touched.add(key(out[i]!, out[i + 1]!));
    }
    pairWords.delete(k);
    pairCount.delete(k);
    touched.delete(k);
    for (const t of touched) {
      const n = pairCount.get(t) ?? 0;
      if (n > 0) heap.push([n, Math.floor(t / KEY_BASE), t % KEY_BASE]);
    }
  }
  const vocab = new Map(tokens.map((t, i) => [t, i]));
  return new BpeTokenizer({
    vocab,
    merges,
    special: special.map((content, i) => ({ id: tokens.length + i, content })),
  });
}
