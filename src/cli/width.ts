/**
 * How many terminal columns a text takes, for aligned tables: combining marks and format
 * characters take none, East Asian wide and fullwidth characters and emoji take two, the rest
 * one (a terminal's usual wcwidth; a text's control characters are escaped before it is shown).
 * An emoji sequence that a terminal draws as one picture (a ZWJ family, a skin tone, a flag, an
 * emoji-presentation selector) takes two columns as a whole, not two per emoji in it.
 */

const ZERO = /^[\p{Mn}\p{Me}\p{Cf}]$/u;
const EMOJI = /^\p{Extended_Pictographic}$/u;

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) || // Hangul Jamo initials
    (cp >= 0x2e80 && cp <= 0x303e) || // CJK radicals, punctuation
    (cp >= 0x3041 && cp <= 0x33ff) || // kana, CJK symbols
    (cp >= 0x3400 && cp <= 0x4dbf) || // CJK extension A
    (cp >= 0x4e00 && cp <= 0x9fff) || // CJK unified ideographs
    (cp >= 0xa000 && cp <= 0xa4cf) || // Yi
    (cp >= 0xac00 && cp <= 0xd7a3) || // Hangul syllables
    (cp >= 0xf900 && cp <= 0xfaff) || // CJK compatibility ideographs
    (cp >= 0xfe30 && cp <= 0xfe4f) || // CJK compatibility forms
    (cp >= 0xff00 && cp <= 0xff60) || // fullwidth forms
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) || // pictographs and emoji
    (cp >= 0x20000 && cp <= 0x3fffd) // CJK extensions B and on
  );
}

function charWidth(ch: string): number {
  if (ZERO.test(ch)) return 0;
  const cp = ch.codePointAt(0)!;
  return isWide(cp) || (cp >= 0x1f000 && EMOJI.test(ch)) ? 2 : 1;
}

/** What joins emoji into one picture: ZWJ, VS16, skin-tone modifiers, regional indicators. */
const JOINS_EMOJI = /[\u200d\ufe0f\u{1f3fb}-\u{1f3ff}\u{1f1e6}-\u{1f1ff}]/u;
const PICTURE = /[\p{Extended_Pictographic}\p{Regional_Indicator}]/u;
let graphemes: Intl.Segmenter | undefined;

/** A text's pieces, each one character or one emoji sequence, with their widths. */
function* pieces(text: string): Generator<[string, number]> {
  if (!JOINS_EMOJI.test(text)) {
    for (const ch of text) yield [ch, charWidth(ch)];
    return;
  }
  graphemes ??= new Intl.Segmenter("en", { granularity: "grapheme" });
  for (const { segment } of graphemes.segment(text)) {
    const first = segment.codePointAt(0)!;
    const single = segment.length === String.fromCodePoint(first).length;
    if (!single && PICTURE.test(segment)) {
      yield [segment, 2];
      continue;
    }
    for (const ch of segment) yield [ch, charWidth(ch)];
  }
}

export function displayWidth(text: string): number {
  // Printable ASCII, the common case, is one column a character.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let w = 0;
  for (const [, cw] of pieces(text)) w += cw;
  return w;
}

/** `text` padded with spaces to `width` columns, on the right (`end`) or the left. */
export function padTo(text: string, width: number, side: "start" | "end"): string {
  const pad = " ".repeat(Math.max(0, width - displayWidth(text)));
  return side === "end" ? text + pad : pad + text;
}

/** `text` cut to at most `max` columns, ending in "…" when cut. */
export function clipTo(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = "";
  let w = 0;
  for (const [piece, cw] of pieces(text)) {
    if (w + cw > max - 1) break;
    out += piece;
    w += cw;
  }
  return `${out}…`;
}
