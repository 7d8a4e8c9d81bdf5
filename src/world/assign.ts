/**
 * Who rates a comparison: `overlap` distinct raters drawn in proportion to their activity,
 * except that (1) a triggered comparison is first offered to each claiming backdoor group, which
 * takes it with probability `claim` and fills the slots with its own raters, and (2) when a
 * sybil account is drawn, its teammates join with probability `co_assign` and fill the
 * remaining slots.
 *
 * Claims keep the design paired. The panel a comparison would have had is drawn first, from the
 * same stream and in the same way whether or not anyone claims it, and the claims draw from a
 * stream of their own; the claimers take the first slots and that panel fills the rest in its
 * order. So a world with a claiming attacker and the same world without one (same seed, same
 * roster order) give every unclaimed comparison the same raters, and a claimed one keeps the
 * raters the claimers left room for. The raters a claim pushed out are returned as `displaced`,
 * for the caller to keep their vote streams in step (src/world/simulate.ts). Draws are with replacement and rejection of repeats, which is fast because
 * the overlap is usually small next to the panel; after `MAX_REJECTS` repeats in one comparison
 * (an overlap near the panel's size, or a rater far less active than the rest) the remaining
 * slots are drawn by a scan over the raters not yet taken, so a comparison never stalls.
 */
import type { Rng } from "../core/rng.js";
import type { Roster } from "./roster.js";

const MAX_REJECTS = 64;

/** Up to `overlap` distinct raters, in the order `add` was given them. */
function slots(overlap: number) {
  const chosen: number[] = [];
  const taken = new Set<number>();
  const add = (i: number) => {
    if (chosen.length < overlap && !taken.has(i)) {
      taken.add(i);
      chosen.push(i);
    }
  };
  return { chosen, taken, add };
}

export class Assigner {
  private readonly cumulative: Float64Array;
  private readonly teamOf: Int32Array;

  constructor(
    private readonly roster: Roster,
    private readonly overlap: number,
    private readonly rng: Rng,
    private readonly claimRng: Rng,
  ) {
    const n = roster.raters.length;
    this.cumulative = new Float64Array(n);
    let total = 0;
    roster.raters.forEach((r, i) => {
      total += r.profile.activity;
      this.cumulative[i] = total;
    });
    this.teamOf = new Int32Array(n).fill(-1);
    roster.teams.forEach((t, ti) => {
      for (const m of t.members) this.teamOf[m] = ti;
    });
  }

  /**
   * The raters who judge the next comparison, by index, in the order they were drawn, and the
   * ones its panel would have had that a claim displaced.
   */
  pick(triggered: boolean): { readonly chosen: number[]; readonly displaced: number[] } {
    const panel = this.panel();
    if (!triggered || this.roster.claims.length === 0) return { chosen: panel, displaced: [] };
    const { chosen, taken, add } = slots(this.overlap);
    for (const c of this.roster.claims) {
      if (chosen.length < this.overlap && this.claimRng.bernoulli(c.claim)) {
        for (const m of this.claimRng.shuffle([...c.members])) add(m);
      }
    }
    for (const i of panel) add(i);
    return { chosen, displaced: panel.filter((i) => !taken.has(i)) };
  }

  /** `overlap` distinct raters by activity, with sybil teammates joining the one drawn. */
  private panel(): number[] {
    const { chosen, taken, add } = slots(this.overlap);
    let rejects = 0;
    while (chosen.length < this.overlap) {
      const i = rejects < MAX_REJECTS ? this.drawOne() : this.drawUntaken(taken);
      if (taken.has(i)) {
        rejects++;
        continue;
      }
      add(i);
      const ti = this.teamOf[i]!;
      if (ti >= 0) {
        const team = this.roster.teams[ti]!;
        if (this.rng.bernoulli(team.co_assign)) {
          for (const m of this.rng.shuffle(team.members.filter((x) => x !== i))) add(m);
        }
      }
    }
    return chosen;
  }

  /** A rater not in `taken`, in proportion to activity, by a linear scan. */
  private drawUntaken(taken: ReadonlySet<number>): number {
    const raters = this.roster.raters;
    let total = 0;
    let last = -1;
    for (let i = 0; i < raters.length; i++) {
      if (taken.has(i)) continue;
      total += raters[i]!.profile.activity;
      last = i;
    }
    let u = this.rng.float() * total;
    for (let i = 0; i < raters.length; i++) {
      if (taken.has(i)) continue;
      u -= raters[i]!.profile.activity;
      if (u < 0) return i;
    }
    return last;
  }

  private drawOne(): number {
    const c = this.cumulative;
    const u = this.rng.float() * c[c.length - 1]!;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
