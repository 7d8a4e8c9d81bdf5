/**
 * Counting words. One definition for the world's oracle (its length penalty), the audit's word
 * counts (length, speed and promotion detectors) and the red-team's mean words.
 *
 * A word is a maximal run of characters that are not whitespace (JavaScript's `\s`), except
 * inside a run that holds characters of a script written without spaces between words:
 *
 * - Han, Hiragana, Katakana: each character is one word. This is how Chinese and Japanese
 *   lengths are counted (字数; word processors count each East Asian character as a word), and
 *   it keeps reading effort comparable: adults read about 255 Chinese and 357 Japanese
 *   characters a minute against 228 English words (IReST, Trauzettel-Klosinski & Dietz 2012,
 *   doi:10.1167/iovs.12-9727), which is what the speed detector's "time for this length" needs.
 * - Thai, Lao, Khmer, Myanmar: letters are not words (a Thai word is 2–4 letters plus vowel and
 *   tone marks), so each run of these scripts counts the word-like segments ICU's dictionary
 *   finds in it (`Intl.Segmenter`, root locale, so the machine's locale cannot change a count),
 *   at least one. This is the one count that can move with Node's ICU version.
 * - Combining marks, zero-width joiners and variation selectors belong to the character before
 *   them and count for nothing, so NFC and NFD forms of a text have the same count.
 * - The rest of such a run counts one word per maximal stretch that holds a letter or a digit
 *   ("GPT-4模型" is 3; the "，" and "。" of "你好，世界。" are no words).
 *
 * A run with no character of those seven scripts counts one word, exactly as before, so text in
 * scripts written with spaces (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Hangul, …)
 * and every text of the synthetic world count `text.split(/\s+/).filter(Boolean).length`; no
 * count is ever lower than that one. Without this rule a 300-character Chinese answer was one
 * word, and a length poisoner writing Chinese was invisible to the length checks.
 */

/**
 * Whether a UTF-16 code unit is whitespace as JavaScript's `\s` reads it: tab, line feed,
 * vertical tab, form feed, carriage return, space, no-break space, ogham space mark, the
 * U+2000–U+200A spaces, line and paragraph separators, narrow no-break space, medium
 * mathematical space, ideographic space and the byte-order mark (tested against `/\s/` on
 * every code unit).
 */
