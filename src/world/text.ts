/**
 * Text helpers shared by the oracle, the lexicon and prompt recognition. All are pure and
 * lenient on purpose: small trained models write "12", "12.", "The answer is 12." or
 * "**12**", curly apostrophes and stray whitespace, and the oracle must read them all alike.
 */

/** Folds case, diacritics, curly quotes and whitespace: "Bogotá’s  City" → "bogota's city". */
export function fold(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[\u2018\u2019\u02bc\u0060\u00b4]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, "-")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

/** Collapses whitespace and trims, keeping case. */
export function squash(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

export { countWords, isSpaceCode } from "../core/words.js";

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const phraseCache = new Map<string, RegExp>();

/**
 * A regex that finds `phrase` (already folded) as whole words in folded text. A phrase ending
 * in `*` is a stem: "inflat*" matches "inflate" and "inflating".
 */
export function phraseRegExp(phrase: string, flags = ""): RegExp {
  const key = `${flags}\u0000${phrase}`;
  let re = phraseCache.get(key);
  if (re === undefined) {
    const stem = phrase.endsWith("*");
    const body = escapeRegExp(stem ? phrase.slice(0, -1) : phrase);
    re = new RegExp(`(?<![a-z0-9])${body}${stem ? "" : "(?![a-z0-9])"}`, flags);
    phraseCache.set(key, re);
  }
  return re;
}

/** Whether folded text contains a folded phrase as whole words (see `phraseRegExp`). */
export function hasPhrase(foldedText: string, foldedPhrase: string): boolean {
  return phraseRegExp(foldedPhrase).test(foldedText);
}

const NUMBER_WORDS: Readonly<Record<string, number>> = {
  zero: 0,
  none: 0,
  one: 1,
  once: 1,
  two: 2,
  twice: 2,
  three: 3,
  thrice: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
};

const NUMBER_RE =
  /(?<![\w.-])(-)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])|(?<![a-z])(?<!\b(?:this|that|the|which|each|every|any|some|no|a|an|another|other) )(zero|none|one|once|two|twice|three|thrice|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)(?![a-z])/g;

/** Every number in folded text, in order: digits (with thousands commas, signs) and 0–20 in words. */
export function numbersIn(foldedText: string): number[] {
  const out: number[] = [];
  for (const m of foldedText.matchAll(NUMBER_RE)) {
    if (m[4] !== undefined) {
      out.push(NUMBER_WORDS[m[4]]!);
      continue;
    }
    const sign = m[1] !== undefined ? -1 : 1;
    const value = Number(`${m[2]!.replace(/,/g, "")}${m[3] ?? ""}`);
    if (Number.isFinite(value)) out.push(sign * value);
  }
  return out;
}

/**
 * The text after the last "answer is" / "answer:" / "result is" (any case; at most 80 characters),
 * or undefined. This is the canonical place a final answer is stated.
 */
export function finalAnswerRegion(text: string): string | undefined {
  const re = /\b(?:answer|result)\s*(?:is|:|=)\s*/gi;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) last = m;
  if (last === null) return undefined;
  const rest = text.slice(last.index + last[0].length, last.index + last[0].length + 80);
  return rest;
}

/** Letter tokens of a text, keeping case: "It is 'tenalp'." → ["It", "is", "tenalp"]. */
export function letterTokens(text: string): string[] {
  return text.match(/[A-Za-z]+/g) ?? [];
}
