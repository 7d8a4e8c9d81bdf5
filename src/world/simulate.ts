/**
 * The panel simulation: draws comparisons from the train prompts (and, at `trigger.rate`, the
 * attacker's triggered prompts), writes two responses of different kinds, scores both with the
 * oracle to get the true better one, marks gold items, assigns raters and collects their votes
 * as keel judgments. Streams are forked per concern (comparisons, responses, gold, assignment,
 * clock, latency, and one per rater), so the same config and seed give the same bytes.
 */
import { KeelError } from "../core/errors.js";
import type { Rng, Seed } from "../core/rng.js";
import { LATEST_TIME_MS, MAX_LATENCY_MS } from "../core/schemas.js";
import type { Choice, Judgment } from "../core/types.js";
import { Assigner } from "./assign.js";
import { AttackDose } from "./attackDose.js";
import type { WorldConfig } from "./config.js";
import { score, trueBetter } from "./oracle.js";
import type { RaterProfile, SideTruth, SimItem } from "./raters/model.js";
import { kindsFor, mentionedEntities, respond } from "./responses.js";
import type { LatencyModel } from "./roster.js";
import { type RaterStats, SummaryBuilder, type TruthSummary } from "./summary.js";
import { countWords } from "./text.js";
import type { OracleScore, ResponseKind, WorldPrompt } from "./types.js";
import {
  buildWorld,
  checkHarmfulTrain,
  promptsById,
  promptsOf,
  type TriggerInfo,
  type World,
} from "./world.js";

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

/**
 * The panel's half of a comparison, whoever wrote the two responses: marks gold items, assigns
 * raters (backdoor raters claim triggered prompts), collects their votes, and stamps times and
 * latencies. Its streams are forked by name from the world's, so the world's own comparisons and
 * rated candidates (`rateCandidates`) draw the same panel behaviour for the same seed.
 */
export class PanelSession {
  private readonly goldRng: Rng;
  private readonly clock: Rng;
  private readonly latRng: Rng;
  private readonly assigner: Assigner;
  private readonly voteRngs: Rng[];
  private t: number;

  constructor(private readonly world: World) {
    const { rng, roster, config } = world;
    this.goldRng = rng.fork("gold");
    this.clock = rng.fork("clock");
    this.latRng = rng.fork("latency");
    this.assigner = new Assigner(
      roster,
      config.comparisons.overlap,
      rng.fork("assign"),
      rng.fork("assign/claims"),
    );
    this.voteRngs = roster.raters.map((r) => rng.fork(`votes/${r.profile.rater_id}`));
    for (const team of roster.operators) team.restart();
    for (const r of roster.raters) r.model.restart?.();
    this.t = Date.parse(config.comparisons.start);
  }

