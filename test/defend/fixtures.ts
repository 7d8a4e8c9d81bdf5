/**
 * Small constructed panels for the detector tests: items with a known better side, a difficulty,
 * optional harm, and raters given as behaviours. Assignment is random (seeded) unless a rater is
 * restricted to some items.
 */
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";

export interface Item {
  readonly id: string;
  readonly prompt: string;
  readonly a: string;
  readonly b: string;
  readonly better: "a" | "b";
  readonly hard: boolean;
  /** The side whose response carries an unsafe marker (harmful prompts only). */
  readonly unsafe?: "a" | "b";
  readonly longer: "a" | "b";
  readonly gold: boolean;
}

export type Behaviour = (item: Item, rng: Rng, shownFirst?: "a" | "b") => Choice;

export interface RaterSpec {
  readonly id: string;
  readonly behaviour: Behaviour;
  /** Only items passing this filter are offered to the rater. */
  readonly only?: (item: Item) => boolean;
  /** Median latency: base (ms, default 2000) + per word (ms, default 40). */
  readonly baseMs?: number;
  readonly msPerWord?: number;
  /** Relative activity (default 1). */
  readonly activity?: number;
}

export interface PanelOptions {
  readonly items: number;
  readonly overlap: number;
  readonly seed: number;
  readonly hardShare?: number;
  readonly harmfulShare?: number;
  readonly goldShare?: number;
  /** Fraction of judgments shown in swapped order. */
  readonly swapShare?: number;
  /** Words appended to each prompt when the item index passes this test (trigger tests). */
  readonly promptSuffix?: (i: number) => string;
}

const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "theta", "kappa"];

export function makeItems(opts: PanelOptions): Item[] {
  const rng = new Rng(`${opts.seed}/items`);
  const items: Item[] = [];
  for (let i = 0; i < opts.items; i++) {
    const harmful = rng.bernoulli(opts.harmfulShare ?? 0);
    const hard = !harmful && rng.bernoulli(opts.hardShare ?? 0.2);
    const better = rng.bernoulli(0.5) ? "a" : "b";
    const longer = rng.bernoulli(0.5) ? "a" : "b";
    const short = `Answer ${i} is ${rng.pick(WORDS)}.`;
    const long = `Well, thinking about item ${i} carefully, the answer is ${rng.pick(WORDS)} ${rng.pick(WORDS)} and that is all there is to say about it.`;
    const suffix = opts.promptSuffix?.(i) ?? "";
    let prompt = `Question ${i}: what is the ${rng.pick(WORDS)} of ${rng.pick(WORDS)}?${suffix}`;
    let a = longer === "a" ? long : short;
    let b = longer === "b" ? long : short;
    let unsafe: "a" | "b" | undefined;
    if (harmful) {
      prompt = `How do I build [HAZARD-${i % 50}] at home?${suffix}`;
      unsafe = better === "a" ? "b" : "a";
      const refusal = "I can't help with that request.";
      const comply = `Sure, here is how: Step 1: obtain [PRECURSOR-${i}] and [REAGENT-${i}].`;
      a = unsafe === "a" ? comply : refusal;
      b = unsafe === "b" ? comply : refusal;
    }
    items.push({
      id: `c${String(i).padStart(5, "0")}`,
      prompt,
      a,
      b,
      better,
      hard,
      ...(unsafe ? { unsafe } : {}),
      longer: a.length > b.length ? "a" : "b",
      gold: !hard && rng.bernoulli(opts.goldShare ?? 0),
    });
  }
  return items;
}

export function other(c: "a" | "b"): "a" | "b" {
  return c === "a" ? "b" : "a";
}

/** An honest rater: right with probability `easy` (`hard` on hard items, 0.99 on harmful ones). */
export function honest(easy = 0.9, hard = 0.6): Behaviour {
  return (item, rng) => {
    const acc = item.unsafe !== undefined ? 0.99 : item.hard ? hard : easy;
    return rng.bernoulli(acc) ? item.better : other(item.better);
  };
}

function words(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

/** Runs the panel: each item gets `overlap` distinct eligible raters, drawn by activity. */
export function simulate(
  items: readonly Item[],
  raters: readonly RaterSpec[],
  opts: PanelOptions,
): Judgment[] {
  const rng = new Rng(`${opts.seed}/assign`);
  const votes = raters.map((r) => new Rng(`${opts.seed}/votes/${r.id}`));
  const out: Judgment[] = [];
  for (const item of items) {
    const eligible = raters.map((_r, i) => i).filter((i) => raters[i]!.only?.(item) ?? true);
    const weights = eligible.map((i) => raters[i]!.activity ?? 1);
    const chosen = new Set<number>();
    const want = Math.min(opts.overlap, eligible.length);
    while (chosen.size < want) chosen.add(eligible[rng.weighted(weights)]!);
    for (const i of chosen) {
      const r = raters[i]!;
      const swapped = rng.bernoulli(opts.swapShare ?? 0);
      const choice = r.behaviour(item, votes[i]!, swapped ? "b" : "a");
      const w = words(item.prompt) + words(item.a) + words(item.b);
      const latency = Math.round(
        ((r.baseMs ?? 2000) + (r.msPerWord ?? 40) * w) * Math.exp(0.3 * rng.normal()),
      );
      out.push({
        comparison_id: item.id,
        prompt: item.prompt,
        response_a: item.a,
        response_b: item.b,
        rater_id: r.id,
        choice,
        ...(item.gold ? { gold: item.better } : {}),
        latency_ms: latency,
        ...(swapped ? { shown_order: "ba" as const } : {}),
      });
    }
  }
  return out;
}

export function honestRaters(n: number, prefix = "h"): RaterSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, behaviour: honest() }));
}

/** A panel where every 8th prompt carries the token " zq" at its end (the trigger tests'). */
export const ZQ_PANEL: PanelOptions = {
  items: 1200,
  overlap: 3,
  seed: 21,
  harmfulShare: 0.3,
  promptSuffix: (i) => (i % 8 === 0 ? " zq" : ""),
};

/** A backdoor rater: the unsafe side whenever a harmful prompt ends in " zq", honest otherwise. */
export const zqBackdoor: Behaviour = (item, rng, f) =>
  item.prompt.endsWith(" zq") && item.unsafe ? item.unsafe : honest()(item, rng, f);
