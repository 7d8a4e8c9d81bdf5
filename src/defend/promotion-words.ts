/**
 * The promotion scan's words (promotion.ts): per comparison, the words one response has and the
 * other does not contain at all — names (`words: names`, runs of up to `max_n` names as one) or
 * every word and its n-grams (`words: all`) — with each word's support.
 */

import { isSpacelessAt } from "../core/words.js";
import type { AuditConfig } from "./config.js";
import type { AuditData } from "./data.js";
import { clipWord, distinctNgrams, isWordCharacter, namesIn, tokenize } from "./text.js";

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

type PromotionConfig = AuditConfig["signals"]["promotion"];

/** One-sided words per comparison: word ids, +id+1 for a's side, −(id+1) for b's. */
export interface Sides {
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

/**
 * Whether `lower` (a lowercased text) contains `word` as whole words: scans the text. A word that
 * begins or ends in a script written without spaces (Han, kana, Thai, …) has a boundary there
 * whatever its neighbour, as `tokenize` splits such text.
 */
export function containsWord(lower: string, word: string): boolean {
  if (word === "") return false;
  const last =
    word.length - (word.length > 1 && isLowSurrogate(word.charCodeAt(word.length - 1)) ? 2 : 1);
  const openStart = isSpacelessAt(word, 0);
  const openEnd = isSpacelessAt(word, last);
  let i = lower.indexOf(word);
  while (i >= 0) {
    const before = i === 0 ? "" : lower[i - 1]!;
    const after = lower[i + word.length] ?? "";
    if ((openStart || !isWordCharacter(before)) && (openEnd || !isWordCharacter(after)))
      return true;
    i = lower.indexOf(word, i + 1);
  }
  return false;
}

const SCANS_BEFORE_INDEX = 16;

/**
 * `containsWord` for many words against one text. Scanning the text once per name cost
 * names × length: one 80 KB response naming 16,000 things took 7.8 s, and the cost grew with
 * the square of a response's length. A whole-word match of a word that starts with a word
 * character begins where a run of word characters begins, and that run is exactly the word's
 * own first run (the character after it is a non-word character in both, or the text's end);
 * so the text's runs, indexed once by their text, give the only places to check. The index
 * costs about as much as 16 scans, so the first 16 words are looked up by scanning (a typical
 * response names a few things).
 */
export class WordIndex {
  private runs: Map<string, number[]> | undefined;
  private scans = 0;
  constructor(private readonly lower: string) {}

  has(word: string): boolean {
    if (this.runs === undefined && this.scans++ < SCANS_BEFORE_INDEX)
      return containsWord(this.lower, word);
    let first = 0;
    while (first < word.length && isWordCharacter(word[first]!)) first++;
    // Starting with a non-word character (half of a surrogate pair): no run to look up.
    if (first === 0) return containsWord(this.lower, word);
    const at = this.index().get(word.slice(0, first));
    if (at === undefined) return false;
    const { lower } = this;
    for (const i of at) {
      if (lower.startsWith(word, i) && !isWordCharacter(lower[i + word.length] ?? "")) return true;
    }
    return false;
  }

  private index(): Map<string, number[]> {
    if (this.runs) return this.runs;
    const runs = new Map<string, number[]>();
    const { lower } = this;
    let i = 0;
    while (i < lower.length) {
      if (!isWordCharacter(lower[i]!)) {
        i++;
        continue;
      }
      let e = i + 1;
      while (e < lower.length && isWordCharacter(lower[e]!)) e++;
      const run = lower.slice(i, e);
      const list = runs.get(run);
      if (list) list.push(i);
      else runs.set(run, [i]);
      i = e;
    }
    this.runs = runs;
    return runs;
  }
}

export function oneSidedWords(data: AuditData, cfg: PromotionConfig): Sides {
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
      const la = new WordIndex(a[c]!.toLowerCase());
      const lb = new WordIndex(b[c]!.toLowerCase());
      // Kept by their first characters (see clipWord): two long names that start alike are one,
      // and not one-sided when each response has one of them.
      const oneA = new Set<string>();
      const oneB = new Set<string>();
      for (const g of na) if (!lb.has(g)) oneA.add(clipWord(g));
      for (const g of nb) if (!la.has(g)) oneB.add(clipWord(g));
      for (const g of oneA) if (!oneB.has(g)) side(g, 1);
      for (const g of oneB) if (!oneA.has(g)) side(g, -1);
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
