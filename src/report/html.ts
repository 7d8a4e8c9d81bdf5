/**
 * Safe HTML building. Every report shows untrusted text — rater ids, prompts, responses, reasons
 * built from them — so interpolation escapes by default: `html` is a tagged template whose
 * values are escaped unless they are already `SafeHtml` (the output of `html` itself, or of
 * `trusted` for markup produced by code we control, such as a chart's SVG).
 *
 *   html`<td>${raterId}</td>`            raterId escaped
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`   arrays of SafeHtml joined
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

/** Escapes text for an element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
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
