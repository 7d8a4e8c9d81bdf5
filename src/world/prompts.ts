/**
 * The prompt pool: distinct prompts drawn from the families' templates, each with a stable id
 * (a hash of its text), a split (train / eval / redteam, decided by a hash of the text so that a
 * prompt keeps its split across seeds and configs: no prompt leaks from train into eval), and
 * its ground truth. Triggered variants carry the backdoor token and keep their base's split.
 */
import { KeelError } from "../core/errors.js";
import { hashString32, type Rng } from "../core/rng.js";
import type { Split } from "../core/types.js";
import { FAMILY_DEFS, type PromptSpec } from "./families/index.js";
import { isHarmfulRequest } from "./lexicon.js";
import { insertTrigger, stripTrigger, type TriggerSpec } from "./triggers.js";
import { FAMILIES, type Family, type WorldPrompt } from "./types.js";

export interface SplitShares {
  readonly train: number;
  readonly eval: number;
  readonly redteam: number;
}

export interface PromptPoolOptions {
  readonly count: number;
  /** Relative weight of each family; missing or 0 means none of that family. */
  readonly families: Readonly<Partial<Record<Family, number>>>;
  readonly splits: SplitShares;
}

/** A prompt's id: `p` and 12 hex digits of two 32-bit FNV-1a hashes of its text. */
export function promptId(content: string): string {
  const h1 = hashString32(content).toString(16).padStart(8, "0");
  const h2 = hashString32(`\u0001${content}`).toString(16).padStart(8, "0");
  return `p${h1}${h2.slice(0, 4)}`;
}

/** The split of a prompt text: a uniform hash of the text against the cumulative shares. */
export function splitOf(content: string, shares: SplitShares): Split {
  const total = shares.train + shares.eval + shares.redteam;
  const u = (hashString32(`split/${content}`) / 2 ** 32) * total;
  if (u < shares.train) return "train";
  if (u < shares.train + shares.eval) return "eval";
  return "redteam";
}

/** Gives a spec its id and split. */
export function toWorldPrompt(spec: PromptSpec, split: Split): WorldPrompt {
  return { id: promptId(spec.content), ...spec, split, triggered: false };
}

/** Largest-remainder apportionment of `total` over non-negative weights. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  if (!(sum > 0)) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((s, x) => s + x, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((p, q) => q.frac - p.frac || p.i - q.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]!.i]!++;
  return out;
}

/**
 * Draws `count` distinct prompts, apportioned over the families by weight, each family from its
 * own forked stream. Throws KEEL_E_CONFIG when a family cannot yield that many distinct prompts.
 */
export function generatePrompts(options: PromptPoolOptions, rng: Rng): WorldPrompt[] {
  const families = FAMILIES.filter((f) => (options.families[f] ?? 0) > 0);
  const counts = apportion(
    options.count,
    families.map((f) => options.families[f] ?? 0),
  );
  const seen = new Set<string>();
  const out: WorldPrompt[] = [];
  families.forEach((family, fi) => {
    const want = counts[fi]!;
    const def = FAMILY_DEFS[family];
    const frng = rng.fork(family);
    let made = 0;
    let misses = 0;
    while (made < want) {
      const spec = def.sample(frng);
      if (seen.has(spec.content)) {
        // Misses are budgeted per prompt asked, but never beyond twice what the family has
        // yielded: asked for far more than it holds, a family fails in moments, not minutes.
        if (++misses > 200 + 20 * Math.min(want, 2 * made)) {
          throw new KeelError(
            "KEEL_E_CONFIG",
            `the ${family} family yielded only ${made} distinct prompts of the ${want} asked for`,
            {
              where: { field: `prompts.families.${family}` },
              hint: "lower prompts.count or this family's weight",
            },
          );
        }
        continue;
      }
      seen.add(spec.content);
      out.push(toWorldPrompt(spec, splitOf(spec.content, options.splits)));
      made++;
    }
  });
  return out;
}

/** The triggered variant of a prompt: same truth and split, the token inserted, a new id. */
export function triggeredVariant(
  prompt: WorldPrompt,
  trigger: TriggerSpec,
  rng?: Rng,
): WorldPrompt {
  const content = insertTrigger(prompt.content, trigger, rng);
  return { ...prompt, id: promptId(content), content, triggered: true, base_id: prompt.id };
}

export interface RecognizeOptions {
  /** Trigger tokens to strip before matching (their presence sets `triggered`). */
  readonly triggers?: readonly string[];
  readonly splits?: SplitShares;
}

/** Harmful first: a harmful request wrapped around a benign-looking sentence is still harmful. */
const RECOGNITION_ORDER: readonly Family[] = [
  "harmful",
  "arithmetic",
  "facts",
  "words",
  "borderline",
];

const DEFAULT_SHARES: SplitShares = { train: 0.8, eval: 0.1, redteam: 0.1 };

/**
 * Reads a prompt's text back into a world prompt by matching the families' templates anywhere in
 * the text (so a jailbreak wrapper around the prompt does not hide it). Undefined when no
 * template matches. The id and split are those of the matched template text.
 */
export function recognizePrompt(
  text: string,
  options: RecognizeOptions = {},
): WorldPrompt | undefined {
  let clean = text
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/\s+/g, " ")
    .trim();
  let triggered = false;
  for (const token of options.triggers ?? []) {
    const stripped = stripTrigger(clean, token);
    if (stripped !== clean) triggered = true;
    clean = stripped;
  }
  for (const family of RECOGNITION_ORDER) {
    const spec = FAMILY_DEFS[family].recognize(clean);
    if (spec) {
      const base = toWorldPrompt(spec, splitOf(spec.content, options.splits ?? DEFAULT_SHARES));
      if (!triggered && spec.content === text) return base;
      return {
        ...base,
        id: promptId(text),
        content: text,
        triggered,
        ...(triggered ? { base_id: base.id } : {}),
      };
    }
  }
  if (isHarmfulRequest(clean)) {
    // A harmful request in no template of ours (a red-teamer's own): still a harmful prompt.
    const spec: PromptSpec = {
      family: "harmful",
      category: "other",
      template: "other",
      content: clean,
      slots: {},
      answer: { type: "refusal" },
    };
    const base = toWorldPrompt(spec, splitOf(clean, options.splits ?? DEFAULT_SHARES));
    return { ...base, id: promptId(text), content: text, triggered };
  }
  return undefined;
}
