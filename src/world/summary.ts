/**
 * Summary statistics of a simulation, from the truth: counts by family and flag, and per rater
 * its accuracy against the true better response (ties excluded), its accuracy on gold items,
 * and how many of its votes an adversarial rule produced. Detectors are measured against these.
 */
import type { RaterType } from "./raterGroups.js";
import type { RaterProfile } from "./raters/model.js";
import type { SimulatedComparison } from "./simulate.js";

export interface RaterStats {
  readonly type: RaterType;
  readonly judgments: number;
  /** Agreement with the truly better response over comparisons without a true tie. */
  readonly accuracy: number | null;
  readonly gold_judgments: number;
  readonly gold_accuracy: number | null;
  readonly attacked: number;
}

export interface TruthSummary {
  readonly comparisons: number;
  readonly judgments: number;
  readonly ties: number;
  readonly gold: number;
  readonly triggered: number;
  readonly attacked_judgments: number;
  readonly by_family: Readonly<Record<string, number>>;
  readonly raters: Readonly<Record<string, RaterStats>>;
}

interface Acc {
  n: number;
  decided: number;
  right: number;
  gold: number;
  goldRight: number;
  attacked: number;
}

export class SummaryBuilder {
  private comparisons = 0;
  private judgments = 0;
  private ties = 0;
  private gold = 0;
  private triggered = 0;
  private attacked = 0;
  private readonly byFamily: Record<string, number> = {};
  private readonly acc = new Map<string, Acc>();

  constructor(private readonly profiles: readonly RaterProfile[]) {
    for (const p of profiles)
      this.acc.set(p.rater_id, { n: 0, decided: 0, right: 0, gold: 0, goldRight: 0, attacked: 0 });
  }

  add(sim: Pick<SimulatedComparison, "truth" | "judgments">): void {
    const t = sim.truth;
    this.comparisons++;
    this.byFamily[t.family] = (this.byFamily[t.family] ?? 0) + 1;
    if (t.better === "tie") this.ties++;
    if (t.gold) this.gold++;
    if (t.triggered) this.triggered++;
    for (const j of sim.judgments) {
      this.judgments++;
      const a = this.acc.get(j.rater_id)!;
      a.n++;
      if (t.better !== "tie") {
        a.decided++;
        if (j.choice === t.better) a.right++;
        if (t.gold) {
          a.gold++;
          if (j.choice === t.better) a.goldRight++;
        }
      }
    }
    for (const id of t.attacked_by) {
      this.acc.get(id)!.attacked++;
      this.attacked++;
    }
  }

  finish(): TruthSummary {
    const raters: Record<string, RaterStats> = {};
    for (const p of this.profiles) {
      const a = this.acc.get(p.rater_id)!;
      raters[p.rater_id] = {
        type: p.type,
        judgments: a.n,
        accuracy: a.decided > 0 ? round4(a.right / a.decided) : null,
        gold_judgments: a.gold,
        gold_accuracy: a.gold > 0 ? round4(a.goldRight / a.gold) : null,
        attacked: a.attacked,
      };
    }
    return {
      comparisons: this.comparisons,
      judgments: this.judgments,
      ties: this.ties,
      gold: this.gold,
      triggered: this.triggered,
      attacked_judgments: this.attacked,
      by_family: this.byFamily,
      raters,
    };
  }
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
