/**
 * The backdoor's realised dose. A backdoor rater attacks only on comparisons that carry the
 * trigger, and those are drawn one by one with probability `trigger.rate`: at a small
 * `trigger.rate × comparisons.count` a world can draw none (at 0.5 expected, six seeds in ten
 * do), and even with some drawn, a group that claims none of them (`claim` 0, a long
 * `wake_after`) can see none. Such a world is a clean panel under a backdoor's name, and an
 * experiment on it measures an attack that never happened, so `simulateComparisons` refuses it
 * at the end of the draw (the files are written as one set, so none is left behind).
 *
 * Refused on the realised count rather than up front on the expected one: an expectation of 3
 * still draws none one world in twenty, and a world that drew a few triggered comparisons at a
 * small expectation did carry the attack. The count is exact for the config and seed, and the
 * error names both knobs and the minimum that makes a zero unlikely.
 */
import { KeelError } from "../core/errors.js";
import { groupCounts } from "./roster.js";
import type { SimulatedComparison } from "./simulate.js";
import type { World } from "./world.js";

/** Expected triggered comparisons at which a world draws none with probability e⁻⁵ < 0.7%. */
export const MIN_EXPECTED_TRIGGERED = 5;

interface BackdoorGroup {
  readonly index: number;
  readonly raters: number;
  readonly rate: number;
  readonly claim: number;
  readonly members: ReadonlySet<string>;
  votes: number;
}

export class BackdoorDose {
  private triggered = 0;
  private readonly groups: BackdoorGroup[];

  constructor(private readonly world: World) {
    const counts = groupCounts(world.config);
    this.groups = world.config.panel.raters.flatMap((g, index) => {
      // A group of no raters or at rate 0 (a sweep's control) attacks nowhere by design.
      if (g.type !== "backdoor" || counts[index] === 0 || g.rate === 0) return [];
      const name = `backdoor#${index}`;
      const members = new Set(
        world.roster.raters.filter((r) => r.profile.group === name).map((r) => r.profile.rater_id),
      );
      return [{ index, raters: counts[index]!, rate: g.rate, claim: g.claim, members, votes: 0 }];
    });
  }

  add(sim: SimulatedComparison): void {
    if (this.groups.length === 0) return;
    if (sim.truth.triggered) this.triggered++;
    for (const id of sim.truth.attacked_by)
      for (const g of this.groups) if (g.members.has(id)) g.votes++;
  }

  /** Throws KEEL_E_CONFIG when a backdoor group of this world never attacked. */
  check(): void {
    const { config, seed, trigger } = this.world;
    const count = config.comparisons.count;
    const g = this.groups.find((x) => x.votes === 0);
    if (g === undefined || count === 0) return;
    const who = `the backdoor group panel.raters.${g.index} (${g.raters} rater${g.raters === 1 ? "" : "s"})`;
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
      `${who} cast no adversarial vote: this world (seed ${seed}) drew ${this.triggered} triggered comparison${this.triggered === 1 ? "" : "s"} and none was judged by one of its raters under its rule (rate ${g.rate}, claim ${g.claim}), so the world is a clean panel under a backdoor's name`,
      {
        where: { field: `panel.raters.${g.index}` },
        hint: "raise its claim (the chance it takes a triggered comparison) or rate, or trigger.rate × comparisons.count; a wake_after or easy_margin can also keep it honest everywhere",
      },
    );
  }
}
