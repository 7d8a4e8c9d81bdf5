/**
 * The attack's realised dose. Every attacker type judges honestly except where its rule fires —
 * a flipper or sleeper (`poison: unsafe`) on a harmful pair with one unsafe side, a length
 * poisoner where the lengths differ, an entity promoter where one side names its entity, a
 * backdoor on a triggered comparison — and then only with probability `rate`, and camouflage
 * (`wake_after`, `easy_margin`, `gold_detection`) keeps it honest in more places still. A group
 * at a rate above 0 can thus cast no adversarial vote at all: a `wake_after` longer than its
 * raters' share of the comparisons, a small rate, or too few comparisons. Such a world is a
 * clean panel under an attacker's name, and an experiment on it measures an attack that never
 * happened, so `simulateComparisons` refuses it at the end of the draw (the files are written as
 * one set, so none is left behind). A rate of 0 is a sweep's control and is let through.
 *
 * Refused on the realised count (each vote's `attacked` flag, `truth.attacked_by`) rather than
 * up front on an expected one: the count is exact for the config and seed, and a world whose
 * attacker cast a few adversarial votes did carry the attack.
 *
 * A backdoor attacks only on comparisons that carry the trigger, drawn one by one with
 * probability `trigger.rate`: at a small `trigger.rate × comparisons.count` a world can draw
 * none (at 0.5 expected, six seeds in ten do), and its error names both knobs and the minimum
 * that makes a zero unlikely (`MIN_EXPECTED_TRIGGERED`: an expectation of 3 still draws none one
 * world in twenty).
 */
import { KeelError } from "../core/errors.js";
import type { RaterGroupConfig, RaterType } from "./raterGroups.js";
import { groupCounts } from "./roster.js";
import type { SimulatedComparison } from "./simulate.js";
import type { World } from "./world.js";

/** Expected triggered comparisons at which a world draws none with probability e⁻⁵ < 0.7%. */
export const MIN_EXPECTED_TRIGGERED = 5;

/** Which rater types vote by an adversarial rule (a new type must say). */
export const ADVERSARIAL: { readonly [T in RaterType]: boolean } = {
  honest: false,
  careless: false,
  flipper: true,
  backdoor: true,
  sleeper: true,
  sybil: true,
  length_poisoner: true,
  entity_promoter: true,
};

type AttackerGroup = Exclude<RaterGroupConfig, { type: "honest" | "careless" }>;

