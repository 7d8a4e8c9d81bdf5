/**
 * Counting words: maximal runs of characters that are not whitespace. One definition for the
 * world's oracle (its length penalty), the audit's word counts and the red-team's mean words.
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

/**
 * Number of words: maximal runs of characters that are not whitespace (`isSpaceCode`), so
 * `text.split(/\s+/).filter(Boolean).length` for any text.
 */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpaceCode(text.charCodeAt(i));
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}
