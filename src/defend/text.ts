/**
 * Text helpers for the filters and the trigger scan: word counts, content hashes with and
 * without normalisation (for exact and near duplicates), and prompt tokens.
 *
 * Near-duplicate key: the text case-folded, with every run of characters that are not letters
 * or digits collapsed to one separator. Two texts with the same key differ only in case,
 * spacing and punctuation — copies that were lightly edited to look new.
 */

import { headUnits } from "../core/printable.js";
import { isSpacelessAt, pushWordsOf } from "../core/words.js";

export { countWords, isSpaceCode } from "../core/words.js";

/**
 * Two 32-bit hashes and a length as a 6-character key. One flat string per text: the audit
 * keeps a key per comparison while it clusters duplicates, and a key built from number strings
 * and separators cost ~600 bytes per comparison (150 MB at 250,000 comparisons).
 */
function packKey(h1: number, h2: number, len: number): string {
  return String.fromCharCode(
    h1 & 0xffff,
    h1 >>> 16,
    h2 & 0xffff,
    h2 >>> 16,
    len & 0xffff,
    (len >>> 16) & 0xffff,
  );
}

/** Two independent 32-bit hashes of a string, as a compact key (collisions ~2^-64). */
export function hashKey(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return packKey(h1, h2, s.length);
}

function isWordChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && c < 0x2000)
  );
}

/** The near-duplicate key of a text (see the header). */
export function normalizedKey(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b1;
  let len = 0;
  let sep = false;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (!isWordChar(c)) {
      sep = len > 0;
      continue;
    }
    if (sep) {
      h1 = Math.imul(h1 ^ 32, 0x01000193);
      h2 = Math.imul(h2 ^ 32, 0x5bd1e995);
      h2 ^= h2 >>> 15;
      len++;
      sep = false;
    }
    if (c >= 65 && c <= 90) c += 32;
    else if (c >= 0xc0 && c < 0x2000) c = s[i]!.toLowerCase().charCodeAt(0);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
    len++;
  }
  return packKey(h1, h2, len);
}

/**
 * A word: letters, digits and underscores, with the combining marks and zero-width (non-)joiners
 * that Devanagari, Thai, Arabic with harakat, Persian and any NFD text write inside words (without
 * them "नमस्ते" was the tokens "नमस" and "त", and NFD "café" was "cafe").
 */
const W = "[\\p{L}\\p{N}_][\\p{L}\\p{M}\\p{N}_\\u200c\\u200d]*";
const TOKEN_RE = new RegExp(`\\[[^\\]\\s]{1,40}\\]|${W}(?:['-]${W})*`, "gu");

/**
 * Lowercased word tokens of a prompt (bracketed placeholders such as `[hazard-7]` kept whole).
 * A token in a script written without spaces is split into that script's words as the word count
 * splits them (src/core/words.ts): each Han or kana character, Thai and its neighbours by
 * segments, so a trigger written into a Chinese prompt ("…的SUDO是什么") is a token of its own.
 */
export function tokenize(text: string): string[] {
  const m = text.toLowerCase().match(TOKEN_RE);
  if (m === null) return [];
  const out: string[] = [];
  for (const t of m) pushWordsOf(t, out);
  for (let i = 0; i < out.length; i++)
    if (out[i]!.length > MAX_WORD_CHARS) out[i] = clipWord(out[i]!);
  return out;
}

/**
 * The longest word (or name) the scans keep whole, in UTF-16 units. A longer one is kept as its
 * first MAX_WORD_CHARS units and "…" (which no token holds): a prompt's "word" of a million
 * letters was otherwise a tally key of its own, and, found as a trigger, quoted whole in the
 * reason of every comparison holding it (the audit JSON grew by a megabyte per comparison, past
 * what one string can hold) and in the report. Long words that start alike count as one word,
 * which is also how a reader would see them.
 */
export const MAX_WORD_CHARS = 64;

/** `w` cut to MAX_WORD_CHARS units and "…" when longer (not inside a surrogate pair). */
export function clipWord(w: string): string {
  return w.length <= MAX_WORD_CHARS ? w : `${headUnits(w, MAX_WORD_CHARS)}…`;
}

/** The distinct n-grams (n = 1..maxN, joined by a space) of a token list. */
export function distinctNgrams(tokens: readonly string[], maxN: number): Set<string> {
  const out = new Set<string>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      out.add(n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(" "));
    }
  }
  return out;
}

/** A capitalised word: an upper-case letter, then letters, digits, apostrophe or hyphen parts. */
const NAME_RE = /\p{Lu}[\p{L}\p{M}\p{N}_]*(?:['’-][\p{L}\p{N}_][\p{L}\p{M}\p{N}_]*)*/gu;
const WORD_CHAR = /[\p{L}\p{M}\p{N}_\u200c\u200d]/u;

/**
 * Whether `ch` (one character; "" for none) continues a word: a letter, digit, underscore, mark
 * or zero-width (non-)joiner — but not a character of a script written without spaces, where
 * every character (Han, kana) or segment (Thai, …) may end a word (see `tokenize`).
 */
export function isWordCharacter(ch: string): boolean {
  return ch !== "" && WORD_CHAR.test(ch) && !isSpacelessAt(ch, 0);
}
/** Capitalised mid-sentence for reasons other than being a name. */
const NOT_NAMES = new Set(["i", "i'm", "i've", "i'd", "i'll", "i’m", "i’ve", "i’d", "i’ll", "ok"]);

/**
 * The words of a text written as names: capitalised and not the first word of a sentence
 * ("… try Zentrix for …", not "Zentrix is …" at the start of one, where any word is capitalised),
 * lowercased, with their offsets. Single letters, "I" and its contractions are not names.
 */
export function namesIn(text: string): { names: string[]; starts: number[]; ends: number[] } {
  const names: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (const m of text.matchAll(NAME_RE)) {
    const at = m.index;
    // Inside a word ("McDonald"'s "Donald", "iPhone"'s "Phone"): not a word of its own.
    if (at > 0 && isWordCharacter(text[at - 1]!)) continue;
    let i = at - 1;
    while (i >= 0 && (text[i] === " " || text[i] === "\t")) i--;
    // Nothing before, or a sentence or line end, a colon or an opening quote or bracket (also
    // the full-width ones of Chinese and Japanese).
    if (i < 0 || ".!?:;\n\r\"'“‘([{-–—*#>。！？：；（「『【《".includes(text[i]!)) continue;
    // A name ends where a script written without spaces begins ("Zentrix的产品").
    let len = 0;
    while (len < m[0].length && !isSpacelessAt(m[0], len)) len++;
    const lower = m[0].slice(0, len).toLowerCase();
    // One letter ("the letters Q, U, A") is not a name.
    if (lower.length < 2 || NOT_NAMES.has(lower)) continue;
    names.push(lower);
    starts.push(at);
    ends.push(at + len);
  }
  return { names, starts, ends };
}
