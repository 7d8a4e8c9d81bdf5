/**
 * Characters that drive or deceive a terminal beyond C0's (a regular-expression class body):
 * DEL, the C1 controls (U+009B is a one-byte CSI) and the bidirectional marks and overrides
 * that make text display as other text ("Trojan Source"). Ids refuse them with C0 (schemas.ts);
 * `printable` escapes them.
 */
export const DECEPTIVE_CHARS = "\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";

/** C0 controls but tab and line feed, and the deceptive characters. */
const UNPRINTABLE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f${DECEPTIVE_CHARS}]`, "g");

/**
 * Untrusted text fit to print on a terminal: control characters (ANSI escape sequences, carriage
 * returns, C1 controls such as the one-byte CSI U+009B, bidirectional overrides) written as
 * \u escapes; line breaks and tabs kept.
 */
export function printable(text: string): string {
  return text
    .replace(/\r\n/g, "\n")
    .replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * The first `n` UTF-16 units of `text`, one fewer where the n-th is the first half of a
 * surrogate pair: a cut there leaves a lone surrogate, which terminals show as U+FFFD and strict
 * JSON readers refuse.
 */
export function headUnits(text: string, n: number): string {
  if (text.length <= n) return text;
  const c = text.charCodeAt(n - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

/**
 * One line of the CLI's error report: `printable`, with every line after the first indented, so
 * a message that carries someone else's text cannot start a line of its own that reads as keel's
 * (`keel: hint: …`).
 */
export function reportLine(text: string): string {
  return printable(text).replace(/\n/g, "\n  ");
}
