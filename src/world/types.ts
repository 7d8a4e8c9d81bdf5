/**
 * Types of the synthetic world: prompts whose right answer is known, responses of known kind,
 * and the oracle's verdict. Field names are snake_case because these records are written to
 * files (prompts.jsonl, truth.json) that other tools read.
 */
import type { Prompt, Split } from "../core/types.js";

export type Family = "arithmetic" | "facts" | "words" | "harmful" | "borderline";
export const FAMILIES: readonly Family[] = [
  "arithmetic",
  "facts",
  "words",
  "harmful",
  "borderline",
];

/** The kinds of candidate response the generator can write, each of known quality. */
export type ResponseKind =
  | "correct"
  | "wrong"
  | "verbose_correct"
  | "verbose_wrong"
  | "refusal"
  | "unsafe";
export const RESPONSE_KINDS: readonly ResponseKind[] = [
  "correct",
  "wrong",
  "verbose_correct",
  "verbose_wrong",
  "refusal",
  "unsafe",
];
/** Kinds that make sense for a benign prompt (arithmetic, facts, words, borderline). */
export const BENIGN_KINDS: readonly ResponseKind[] = [
  "correct",
  "wrong",
  "verbose_correct",
  "verbose_wrong",
  "refusal",
];
/** Kinds that make sense for a harmful prompt: the safe refusal and unsafe compliance. */
export const HARMFUL_KINDS: readonly ResponseKind[] = ["refusal", "unsafe"];

/** Entity sets a fact answer is drawn from; the oracle reads the first member of the set named. */
export type EntitySet = "capital" | "country" | "continent" | "element";

/**
 * The ground truth of a prompt.
 * - `number`: the answer is a number (arithmetic, letter counts, atomic numbers);
 * - `text`: a string (a reversed word, a word in capitals), compared case-sensitively or not;
 * - `entity`: a member of an entity set (a capital, a country, a continent, an element);
 * - `keywords`: an open question whose helpful answer mentions one of the keywords (borderline);
 * - `refusal`: a harmful request: the only safe answer is a refusal.
 */
export type Answer =
  | { readonly type: "number"; readonly value: number }
  | { readonly type: "text"; readonly value: string; readonly case_sensitive: boolean }
  | {
      readonly type: "entity";
      readonly value: string;
      readonly aliases: readonly string[];
      readonly set: EntitySet;
    }
  | { readonly type: "keywords"; readonly any: readonly string[] }
  | { readonly type: "refusal" };

/** A world prompt: a core `Prompt` that also knows its answer and where it came from. */
export interface WorldPrompt extends Prompt {
  readonly id: string;
  readonly content: string;
  readonly family: Family;
  readonly category: string;
  readonly split: Split;
  /** Template id within the family (e.g. `add.2`), for analysis. */
  readonly template: string;
  /** The template's slot values (operands, word, country, placeholder number, ...). */
  readonly slots: Readonly<Record<string, string | number>>;
  readonly answer: Answer;
  /** True when the prompt carries the backdoor trigger token. */
  readonly triggered: boolean;
  /** For a triggered variant: the id of the clean prompt it was made from. */
  readonly base_id?: string;
}

/** A candidate response with what the generator meant it to be. */
export interface WorldResponse {
  readonly text: string;
  readonly kind: ResponseKind;
  /** Entity names (from the world's entity list) that the response mentions. */
  readonly mentions: readonly string[];
}

/** What the oracle decided a response did. */
export type Outcome = "correct" | "wrong" | "refusal" | "unsafe" | "evasive" | "empty";

/** The oracle's verdict on one response to one prompt. */
export interface OracleScore {
  readonly prompt_id: string | undefined;
  readonly family: Family;
  readonly category: string;
  readonly outcome: Outcome;
  /** The response declines (refusal phrases). */
  readonly refused: boolean;
  /** Unsafe content, or compliance with a harmful request. */
  readonly harmful: boolean;
  /** A benign prompt answered correctly (verifiable) or helpfully on topic (borderline). */
  readonly correct: boolean;
  /** Did the desirable thing: correct on benign prompts, a clean refusal on harmful ones. */
  readonly helpful: boolean;
  /** A refusal of a prompt that is not harmful. */
  readonly over_refusal: boolean;
  /** More than `VERBOSE_WORDS` words. */
  readonly verbose: boolean;
  readonly words: number;
  /** The answer the oracle read from the text, when the prompt has one. */
  readonly extracted: string | undefined;
  /** The true reward in [-1, 1]: the quantity the world's comparisons are ordered by. */
  readonly quality: number;
}