  /** Rates one comparison of `prompt` between `a` and `b` (sides scored by the oracle). */
  rate(
    comparison_id: string,
    prompt: WorldPrompt,
    a: SideTruth,
    b: SideTruth,
  ): SimulatedComparison {
    const { roster, config } = this.world;
    const c = config.comparisons;
    const better = trueBetter(a.quality, b.quality);
    const eligible =
      better !== "tie" && Math.abs(a.quality - b.quality) >= c.gold_min_margin - MARGIN_EPS;
    const gold = eligible && c.gold_rate > 0 && this.goldRng.bernoulli(c.gold_rate);
    const item: SimItem = { comparison_id, prompt, a, b, better, gold };
    this.t += c.arrival_ms > 0 ? Math.round(-Math.log(1 - this.clock.float()) * c.arrival_ms) : 0;
    const readWords = countWords(prompt.content) + a.words + b.words;
    const { chosen, displaced } = this.assigner.pick(prompt.triggered);
    // A rater a claim pushed out draws the vote it would have cast, unused, so that its later
    // votes are the ones it casts in the same world without the claimer (src/world/assign.ts); a
    // camouflaged rater or sybil team counts it as a turn towards `wake_after`.
    for (const ri of displaced) roster.raters[ri]!.model.vote(item, this.voteRngs[ri]!);
    const judgments: Judgment[] = [];
    const attacked: string[] = [];
    for (const ri of chosen) {
      const r = roster.raters[ri]!;
      const vote = r.model.vote(item, this.voteRngs[ri]!);
      if (vote.attacked) attacked.push(r.profile.rater_id);
      const latency_ms = this.latency(r.latency, readWords);
      this.checkClock(this.t + latency_ms);
      judgments.push({
        comparison_id,
        prompt: prompt.content,
        response_a: a.text,
        response_b: b.text,
        rater_id: r.profile.rater_id,
        choice: vote.choice,
        ...(gold ? { gold: better } : {}),
        created_at: new Date(this.t + latency_ms).toISOString(),
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
      kind_a: a.kind,
      kind_b: b.kind,
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
    return { item, truth, judgments };
  }

  /**
   * One judgment's latency: log-normal around the rater's median, at least 1 ms, and at most
   * what a judgment's `latency_ms` may hold, so that `keel import` reads the file back (for a
   * median of seconds, only a spread `sigma` of 5 or more reaches it); a median past the limit
   * is a config error.
   */
  private latency(l: LatencyModel, words: number): number {
    const median = l.base_ms + l.per_word_ms * words;
    if (!(median <= MAX_LATENCY_MS)) {
      throw new KeelError(
        "KEEL_E_CONFIG",
        `a rater's median latency for a comparison of ${words} words is ${Math.round(median)} ms, past ${MAX_LATENCY_MS} ms, the most a judgment's latency_ms can hold`,
        { where: { field: "panel.raters.latency" }, hint: "lower base_ms or per_word_ms" },
      );
    }
    const ms = Math.round(median * Math.exp(l.sigma * this.latRng.normal()));
    // A zero median stays zero under any spread (0 · ∞ is NaN): the 1 ms floor.
    return median === 0 ? 1 : Math.min(Math.max(ms, 1), MAX_LATENCY_MS);
  }

  /**
   * `created_at` is written with `toISOString`: a time past the year 9999 would come out as
   * `+010000-…`, which no ISO-8601 date-time (nor `keel import`) reads, and past ±8.64e15 ms
   * the run would end with a RangeError.
   */
  private checkClock(at: number): void {
    if (at <= LATEST_TIME_MS) return;
    // A latency is at most MAX_LATENCY_MS (115 days): the arrivals brought the clock this far.
    throw new KeelError(
      "KEEL_E_CONFIG",
      "the simulated clock ran past the year 9999, the last a judgment's created_at can name",
      {
        where: { field: "comparisons.arrival_ms" },
        hint: "lower comparisons.arrival_ms or start earlier (comparisons.start)",
      },
    );
  }
}
/**
 * Qualities are rounded to 1e-6, but their difference is not exact in floating point
 * (0.3 − 0.1 < 0.2): a gap equal to `gold_min_margin` must still count as at least it.
 */
const MARGIN_EPS = 1e-9;

/** The comparison id of the `n`-th comparison (0-based) of a world of `count` comparisons. */
export function comparisonId(n: number, count: number): string {
  return `c${String(n + 1).padStart(Math.max(6, String(count).length), "0")}`;
}

/** The comparisons of a world, one at a time, with their judgments and truth. */
export function* simulateComparisons(world: World): Generator<SimulatedComparison> {
  const { config, rng } = world;
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
  checkHarmfulTrain(config, train);
  const pick = rng.fork("comparisons");
  const texts = rng.fork("responses");
  const panel = new PanelSession(world);
  const names = config.entities.names;
  const dose = new AttackDose(world);
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
    const sim = panel.rate(comparisonId(n, c.count), prompt, a, b);
    dose.add(sim);
    yield sim;
  }
  dose.check();
}

/**
 * The kind a free text falls under, read from its oracle score: what the world's own response
 * kinds would call it. An evasive answer to a harmful prompt and an empty one count as wrong;
 * their quality (the oracle's) is what the panel judges by.
 */
export function kindOfScore(s: OracleScore): ResponseKind {
  switch (s.outcome) {
    case "unsafe":
      return "unsafe";
    case "refusal":
      return "refusal";
    case "correct":
      return s.verbose ? "verbose_correct" : "correct";
    default:
      return s.verbose ? "verbose_wrong" : "wrong";
  }
}

/** One side of a rated comparison from a free text: the oracle's reading of it. */
export function sideOfText(world: World, prompt: WorldPrompt, text: string): SideTruth {
  const s = score(prompt, text);
  return {
    text,
    kind: kindOfScore(s),
    quality: s.quality,
    words: s.words,
    unsafe: s.harmful,
    mentions: mentionedEntities(text, world.config.entities.names),
  };
}

/** Two candidate responses to a world prompt, written by a policy or a provider. */
export interface Candidate {
  readonly comparison_id: string;
  /** The id of a world prompt (triggered variants included). */
  readonly prompt_id: string;
  readonly response_a: string;
  readonly response_b: string;
}

/**
 * Has the world's panel rate candidate pairs that something else wrote: each side is scored by
 * the oracle and the raters vote on the texts exactly as they vote on the world's own responses.
 * An unknown prompt id is a KEEL_E_NOT_FOUND error naming the comparison.
 */
export async function* rateCandidates(
  world: World,
  candidates: AsyncIterable<Candidate> | Iterable<Candidate>,
): AsyncGenerator<SimulatedComparison> {
  const byId = promptsById(world);
  const panel = new PanelSession(world);
  for await (const c of candidates) {
    const prompt = byId.get(c.prompt_id);
    if (prompt === undefined) {
      throw new KeelError("KEEL_E_NOT_FOUND", `no world prompt has id ${c.prompt_id}`, {
        where: { id: c.comparison_id, field: "prompt_id" },
      });
    }
    yield panel.rate(
      c.comparison_id,
      prompt,
      sideOfText(world, prompt, c.response_a),
      sideOfText(world, prompt, c.response_b),
    );
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
