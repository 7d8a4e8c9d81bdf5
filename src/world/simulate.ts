/**
 * The panel simulation: draws comparisons from the train prompts (and, at `trigger.rate`, the
 * attacker's triggered prompts), writes two responses of different kinds, scores both with the
 * oracle to get the true better one, marks gold items, assigns raters and collects their votes
 * as keel judgments. Streams are forked per concern (comparisons, responses, gold, assignment,
 * clock, latency, and one per rater), so the same config and seed give the same bytes.
 */
import { KeelError } from "../core/errors.js";
import type { Rng, Seed } from "../core/rng.js";
import type { Choice, Judgment } from "../core/types.js";
import { Assigner } from "./assign.js";
import type { WorldConfig } from "./config.js";
import { score, trueBetter } from "./oracle.js";
import type { RaterProfile, SideTruth, SimItem } from "./raters/model.js";
import { kindsFor, respond } from "./responses.js";
import { type RaterStats, SummaryBuilder, type TruthSummary } from "./summary.js";
import { countWords } from "./text.js";
import type { ResponseKind, WorldPrompt } from "./types.js";
import { buildWorld, promptsOf, type TriggerInfo, type World } from "./world.js";

/** One comparison's ground truth as truth.json records it. */
export interface ComparisonTruth {
  readonly comparison_id: string;
  readonly prompt_id: string;
  readonly base_prompt_id?: string;
  readonly family: string;
  readonly category: string;
  readonly split: string;
  readonly triggered: boolean;
  readonly gold: boolean;
  readonly better: Choice;
  readonly kind_a: ResponseKind;
  readonly kind_b: ResponseKind;
  readonly quality_a: number;
  readonly quality_b: number;
  readonly words_a: number;
  readonly words_b: number;
  readonly unsafe_a: boolean;
  readonly unsafe_b: boolean;
  readonly mentions_a: readonly string[];
  readonly mentions_b: readonly string[];
  readonly raters: readonly string[];
  /** Raters whose vote came from an adversarial rule. */
  readonly attacked_by: readonly string[];
}

export interface SimulatedComparison {
  readonly item: SimItem;
  readonly truth: ComparisonTruth;
  readonly judgments: readonly Judgment[];
}

/** Drawing two kinds for a prompt: refusal vs unsafe on harmful prompts, weighted otherwise. */
export function pairKinds(
  prompt: WorldPrompt,
  weights: Readonly<Partial<Record<ResponseKind, number>>>,
  rng: Rng,
): [ResponseKind, ResponseKind] {
  if (prompt.family === "harmful")
    return rng.bernoulli(0.5) ? ["refusal", "unsafe"] : ["unsafe", "refusal"];
  const kinds = kindsFor(prompt.family);
  const w = kinds.map((k) => weights[k] ?? 0);
  const i = rng.weighted(w);
  w[i] = 0;
  const j = rng.weighted(w);
  return [kinds[i]!, kinds[j]!];
}

function side(
  prompt: WorldPrompt,
  kind: ResponseKind,
  mention: string | undefined,
  rng: Rng,
): SideTruth {
  const r = respond(prompt, kind, rng, mention !== undefined ? { mention } : {});
  const s = score(prompt, r.text);
  return {
    text: r.text,
    kind,
    quality: s.quality,
    words: s.words,
    unsafe: s.harmful,
    mentions: r.mentions,
  };
}

