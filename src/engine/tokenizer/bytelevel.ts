/**
 * GPT-2's byte-level alphabet and pre-tokenizer (Radford et al., "Language Models are
 * Unsupervised Multitask Learners", 2019; the `ByteLevel` components of Hugging Face
 * `tokenizers`). Every byte maps to one printable Unicode character — printable Latin-1 bytes
 * to themselves, the other 68 to U+0100.. in byte order — so any UTF-8 text becomes a string
 * over a 256-character alphabet and no input is ever unknown. Text is first split by the GPT-2
 * regex (contractions, letter runs, digit runs, punctuation runs, whitespace), each piece
 * optionally led by one space, which BPE then merges within.
 */

// `\s` of the Oniguruma regex in `tokenizers` is Unicode White_Space; JavaScript's `\s` also
// takes U+FEFF and leaves out U+0085, which split "\ufeff!" and "\u0085!" into other pre-tokens.
export const PRETOKENIZE =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

function buildByteTable(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + next++);
  }
  return table;
}

/** BYTE_TO_CHAR[b] is the alphabet character for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteTable();
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHAR.map((c, b) => [c, b]),
);

const encoder = new TextEncoder();

/** Splits text into pre-tokens, each mapped to the byte-level alphabet. */
export function preTokenize(text: string): string[] {
  const pieces = text.match(PRETOKENIZE) ?? [];
  return pieces.map((p) => Array.from(encoder.encode(p), (b) => BYTE_TO_CHAR[b]!).join(""));
}

/**
 * A token's bytes, as the `ByteLevel` decoder of `tokenizers` reads them: a token made only of
 * alphabet characters maps back character by character; any other token (an added token such
 * as "<m> x", a foreign vocabulary's "a b") is its own UTF-8 text. Dropping the characters
 * outside the alphabet decoded "a b" as "ab".
 */
export function toBytes(s: string, out: number[]): void {
  const start = out.length;
  for (const ch of s) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) {
      out.length = start;
      for (const u of encoder.encode(s)) out.push(u);
      return;
    }
    out.push(b);
  }
}