interface Tracked {
  readonly index: number;
  /** As rater profiles name it: `flipper#2`. */
  readonly name: string;
  readonly config: AttackerGroup;
  readonly raters: number;
  /**
   * Member rater id → what `wake_after` counts turns of: the rater itself, or for a sybil its
   * team (whose operator decides once per comparison for all its members).
   */
  readonly clockOf: ReadonlyMap<string, string>;
  /** Turns per clock, to tell a group kept asleep by `wake_after` from one that was not. */
  readonly turns: Map<string, number>;
  judgments: number;
  votes: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export class AttackDose {
  private triggered = 0;
  private judgments = 0;
  private readonly groups: Tracked[];
  /** Member rater id → its group. */
  private readonly groupOf = new Map<string, Tracked>();

  constructor(private readonly world: World) {
    const counts = groupCounts(world.config);
    this.groups = world.config.panel.raters.flatMap((g, index) => {
      // A group of no raters or at rate 0 (a sweep's control) attacks nowhere by design.
      if (!ADVERSARIAL[g.type] || counts[index] === 0 || !("rate" in g) || g.rate === 0) return [];
      const name = `${g.type}#${index}`;
      const clockOf = new Map<string, string>();
      for (const r of world.roster.raters) {
        const { group, rater_id } = r.profile;
        // A sybil's profile names its team: `sybil#3/1`.
        if (group === name) clockOf.set(rater_id, rater_id);
        else if (group.startsWith(`${name}/`)) clockOf.set(rater_id, group);
      }
      const t: Tracked = {
        index,
        name,
        config: g as AttackerGroup,
        raters: counts[index]!,
        clockOf,
        turns: new Map(),
        judgments: 0,
        votes: 0,
      };
      for (const id of clockOf.keys()) this.groupOf.set(id, t);
      return [t];
    });
  }

  add(sim: SimulatedComparison): void {
    if (this.groups.length === 0) return;
    if (sim.truth.triggered) this.triggered++;
    this.judgments += sim.truth.raters.length;
    const clocks = new Set<string>();
    for (const id of sim.truth.raters) {
      const g = this.groupOf.get(id);
      if (g === undefined) continue;
      g.judgments++;
      const clock = g.clockOf.get(id)!;
      // A team's operator takes one turn per comparison, however many members judge it.
      if (clocks.has(clock)) continue;
      clocks.add(clock);
      g.turns.set(clock, (g.turns.get(clock) ?? 0) + 1);
    }
    for (const id of sim.truth.attacked_by) {
      const g = this.groupOf.get(id);
      if (g !== undefined) g.votes++;
    }
  }

  /** Throws KEEL_E_CONFIG naming the first attacker group of this world that never attacked. */
  check(): void {
    if (this.world.config.comparisons.count === 0) return;
    const g = this.groups.find((x) => x.votes === 0);
    if (g === undefined) return;
    if (g.config.type === "backdoor") this.refuseBackdoor(g, g.config);
    this.refuse(g);
  }

  private refuse(g: Tracked): never {
    const { config, seed } = this.world;
    const c = g.config;
    const count = config.comparisons.count;
    const at = `panel.raters.${g.index}`;
    const busiest = Math.max(0, ...g.turns.values());
    const asleep = c.wake_after !== undefined && g.judgments > 0 && busiest <= c.wake_after;
    const rule = [
      `rate ${c.rate}`,
      ...(c.wake_after !== undefined ? [`wake_after ${c.wake_after}`] : []),
      ...(c.easy_margin !== undefined ? [`easy_margin ${c.easy_margin}`] : []),
      ...(c.gold_detection !== undefined && config.comparisons.gold_rate > 0
        ? [`gold_detection ${c.gold_detection}`]
        : []),
    ].join(", ");
    const size = c.count !== undefined ? `${at}.count` : `${at}.share`;
    const turn =
      c.type === "sybil" ? "comparisons one of its teams took" : "judgments one of its raters cast";
    let fix: string;
    if (g.judgments === 0) {
      fix = `its raters were given no comparison: raise comparisons.count (${count}), or the group's size (${size}) or ${at}.activity`;
    } else if (asleep) {
      fix = `${at}.wake_after (${c.wake_after}) kept it honest throughout (the most ${turn} was ${busiest}): lower wake_after below ${busiest}, or raise comparisons.count (${count}) or the group's size (${size}) so that its raters judge past it`;
    } else {
      const knobs = typeKnobs(c, at, config.comparisons.gold_rate);
      const raise = [
        ...(c.rate < 1 ? [`${at}.rate (${c.rate})`] : []),
        ...knobs.raise,
        `comparisons.count (${count})`,
        `the group's size (${size})`,
      ];
      fix = `raise ${raise.join(", ")}`;
      if (knobs.lower.length > 0) fix += `, or lower ${knobs.lower.join(", ")}`;
    }
    throw new KeelError(
      "KEEL_E_CONFIG",
      `the ${c.type} group ${g.name} (${at}, ${plural(g.raters, "rater")}) cast no adversarial vote: in this world (seed ${seed}) its raters cast ${plural(g.judgments, "judgment")} of the ${this.judgments} over ${plural(count, "comparison")} (comparisons.count), and none came from its attack rule (${rule}), so the world is a clean panel under an attacker's name`,
      { where: { field: asleep ? `${at}.wake_after` : at }, hint: fix },
    );
  }

  private refuseBackdoor(g: Tracked, c: Extract<AttackerGroup, { type: "backdoor" }>): never {
    const { config, seed, trigger } = this.world;
    const count = config.comparisons.count;
    const who = `the backdoor group panel.raters.${g.index} (${plural(g.raters, "rater")})`;
    if (this.triggered === 0) {
      const expected = +(trigger.rate * count).toPrecision(3);
      throw new KeelError(
        "KEEL_E_CONFIG",
        `is ${trigger.rate}, so about ${expected} of the ${count} comparisons (comparisons.count) were to carry the trigger "${trigger.token}", and this world (seed ${seed}) drew none: ${who} never saw its trigger, so the world is a clean panel under a backdoor's name`,
        {
          where: { field: "trigger.rate" },
          hint: `make trigger.rate × comparisons.count at least ${MIN_EXPECTED_TRIGGERED} (comparisons.count ≥ ${Math.ceil(MIN_EXPECTED_TRIGGERED / trigger.rate)} at this rate, or trigger.rate ≥ ${+Math.min(1, MIN_EXPECTED_TRIGGERED / count).toPrecision(3)} at this count), where a world draws none less than 1% of the time`,
        },
      );
    }
    throw new KeelError(
      "KEEL_E_CONFIG",
      `${who} cast no adversarial vote: this world (seed ${seed}) drew ${plural(this.triggered, "triggered comparison")} and none was judged by one of its raters under its rule (rate ${c.rate}, claim ${c.claim}), so the world is a clean panel under a backdoor's name`,
      {
        where: { field: `panel.raters.${g.index}` },
        hint: "raise its claim (the chance it takes a triggered comparison) or rate, or trigger.rate × comparisons.count; a wake_after or easy_margin can also keep it honest everywhere",
      },
    );
  }
}

/** The knobs that give a type's rule more places to fire, beyond rate, count and size. */
function typeKnobs(
  c: AttackerGroup,
  at: string,
  goldRate: number,
): { raise: string[]; lower: string[] } {
  const unsafe =
    c.type === "flipper" ||
    (c.type === "sleeper" && c.poison === "unsafe") ||
    (c.type === "sybil" && c.goal === "unsafe");
  const entity = c.type === "entity_promoter" || (c.type === "sybil" && c.goal === "entity");
  const raise = [
    ...(unsafe ? ["prompts.families.harmful (its rule needs a harmful prompt's unsafe side)"] : []),
    ...(entity ? ["entities.mention_rate (its rule needs one side naming its entity)"] : []),
    ...(c.easy_margin !== undefined
      ? [`${at}.easy_margin (${c.easy_margin}; it hides on every gap this wide)`]
      : []),
  ];
  const lower = [
    ...(c.wake_after !== undefined ? [`${at}.wake_after (${c.wake_after})`] : []),
    ...(c.gold_detection !== undefined && c.gold_detection > 0 && goldRate > 0
      ? [`${at}.gold_detection (${c.gold_detection}) or comparisons.gold_rate`]
      : []),
    ...(c.type === "sybil" && c.jitter > 0 ? [`${at}.jitter (${c.jitter})`] : []),
  ];
  return { raise, lower };
}