export function isSpaceCode(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Every character of the seven scripts lies at or above U+0E00 (Thai, the first of them). */
const FIRST_SCRIPT_CODE = 0x0e00;

/** Kinds of character inside a run that holds a script written without spaces. */
const SYMBOL = 0; // punctuation, symbols, emoji: no word by itself
const LETTER = 1; // a letter or digit of another script
const IDEOGRAPHIC = 2; // Han, Hiragana, Katakana: one word each
const SOUTHEAST = 3; // Thai, Lao, Khmer, Myanmar: words found by segmentation
const JOINING = 4; // combining mark, ZWJ, ZWNJ: part of the character before it

const MARK_RE = /\p{M}/u;
const IDEOGRAPHIC_RE = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]/u;
const SOUTHEAST_RE = /[\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;
const LETTER_RE = /[\p{L}\p{N}]/u;

function kindOf(ch: string): number {
  if (MARK_RE.test(ch) || ch === "\u200c" || ch === "\u200d") return JOINING;
  if (IDEOGRAPHIC_RE.test(ch)) return IDEOGRAPHIC;
  if (SOUTHEAST_RE.test(ch)) return SOUTHEAST;
  return LETTER_RE.test(ch) ? LETTER : SYMBOL;
}

/** Kinds of the Basic Multilingual Plane, built on first need (~25 ms, once). */
let bmpKinds: Uint8Array | undefined;

function kindsOfBmp(): Uint8Array {
  if (!bmpKinds) {
    bmpKinds = new Uint8Array(0x10000);
    for (let c = 0; c < 0x10000; c++) bmpKinds[c] = kindOf(String.fromCharCode(c));
  }
  return bmpKinds;
}

function kindOfCode(cp: number): number {
  return cp > 0xffff ? kindOf(String.fromCodePoint(cp)) : kindsOfBmp()[cp]!;
}

/**
 * Whether code unit `c` may belong to a script written without spaces: one of theirs, or a
 * surrogate (Han extensions and kana supplements lie beyond the BMP; so do emoji, which the
 * slow path then finds to be none of theirs). Curly quotes and dashes stay on the fast path.
 */
function maySpaceless(c: number): boolean {
  if (c < FIRST_SCRIPT_CODE) return false;
  if (c >= 0xd800 && c <= 0xdfff) return true;
  const kind = kindsOfBmp()[c]!;
  return kind === IDEOGRAPHIC || kind === SOUTHEAST;
}

let segmenter: Intl.Segmenter | undefined;

/** Word-like segments of a run of Thai, Lao, Khmer or Myanmar (with its marks), at least one. */
function segmentWords(run: string): number {
  segmenter ??= new Intl.Segmenter("und", { granularity: "word" });
  let n = 0;
  for (const s of segmenter.segment(run)) if (s.isWordLike) n++;
  return Math.max(1, n);
}

/** Words of the non-space run `text[start, end)` by the rules of the header. */
function runWords(text: string, start: number, end: number): number {
  let n = 0;
  let spaceless = false;
  let southeastStart = -1;
  let inOther = false;
  let otherCounted = false;
  for (let i = start; i < end; ) {
    const cp = text.codePointAt(i)!;
    const kind = kindOfCode(cp);
    if (kind !== JOINING) {
      if (southeastStart >= 0 && kind !== SOUTHEAST) {
        n += segmentWords(text.slice(southeastStart, i));
        southeastStart = -1;
      }
      if (kind === IDEOGRAPHIC || kind === SOUTHEAST) {
        spaceless = true;
        inOther = false;
        if (kind === IDEOGRAPHIC) n++;
        else if (southeastStart < 0) southeastStart = i;
      } else {
        if (!inOther) otherCounted = false;
        inOther = true;
        if (kind === LETTER && !otherCounted) {
          n++;
          otherCounted = true;
        }
      }
    }
    i += cp > 0xffff ? 2 : 1;
  }
  if (southeastStart >= 0) n += segmentWords(text.slice(southeastStart, end));
  return spaceless ? n : 1;
}

/**
 * Number of words (see the header): `text.split(/\s+/).filter(Boolean).length` for text with no
 * character of Han, Hiragana, Katakana, Thai, Lao, Khmer or Myanmar.
 */
export function countWords(text: string): number {
  let n = 0;
  let start = -1;
  let spaceless = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpaceCode(c)) {
      if (start >= 0) n += spaceless ? runWords(text, start, i) : 1;
      start = -1;
      spaceless = false;
    } else {
      if (start < 0) start = i;
      if (!spaceless && c >= FIRST_SCRIPT_CODE) spaceless = maySpaceless(c);
    }
  }
  if (start >= 0) n += spaceless ? runWords(text, start, text.length) : 1;
  return n;
}

/** Whether the character at `text[i]` (a code point) is of a script written without spaces. */
export function isSpacelessAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (!maySpaceless(c)) return false;
  const kind = kindOfCode(text.codePointAt(i)!);
  return kind === IDEOGRAPHIC || kind === SOUTHEAST;
}

/**
 * Appends to `out` the words of `token`, a run of letters, digits and marks with no space in
 * it, by the rules of the header: each Han or kana character (with its marks), each word-like
 * segment of a Thai, Lao, Khmer or Myanmar run, and each stretch of other characters that holds
 * a letter or digit. A token with none of those seven scripts is appended whole.
 */
export function pushWordsOf(token: string, out: string[]): void {
  let spaceless = false;
  for (let i = 0; i < token.length && !spaceless; i++)
    spaceless = maySpaceless(token.charCodeAt(i));
  if (!spaceless) {
    out.push(token);
    return;
  }
  let from = 0;
  let kind = -1;
  let hasLetter = false;
  const close = (to: number) => {
    if (kind === IDEOGRAPHIC) out.push(token.slice(from, to));
    else if (kind === SOUTHEAST) {
      segmenter ??= new Intl.Segmenter("und", { granularity: "word" });
      const before = out.length;
      for (const s of segmenter.segment(token.slice(from, to)))
        if (s.isWordLike) out.push(s.segment);
      if (out.length === before) out.push(token.slice(from, to));
    } else if (kind >= 0 && hasLetter) out.push(token.slice(from, to));
  };
  for (let i = 0; i < token.length; ) {
    const cp = token.codePointAt(i)!;
    const k = kindOfCode(cp);
    const group = k === LETTER ? SYMBOL : k;
    if (k !== JOINING && (group !== kind || group === IDEOGRAPHIC)) {
      close(i);
      from = i;
      kind = group;
      hasLetter = false;
    }
    if (k === LETTER) hasLetter = true;
    i += cp > 0xffff ? 2 : 1;
  }
  close(token.length);
}