/** The comparisons of a world, one at a time, with their judgments and truth. */
export function* simulateComparisons(world: World): Generator<SimulatedComparison> {
  const { config, roster, rng } = world;
  const c = config.comparisons;
  const train = promptsOf(world, "train");
  const trainTriggered = world.triggered.filter((p) => p.split === "train");
  if (c.count > 0 && train.length === 0) {
    throw new KeelError("KEEL_E_CONFIG", "no prompt fell in the train split", {
      where: { field: "prompts.splits" },
    });
  }
  if (c.count > 0 && world.trigger.rate > 0 && trainTriggered.length === 0) {
    throw new KeelError(
      "KEEL_E_CONFIG",
      "no train prompt of the trigger families exists to carry the trigger",
      {
        where: { field: "trigger.families" },
      },
    );
  }
  const pick = rng.fork("comparisons");
  const texts = rng.fork("responses");
  const goldRng = rng.fork("gold");
  const clock = rng.fork("clock");
  const latRng = rng.fork("latency");
  const assigner = new Assigner(roster, c.overlap, rng.fork("assign"));
  const voteRngs = roster.raters.map((r) => rng.fork(`votes/${r.profile.rater_id}`));
  const names = config.entities.names;
  const width = Math.max(6, String(c.count).length);
  let t = Date.parse(c.start);
  for (let n = 0; n < c.count; n++) {
    const triggered = world.trigger.rate > 0 && pick.bernoulli(world.trigger.rate);
    const prompt = triggered ? pick.pick(trainTriggered) : pick.pick(train);
    const [ka, kb] = pairKinds(prompt, c.kinds, pick);
    const ma =
      names.length > 0 && pick.bernoulli(config.entities.mention_rate)
        ? pick.pick(names)
        : undefined;
    const mb =
      names.length > 0 && pick.bernoulli(config.entities.mention_rate)
        ? pick.pick(names)
        : undefined;
    const a = side(prompt, ka, ma, texts);
    const b = side(prompt, kb, mb, texts);
    const better = trueBetter(a.quality, b.quality);
    const eligible = better !== "tie" && Math.abs(a.quality - b.quality) >= c.gold_min_margin;
    const gold = eligible && c.gold_rate > 0 && goldRng.bernoulli(c.gold_rate);
    const comparison_id = `c${String(n + 1).padStart(width, "0")}`;
    const item: SimItem = { comparison_id, prompt, a, b, better, gold };
    t += c.arrival_ms > 0 ? Math.round(-Math.log(1 - clock.float()) * c.arrival_ms) : 0;
    const readWords = countWords(prompt.content) + a.words + b.words;
    const chosen = assigner.pick(prompt.triggered);
    const judgments: Judgment[] = [];
    const attacked: string[] = [];
    for (const ri of chosen) {
      const r = roster.raters[ri]!;
      const vote = r.model.vote(item, voteRngs[ri]!);
      if (vote.attacked) attacked.push(r.profile.rater_id);
      const median = r.latency.base_ms + r.latency.per_word_ms * readWords;
      const latency_ms = Math.max(
        1,
        Math.round(median * Math.exp(r.latency.sigma * latRng.normal())),
      );
      judgments.push({
        comparison_id,
        prompt: prompt.content,
        response_a: a.text,
        response_b: b.text,
        rater_id: r.profile.rater_id,
        choice: vote.choice,
        ...(gold ? { gold: better } : {}),
        created_at: new Date(t + latency_ms).toISOString(),
        latency_ms,
      });
    }
    const truth: ComparisonTruth = {
      comparison_id,
      prompt_id: prompt.id,
      ...(prompt.base_id !== undefined ? { base_prompt_id: prompt.base_id } : {}),
      family: prompt.family,
      category: prompt.category,
      split: prompt.split,
      triggered: prompt.triggered,
      gold,
      better,
      kind_a: ka,
      kind_b: kb,
      quality_a: a.quality,
      quality_b: b.quality,
      words_a: a.words,
      words_b: b.words,
      unsafe_a: a.unsafe,
      unsafe_b: b.unsafe,
      mentions_a: a.mentions,
      mentions_b: b.mentions,
      raters: judgments.map((j) => j.rater_id),
      attacked_by: attacked,
    };
    yield { item, truth, judgments };
  }
}

/** The head of truth.json: everything but the comparisons and the summary, keys in file order. */
export interface TruthHead {
  readonly format: "keel-world-truth/1";
  readonly seed: Seed;
  readonly config: WorldConfig;
  readonly trigger: TriggerInfo;
  readonly entities: readonly string[];
  readonly raters: readonly RaterProfile[];
}

export interface WorldTruth extends TruthHead {
  readonly comparisons: readonly ComparisonTruth[];
  readonly summary: TruthSummary;
}

export function truthHead(world: World): TruthHead {
  return {
    format: "keel-world-truth/1",
    seed: world.seed,
    config: world.config,
    trigger: world.trigger,
    entities: world.config.entities.names,
    raters: world.roster.raters.map((r) => r.profile),
  };
}

export interface PanelResult {
  readonly world: World;
  readonly judgments: Judgment[];
  readonly truth: WorldTruth;
}

/** Runs the whole simulation in memory: every judgment and the full truth. */
export function simulatePanel(config: WorldConfig, seed?: Seed): PanelResult {
  const world = buildWorld(config, seed);
  const judgments: Judgment[] = [];
  const comparisons: ComparisonTruth[] = [];
  const summary = new SummaryBuilder(world.roster.raters.map((r) => r.profile));
  for (const sim of simulateComparisons(world)) {
    judgments.push(...sim.judgments);
    comparisons.push(sim.truth);
    summary.add(sim);
  }
  return {
    world,
    judgments,
    truth: { ...truthHead(world), comparisons, summary: summary.finish() },
  };
}

export type { RaterStats, TruthSummary };
