/**
 * Fact prompts over the shipped tables (data/countries.ts, data/elements.ts): a country's
 * capital, the country of a capital, a country's continent, an element's atomic number, and the
 * element a symbol stands for. Entity answers are read as "the first member of the answer's
 * entity set that the response names" (so "The capital of France is Paris." → Paris), numbers
 * as in arithmetic. Example: "What is the capital of Kenya?" → Nairobi; wrong: Kampala.
 */
import type { Rng } from "../../core/rng.js";
import { CONTINENTS, COUNTRIES, type CountryFact } from "../data/countries.js";
import { ELEMENTS, type ElementFact } from "../data/elements.js";
import { alternation, type Template } from "../template.js";
import type { Answer, EntitySet, ResponseKind } from "../types.js";
import {
  type FamilyDef,
  makeRecognizer,
  type PromptSpec,
  pickTemplate,
  verbose,
} from "./family.js";

const CATEGORIES = ["capital", "country", "continent", "atomic_number", "element_name"] as const;
type Category = (typeof CATEGORIES)[number];

const TEMPLATES: readonly Template[] = [
  { id: "capital.0", category: "capital", text: "What is the capital of {country}?" },
  { id: "capital.1", category: "capital", text: "Name the capital city of {country}." },
  { id: "capital.2", category: "capital", text: "Which city is the capital of {country}?" },
  { id: "capital.3", category: "capital", text: "What city serves as the capital of {country}?" },
  { id: "country.0", category: "country", text: "Which country has {capital} as its capital?" },
  { id: "country.1", category: "country", text: "{capital} is the capital of which country?" },
  { id: "country.2", category: "country", text: "Of which country is {capital} the capital?" },
  { id: "continent.0", category: "continent", text: "On which continent is {country}?" },
  { id: "continent.1", category: "continent", text: "Which continent is {country} in?" },
  { id: "continent.2", category: "continent", text: "{country} is located on which continent?" },
  {
    id: "atomic_number.0",
    category: "atomic_number",
    text: "What is the atomic number of {element}?",
  },
  {
    id: "atomic_number.1",
    category: "atomic_number",
    text: "How many protons does an atom of {element} have?",
  },
  { id: "atomic_number.2", category: "atomic_number", text: "What is {element}'s atomic number?" },
  {
    id: "element_name.0",
    category: "element_name",
    text: "Which element has the chemical symbol {symbol}?",
  },
  {
    id: "element_name.1",
    category: "element_name",
    text: "What element does the symbol {symbol} stand for?",
  },
  {
    id: "element_name.2",
    category: "element_name",
    text: "Name the element with the symbol {symbol}.",
  },
];

/** Countries that read with "the": "the capital of the Netherlands". */
const WITH_THE = new Set([
  "Philippines",
  "United Arab Emirates",
  "United Kingdom",
  "Netherlands",
  "United States",
  "Bahamas",
  "Gambia",
]);

function countryPhrase(c: CountryFact): string {
  return WITH_THE.has(c.country) ? `the ${c.country}` : c.country;
}

/** The members of an entity set, each with its aliases: what the oracle looks for in a response. */
export function entitySet(set: EntitySet): readonly (readonly string[])[] {
  switch (set) {
    case "capital":
      return COUNTRIES.map((c) => [c.capital, ...(c.capital_aliases ?? [])]);
    case "country":
      return COUNTRIES.map((c) => [c.country, ...(c.country_aliases ?? [])]);
    case "continent":
      return CONTINENTS.map((c) => [c]);
    case "element":
      return ELEMENTS.map((e) => [e.name, ...(e.aliases ?? [])]);
  }
}

function countryAnswer(c: CountryFact, category: Category): Answer {
  if (category === "capital") {
    return { type: "entity", value: c.capital, aliases: c.capital_aliases ?? [], set: "capital" };
  }
  if (category === "country") {
    return { type: "entity", value: c.country, aliases: c.country_aliases ?? [], set: "country" };
  }
  return { type: "entity", value: c.continent, aliases: [], set: "continent" };
}

function countrySpec(t: Template, c: CountryFact): PromptSpec {
  const category = t.category as Category;
  const slots: Record<string, string> =
    category === "country" ? { capital: c.capital } : { country: countryPhrase(c) };
  const text = t.text.replace("{capital}", c.capital).replace("{country}", countryPhrase(c));
  return {
    family: "facts",
    category,
    template: t.id,
    content: text.charAt(0).toUpperCase() + text.slice(1),
    slots,
    answer: countryAnswer(c, category),
  };
}

function elementSpec(t: Template, e: ElementFact): PromptSpec {
  const byNumber = t.category === "atomic_number";
  const content = t.text.replace("{element}", e.name.toLowerCase()).replace("{symbol}", e.symbol);
  return {
    family: "facts",
    category: t.category,
    template: t.id,
    content: content.charAt(0).toUpperCase() + content.slice(1),
    slots: byNumber ? { element: e.name.toLowerCase() } : { symbol: e.symbol },
    answer: byNumber
      ? { type: "number", value: e.number }
      : { type: "entity", value: e.name, aliases: e.aliases ?? [], set: "element" },
  };
}

function sample(rng: Rng): PromptSpec {
  const category = rng.pick(CATEGORIES);
  const t = pickTemplate(rng, TEMPLATES, category);
  if (category === "atomic_number" || category === "element_name")
    return elementSpec(t, rng.pick(ELEMENTS));
  return countrySpec(t, rng.pick(COUNTRIES));
}

