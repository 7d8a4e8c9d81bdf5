/**
 * Word tasks over the shipped word list: reverse a word, write it in capitals, count its letters,
 * count one letter, count its vowels. Reversed words are compared case-insensitively, capitals
 * case-sensitively, counts as numbers. Example: "Reverse the word 'planet'." → tenalp; a wrong
 * answer swaps two neighbouring letters (tenlap).
 */
import type { Rng } from "../../core/rng.js";
import { WORDS } from "../data/words.js";
import type { Template } from "../template.js";
import type { ResponseKind } from "../types.js";
import {
  type FamilyDef,
  makeRecognizer,
  type PromptSpec,
  pickTemplate,
  verbose,
} from "./family.js";

const CATEGORIES = ["reverse", "uppercase", "length", "count_letter", "vowels"] as const;
type Category = (typeof CATEGORIES)[number];

const TEMPLATES: readonly Template[] = [
  { id: "reverse.0", category: "reverse", text: "Reverse the word '{word}'." },
  { id: "reverse.1", category: "reverse", text: "Spell '{word}' backwards." },
  { id: "reverse.2", category: "reverse", text: "Write the letters of '{word}' in reverse order." },
  { id: "reverse.3", category: "reverse", text: "What is '{word}' spelled backwards?" },
  { id: "uppercase.0", category: "uppercase", text: "Write '{word}' in capital letters." },
  { id: "uppercase.1", category: "uppercase", text: "Convert '{word}' to uppercase." },
  { id: "uppercase.2", category: "uppercase", text: "Write the word '{word}' in all caps." },
  { id: "length.0", category: "length", text: "How many letters are in the word '{word}'?" },
  { id: "length.1", category: "length", text: "How long is the word '{word}' in letters?" },
  { id: "length.2", category: "length", text: "Count the letters in '{word}'." },
  {
    id: "count_letter.0",
    category: "count_letter",
    text: "How many times does the letter '{letter}' appear in '{word}'?",
  },
  {
    id: "count_letter.1",
    category: "count_letter",
    text: "Count how many times '{letter}' occurs in the word '{word}'.",
  },
  { id: "count_letter.2", category: "count_letter", text: "How many '{letter}'s are in '{word}'?" },
  { id: "vowels.0", category: "vowels", text: "How many vowels are in the word '{word}'?" },
  { id: "vowels.1", category: "vowels", text: "Count the vowels in '{word}'." },
];

const VOWELS = new Set(["a", "e", "i", "o", "u"]);

export function reverseWord(w: string): string {
  return [...w].reverse().join("");
}

function countOf(word: string, letter: string): number {
  let n = 0;
  for (const ch of word) if (ch === letter) n++;
  return n;
}

function vowelCount(word: string): number {
  let n = 0;
  for (const ch of word) if (VOWELS.has(ch)) n++;
  return n;
}

function spec(t: Template, word: string, letter?: string): PromptSpec {
  const category = t.category as Category;
  const slots: Record<string, string> = letter === undefined ? { word } : { word, letter };
  let content = t.text.replace("{word}", word);
  if (letter !== undefined) content = content.replace("{letter}", letter);
  const answer =
    category === "reverse"
      ? { type: "text" as const, value: reverseWord(word), case_sensitive: false }
      : category === "uppercase"
        ? { type: "text" as const, value: word.toUpperCase(), case_sensitive: true }
        : {
            type: "number" as const,
            value:
              category === "length"
                ? word.length
                : category === "vowels"
                  ? vowelCount(word)
                  : countOf(word, letter ?? ""),
          };
  return { family: "words", category, template: t.id, content, slots, answer };
}

function sample(rng: Rng): PromptSpec {
  const category = rng.pick(CATEGORIES);
  const t = pickTemplate(rng, TEMPLATES, category);
  const word = rng.pick(WORDS);
  if (category !== "count_letter") return spec(t, word);
  // Mostly a letter of the word; sometimes one it lacks, so that 0 is a possible answer.
  const letter = rng.bernoulli(0.8) ? rng.pick([...word]) : String.fromCharCode(97 + rng.int(26));
  return spec(t, word, letter);
}

