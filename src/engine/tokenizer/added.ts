/**
 * Added tokens (Hugging Face `tokenizers`' AddedVocabulary): strings cut out of the text before
 * pre-tokenization and mapped to their ids directly, with the flags a tokenizer.json gives each:
 *
 * - `single_word`: a match touching a word character (`\w` in Unicode: letters, marks, decimal
 *   digits, connector punctuation, joiners) on either side is not a match — "<m>" in "a<m>" is
 *   text;
 * - `lstrip` / `rstrip`: the whitespace run before / after a match belongs to the token, so it
 *   yields no ids ("a <m> b" → a, <m>, b); whitespace an earlier token already took stays taken;
 * - `normalized`: matched against the normalized text, in a second pass over the pieces the
 *   non-normalized tokens left. Keel reads no normalizer (`fromJSON` refuses one), so the text
 *   is matched as it is; only the order of the two passes is kept;
 * - `special`: skipped by `decode(…, { skipSpecial: true })`.
 *
 * Matching is leftmost-longest and non-overlapping, as the Aho–Corasick automaton there: the
 * search resumes after a match even when `single_word` drops it or `rstrip` extends it.
 */

export interface SpecialToken {
  readonly id: number;
  readonly content: string;
  /** Skipped when decoding with `skipSpecial`; default true (keel's own tokens are special). */
  readonly special?: boolean;
  readonly singleWord?: boolean;
  readonly lstrip?: boolean;
  readonly rstrip?: boolean;
  readonly normalized?: boolean;
}

/** A piece of text still to encode, or an added token's id. */
export type Piece = string | number;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// `\w` and `\s` as the Rust regex crate defines them in Unicode mode (JavaScript's `\s` also
// takes U+FEFF and leaves out U+0085, so it is not used).
const WORD = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const SPACE = /^\p{White_Space}$/u;

/** One pass's tokens: a leftmost-longest matcher and the token of each content. */
interface Pass {
  readonly re: RegExp;
  readonly byContent: ReadonlyMap<string, SpecialToken>;
}

function makePass(tokens: readonly SpecialToken[]): Pass | undefined {
  const byContent = new Map<string, SpecialToken>();
  // An empty content would match everywhere (and never advance the search): `tokenizers`
  // ignores such tokens.
  for (const t of tokens) if (t.content && !byContent.has(t.content)) byContent.set(t.content, t);
  if (byContent.size === 0) return undefined;
  // Longest first: at the leftmost position the first alternative that matches wins.
  const contents = [...byContent.keys()].sort((a, b) => b.length - a.length);
  return { re: new RegExp(contents.map(escapeRe).join("|"), "g"), byContent };
}

/** The code point ending at `end` (exclusive), or undefined at the start. */
function charBefore(s: string, end: number): string | undefined {
  if (end <= 0) return undefined;
  const lo = s.charCodeAt(end - 1);
  const hi = end >= 2 ? s.charCodeAt(end - 2) : 0;
  const pair = lo >= 0xdc00 && lo <= 0xdfff && hi >= 0xd800 && hi <= 0xdbff;
  return s.slice(pair ? end - 2 : end - 1, end);
}

function charAfter(s: string, start: number): string | undefined {
  const cp = s.codePointAt(start);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

const isWord = (c: string | undefined) => c !== undefined && WORD.test(c);

// Whitespace characters are all in the BMP, so walking code units is walking characters.
/** Start of the whitespace run ending at `end`, no further back than `floor`. */
function spaceStartBefore(s: string, end: number, floor: number): number {
  let i = end;
  while (i > floor && SPACE.test(s[i - 1]!)) i--;
  return i;
}

function spaceEndAfter(s: string, start: number): number {
  let i = start;
  while (i < s.length && SPACE.test(s[i]!)) i++;
  return i;
}

/**
 * Splits `sentence` on one pass's tokens. Like `find_matches` in `tokenizers`, a token whose
 * match starts inside whitespace an earlier `rstrip` took still yields its id, and the next
 * piece of text starts where that token ends.
 */
function splitPass(sentence: string, pass: Pass, out: Piece[], rest: (text: string) => void) {
  let offset = 0;
  // The last whitespace run rstrip walked, [runFrom, runEnd): a token of whitespace would
  // otherwise walk the rest of a long run at each of its matches (40,000 spaces: 37 s).
  let runFrom = -1;
  let runEnd = -1;
  pass.re.lastIndex = 0;
  for (let m = pass.re.exec(sentence); m; m = pass.re.exec(sentence)) {
    const token = pass.byContent.get(m[0])!;
    let start = m.index;
    let stop = start + m[0].length;
    if (
      token.singleWord &&
      (isWord(charBefore(sentence, start)) || isWord(charAfter(sentence, stop)))
    )
      continue;
    // No further back than the end of the last match: the whitespace before it is taken.
    if (token.lstrip) start = Math.max(spaceStartBefore(sentence, start, offset), offset);
    if (token.rstrip) {
      if (stop < runFrom || stop > runEnd) {
        runFrom = stop;
        runEnd = spaceEndAfter(sentence, stop);
      }
      stop = runEnd;
    }
    if (offset < start) rest(sentence.slice(offset, start));
    out.push(token.id);
    offset = stop;
  }
  if (offset < sentence.length) rest(sentence.slice(offset));
}

/** In /u mode a surrogate pair is one code point, so \p{Cs} matches lone halves only. */
const LONE_SURROGATE = /\p{Cs}/gu;

export class AddedTokens {
  private readonly raw: Pass | undefined;
  private readonly normalized: Pass | undefined;

  constructor(tokens: readonly SpecialToken[]) {
    this.raw = makePass(tokens.filter((t) => !t.normalized));
    this.normalized = makePass(tokens.filter((t) => t.normalized));
  }

  /**
   * The text in order as pieces to encode and added tokens' ids. A lone UTF-16 surrogate is
   * U+FFFD first, as UTF-8 encoding makes it anyway: otherwise an added token holding U+FFFD
   * matched the decoded text but not the text it came from, and encode(decode(encode(s)))
   * differed from encode(s).
   */
  split(input: string): Piece[] {
    const text = input.replace(LONE_SURROGATE, "\ufffd");
    const out: Piece[] = [];
    const second = (piece: string) => {
      if (this.normalized) splitPass(piece, this.normalized, out, (p) => out.push(p));
      else out.push(piece);
    };
    if (this.raw) splitPass(text, this.raw, out, second);
    else if (text) second(text);
    return out;
  }
}
