/**
 * Safe HTML building. Every report shows untrusted text — rater ids, prompts, responses, reasons
 * built from them — so interpolation escapes by default: `html` is a tagged template whose
 * values are escaped unless they are already `SafeHtml` (the output of `html` itself, or of
 * `trusted` for markup produced by code we control, such as a chart's SVG).
 *
 *   html`<td>${raterId}</td>`            raterId escaped
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`   arrays of SafeHtml joined
 *
 * Escaping also writes the characters that reorder or hide text as visible `\u202e` escapes, as
 * the CLI does on a terminal and the web app does on screen (web/src/Content.tsx, the same set):
 * left in, a U+202E in a trigger pattern or a file name turned the rest of its line around
 * ("judg\u202elmth.jsonl" read "judglnosj.html", a reason after it read backwards), and
 * zero-width and tag characters hid a trigger from the reader. Ordinary right-to-left text needs
 * none of them; the marks LRM and RLM and the joiners ZWJ and ZWNJ are left as they are.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** C0/C1 controls but tab, LF, CR; zero-width space; bidi embeddings, overrides, isolates;
 * word joiner and invisible operators; BOM; tag characters. */
const HIDDEN =
  /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u{e0000}-\u{e007f}]/gu;

/** Untrusted text with the characters that reorder or hide text as `\u` escapes (see header). */
export function visibleControls(text: string): string {
  return text.replace(HIDDEN, (c) => {
    const cp = c.codePointAt(0)!.toString(16);
    return cp.length > 4 ? `\\u{${cp}}` : `\\u${cp.padStart(4, "0")}`;
  });
}

/** Escapes text for an element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return visibleControls(text).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

export type HtmlValue =
  | SafeHtml
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}

/** The tagged template: literal parts kept, interpolated values escaped (see header). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Marks markup produced by our own code as safe. Never pass user data through this. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Formats a number for a table cell. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  return x.toFixed(digits);
}
