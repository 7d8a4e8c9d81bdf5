/**
 * Prompt templates: text with `{slot}` holes. `render` fills them; `compileTemplate` turns a
 * template into a case-insensitive, unanchored regex with one named group per slot, so that a
 * prompt's text can be read back into its slots (the oracle can score a prompt given as text,
 * even when a jailbreak wrapper or a trigger token surrounds it).
 */
import { escapeRegExp } from "./text.js";

export interface Template {
  /** Unique within its family, e.g. `add.2`. */
  readonly id: string;
  readonly category: string;
  readonly text: string;
}

const SLOT_RE = /\{([a-z_]+)\}/g;

/** Fills `{slot}` holes and capitalises the first character. */
export function render(text: string, slots: Readonly<Record<string, string | number>>): string {
  const out = text.replace(SLOT_RE, (_, name: string) => {
    const v = slots[name];
    if (v === undefined) throw new RangeError(`template slot {${name}} has no value`);
    return String(v);
  });
  return out.charAt(0).toUpperCase() + out.slice(1);
}

/** The slot names of a template, in order of appearance. */
export function slotNames(text: string): string[] {
  return [...text.matchAll(SLOT_RE)].map((m) => m[1]!);
}

/**
 * A regex for a template. `patterns` gives each slot's regex source (without groups). Literal
 * whitespace matches any run of whitespace.
 */
export function compileTemplate(text: string, patterns: Readonly<Record<string, string>>): RegExp {
  let src = "";
  let last = 0;
  for (const m of text.matchAll(SLOT_RE)) {
    src += literal(text.slice(last, m.index));
    const name = m[1]!;
    const p = patterns[name];
    if (p === undefined) throw new RangeError(`template slot {${name}} has no pattern`);
    src += `(?<${name}>${p})`;
    last = m.index + m[0].length;
  }
  src += literal(text.slice(last));
  return new RegExp(src, "i");
}

function literal(s: string): string {
  return escapeRegExp(s).replace(/ +/g, "\\s+");
}

/** An alternation of literal choices, longest first so that "South Korea" beats "Korea". */
export function alternation(choices: readonly string[]): string {
  return [...choices]
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
    .map((c) => escapeRegExp(c).replace(/ +/g, "\\s+"))
    .join("|");
}