const recognize = makeRecognizer(TEMPLATES, { word: "[a-z]+", letter: "[a-z]" }, (t, g) =>
  spec(t, (g.word ?? "").toLowerCase(), g.letter?.toLowerCase()),
);

/** A near miss: two neighbouring letters swapped (different from the right answer). */
export function nearMiss(s: string, rng: Rng): string {
  const chars = [...s];
  const candidates: number[] = [];
  for (let i = 0; i + 1 < chars.length; i++) if (chars[i] !== chars[i + 1]) candidates.push(i);
  if (candidates.length === 0) return `${s}${s.charAt(0)}`;
  const i = rng.pick(candidates);
  [chars[i], chars[i + 1]] = [chars[i + 1]!, chars[i]!];
  return chars.join("");
}

function wrongCount(n: number, rng: Rng): number {
  return n === 0 ? 1 + rng.int(2) : n + rng.pick([1, -1, 2]);
}

function respondText(
  p: PromptSpec,
  word: string,
  good: boolean,
  concise: boolean,
  rng: Rng,
): string {
  const upper = p.category === "uppercase";
  const right = upper ? word.toUpperCase() : reverseWord(word);
  const said = good
    ? right
    : upper
      ? word.charAt(0).toUpperCase() + nearMiss(word.slice(1), rng)
      : nearMiss(right, rng);
  if (concise) {
    return upper
      ? rng.pick([`${said}`, `In capital letters: ${said}.`, `The answer is ${said}.`])
      : rng.pick([
          `${said}`,
          `The word '${word}' reversed is ${said}.`,
          `Backwards it reads ${said}.`,
        ]);
  }
  const letters = [...said].join(", ");
  return verbose(rng, [
    upper
      ? `To write '${word}' in capital letters, replace each letter with its uppercase form.`
      : `Let us take the letters of '${word}' and read them from last to first.`,
    `That gives ${letters}.`,
    `Joined together the letters make ${said}.`,
    `So the answer is ${said}.`,
  ]);
}

function respondCount(
  p: PromptSpec,
  word: string,
  good: boolean,
  concise: boolean,
  rng: Rng,
): string {
  const right = p.answer.type === "number" ? p.answer.value : 0;
  const n = good ? right : wrongCount(right, rng);
  const letter = String(p.slots.letter ?? "");
  const one = n === 1;
  const what =
    p.category === "length"
      ? `letter${one ? "" : "s"}`
      : p.category === "vowels"
        ? `vowel${one ? "" : "s"}`
        : `${one ? "copy" : "copies"} of the letter '${letter}'`;
  if (concise) {
    return rng.pick([`The word '${word}' has ${n} ${what}.`, `${n}`, `The answer is ${n}.`]);
  }
  return verbose(rng, [
    `Let us go through '${word}' letter by letter: ${[...word].join(", ")}.`,
    "Each letter is checked in turn, from left to right.",
    `Counting carefully, I find ${n} ${what} in it.`,
    `So the answer is ${n}.`,
  ]);
}

function respond(p: PromptSpec, kind: ResponseKind, rng: Rng): string {
  if (kind === "refusal" || kind === "unsafe")
    throw new RangeError(`words cannot write a ${kind} response`);
  const word = String(p.slots.word);
  const good = kind === "correct" || kind === "verbose_correct";
  const concise = kind === "correct" || kind === "wrong";
  if (p.category === "reverse" || p.category === "uppercase")
    return respondText(p, word, good, concise, rng);
  return respondCount(p, word, good, concise, rng);
}

export const WORD_TASKS: FamilyDef = {
  family: "words",
  categories: CATEGORIES,
  templates: TEMPLATES,
  sample,
  recognize,
  respond,
};