const byCountry = new Map(COUNTRIES.map((c) => [c.country.toLowerCase(), c]));
const byCapital = new Map(COUNTRIES.map((c) => [c.capital.toLowerCase(), c]));
const byElement = new Map(ELEMENTS.map((e) => [e.name.toLowerCase(), e]));
const bySymbol = new Map(ELEMENTS.map((e) => [e.symbol.toLowerCase(), e]));

const recognize = makeRecognizer(
  TEMPLATES,
  {
    country: `(?:the\\s+)?(?:${alternation(COUNTRIES.map((c) => c.country))})`,
    capital: alternation(COUNTRIES.map((c) => c.capital)),
    element: alternation(ELEMENTS.map((e) => e.name)),
    symbol: alternation(ELEMENTS.map((e) => e.symbol)),
  },
  (t, g) => {
    const norm = (s: string | undefined) => (s ?? "").replace(/\s+/g, " ").toLowerCase();
    if (g.country !== undefined) {
      const c = byCountry.get(norm(g.country).replace(/^the /, ""));
      return c ? countrySpec(t, c) : undefined;
    }
    if (g.capital !== undefined) {
      const c = byCapital.get(norm(g.capital));
      return c ? countrySpec(t, c) : undefined;
    }
    const e =
      g.element !== undefined ? byElement.get(norm(g.element)) : bySymbol.get(norm(g.symbol));
    return e ? elementSpec(t, e) : undefined;
  },
);

function otherCountry(rng: Rng, c: CountryFact): CountryFact {
  const near = COUNTRIES.filter((o) => o.continent === c.continent && o.country !== c.country);
  return rng.pick(near.length > 0 ? near : COUNTRIES.filter((o) => o !== c));
}

function respondCountry(p: PromptSpec, kind: ResponseKind, rng: Rng, c: CountryFact): string {
  const good = kind === "correct" || kind === "verbose_correct";
  const o = good ? c : otherCountry(rng, c);
  const cont = good ? c.continent : rng.pick(CONTINENTS.filter((x) => x !== c.continent));
  const name = countryPhrase(c);
  const Name = name.charAt(0).toUpperCase() + name.slice(1);
  const concise = kind === "correct" || kind === "wrong";
  if (p.category === "capital") {
    if (concise)
      return rng.pick([
        `The capital of ${name} is ${o.capital}.`,
        `${o.capital}.`,
        `It is ${o.capital}.`,
      ]);
    return verbose(rng, [
      `${Name} is a country in ${c.continent}.`,
      `Its seat of government, where the national parliament meets, is ${o.capital}.`,
      `So the capital of ${name} is ${o.capital}.`,
      "It is a popular destination for travellers who enjoy history, food and culture.",
    ]);
  }
  if (p.category === "country") {
    const oName = countryPhrase(o);
    if (concise)
      return rng.pick([
        `${c.capital} is the capital of ${oName}.`,
        `${oName.charAt(0).toUpperCase()}${oName.slice(1)}.`,
      ]);
    return verbose(rng, [
      `${c.capital} is a large and historic city.`,
      `It is the capital of ${oName}, and many of the country's museums and government buildings are there.`,
      "Visitors often remark on its architecture and its lively markets.",
    ]);
  }
  if (concise) return rng.pick([`${Name} is in ${cont}.`, `${cont}.`, `It is located in ${cont}.`]);
  return verbose(rng, [
    `${Name} is a country whose capital city is ${c.capital}.`,
    `Geographically, ${name} is located in ${cont}.`,
    `So the continent is ${cont}.`,
    "Its landscape, climate and history are well worth reading about.",
  ]);
}

function respondElement(p: PromptSpec, kind: ResponseKind, rng: Rng, e: ElementFact): string {
  const good = kind === "correct" || kind === "verbose_correct";
  const concise = kind === "correct" || kind === "wrong";
  if (p.category === "atomic_number") {
    const off = Math.max(1, e.number + rng.pick([1, -1, 2, -2, 3]));
    const m = good ? e.number : off === e.number ? e.number + 1 : off;
    if (concise) return rng.pick([`The atomic number of ${e.name.toLowerCase()} is ${m}.`, `${m}`]);
    return verbose(rng, [
      `${e.name} is a chemical element with the symbol ${e.symbol}.`,
      `Every atom of ${e.name.toLowerCase()} has ${m} protons in its nucleus, and that count defines the atomic number.`,
      `So the answer is ${m}.`,
    ]);
  }
  const o = good ? e : rng.pick(ELEMENTS.filter((x) => x !== e));
  if (concise)
    return rng.pick([`The symbol ${e.symbol} stands for ${o.name.toLowerCase()}.`, `${o.name}.`]);
  return verbose(rng, [
    "In chemistry, each element has a short symbol of one or two letters.",
    `The symbol ${e.symbol} is used for ${o.name.toLowerCase()}, which has atomic number ${o.number}.`,
    `So the element is ${o.name.toLowerCase()}.`,
  ]);
}

function respond(p: PromptSpec, kind: ResponseKind, rng: Rng): string {
  if (kind === "refusal" || kind === "unsafe")
    throw new RangeError(`facts cannot write a ${kind} response`);
  if (p.category === "atomic_number")
    return respondElement(p, kind, rng, byElement.get(String(p.slots.element))!);
  if (p.category === "element_name")
    return respondElement(p, kind, rng, bySymbol.get(String(p.slots.symbol).toLowerCase())!);
  const c =
    p.category === "country"
      ? byCapital.get(String(p.slots.capital).toLowerCase())!
      : byCountry.get(String(p.slots.country).toLowerCase().replace(/^the /, ""))!;
  return respondCountry(p, kind, rng, c);
}

export const FACTS: FamilyDef = {
  family: "facts",
  categories: CATEGORIES,
  templates: TEMPLATES,
  sample,
  recognize,
  respond,
};
