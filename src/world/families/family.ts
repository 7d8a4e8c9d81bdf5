/**
 * The contract of a prompt family: draw a prompt from templates, read a prompt's text back into
 * its slots, and write the family's answers (concise or verbose, correct or wrong). Refusals are
 * written by the response generator for every family alike.
 */
import type { Rng } from "../../core/rng.js";
import { compileTemplate, type Template } from "../template.js";
import type { Answer, Family, ResponseKind } from "../types.js";

/** A prompt before it has an id and a split. */
export interface PromptSpec {
  readonly family: Family;
  readonly category: string;
  readonly template: string;
  readonly content: string;
  readonly slots: Readonly<Record<string, string | number>>;
  readonly answer: Answer;
}

export interface FamilyDef {
  readonly family: Family;
  readonly categories: readonly string[];
  readonly templates: readonly Template[];
  /** Draws one prompt (category uniformly, then template, then slot values). */
  sample(rng: Rng): PromptSpec;
  /** Reads a prompt's text back into its spec, or undefined when no template matches. */
  recognize(text: string): PromptSpec | undefined;
  /** Writes a response of `kind`; `refusal` is not asked of families. */
  respond(spec: PromptSpec, kind: ResponseKind, rng: Rng): string;
}

type Groups = Readonly<Record<string, string>>;

/**
 * Builds a recognizer over templates: the first template whose regex matches wins, and `build`
 * turns its named groups into a spec (or rejects them with undefined).
 */
export function makeRecognizer(
  templates: readonly Template[],
  patterns: Readonly<Record<string, string>>,
  build: (template: Template, groups: Groups) => PromptSpec | undefined,
): (text: string) => PromptSpec | undefined {
  let compiled: { template: Template; re: RegExp }[] | undefined;
  return (text) => {
    compiled ??= templates.map((template) => ({
      template,
      re: compileTemplate(template.text, patterns),
    }));
    for (const { template, re } of compiled) {
      const m = re.exec(text);
      if (m?.groups) {
        const spec = build(template, m.groups);
        if (spec) return spec;
      }
    }
    return undefined;
  };
}

/** Picks a template of `category` uniformly. */
export function pickTemplate(rng: Rng, templates: readonly Template[], category: string): Template {
  return rng.pick(templates.filter((t) => t.category === category));
}

const OPENERS = [
  "Great question!",
  "Happy to help with this.",
  "Let me explain this carefully.",
  "Good question, let me take you through it.",
  "Thanks for asking.",
];

const CLOSERS = [
  "I hope this helps! Let me know if you have any other questions.",
  "Feel free to ask again if anything here is unclear.",
  "Good luck, and have a wonderful day!",
  "Let me know if you would like me to explain any part in more detail.",
];

/** Pads a body into a verbose response: an opener, the body sentences, a closer. */
export function verbose(rng: Rng, body: readonly string[]): string {
  return [rng.pick(OPENERS), ...body, rng.pick(CLOSERS)].join(" ");
}
