/**
 * Cohort bias findings. Where raters carry attributes (locale, cohort, …), each attribute value
 * with enough raters is compared with everyone else on three per-judgment measures:
 *
 *   excess agreement  r_j = agree_j − between_j   (consensus.ts; a cohort that departs from
 *                                                  the others on the same comparisons)
 *   longer share      on disagreements with the others' majority, chose the longer response
 *   first share       on disagreements, chose the response shown first
 *
 * Each as a two-sample z = (mean_cohort − mean_rest)/√(var_c/n_c + var_r/n_r). A finding is
 * reported at |z| ≥ min_z. Findings are for people to judge — a cohort may disagree because it
 * reads the prompts differently (language, culture), not because it is malicious — so they never
 * change a rater's suspicion or a weight.
 */
import type { AuditConfig } from "./config.js";
import type { Consensus } from "./consensus.js";
import { type AuditData, LABEL_A, LABEL_TIE } from "./data.js";

export interface CohortFinding {
  readonly attribute: string;
  readonly value: string;
  readonly raters: number;
  readonly judgments: number;
  readonly metric: "excess_agreement" | "longer_share" | "first_share";
  readonly cohort: number;
  readonly rest: number;
  readonly z: number;
  readonly note: string;
}

class Moments {
  n = 0;
  s = 0;
  ss = 0;
  add(x: number): void {
    this.n++;
    this.s += x;
    this.ss += x * x;
  }
  get mean(): number {
    return this.n > 0 ? this.s / this.n : 0;
  }
  get variance(): number {
    return this.n > 1 ? Math.max(0, (this.ss - this.n * this.mean ** 2) / (this.n - 1)) : 0;
  }
  /** The moments of the values added here and not to `part` (a subset of them). */
  minus(part: Moments): Moments {
    const m = new Moments();
    m.n = this.n - part.n;
    m.s = this.s - part.s;
    m.ss = this.ss - part.ss;
    return m;
  }
}

const METRICS = ["excess_agreement", "longer_share", "first_share"] as const;

function describe(metric: (typeof METRICS)[number], c: number, r: number): string {
  const p = (x: number) => `${(100 * x).toFixed(0)}%`;
  if (metric === "excess_agreement")
    return `agreement with the other raters of the same comparisons is ${c >= r ? "higher" : "lower"} than other raters' (excess ${c.toFixed(3)} vs ${r.toFixed(3)})`;
  if (metric === "longer_share")
    return `when disagreeing with the majority, chooses the longer response ${p(c)} of the time vs ${p(r)} for other raters`;
  return `when disagreeing with the majority, chooses the response shown first ${p(c)} of the time vs ${p(r)} for other raters`;
}

/**
 * Each attribute value's moments and everyone's, in one pass over the judgments: a pass per
 * value cost values × judgments (400 teams of 5 raters over 400,000 judgments: 27 s). A
 * value's own moments sum its judgments in input order, as before; the rest is everyone's
 * minus the value's, exact for the two shares (sums of 0s and 1s) and equal up to rounding for
 * the excess agreement.
 */
function cohortMoments(
  data: AuditData,
  loo: Consensus,
  slotOf: Int32Array,
  nValues: number,
): { inside: Moments[][]; all: Moments[] } {
  const { wordsA, wordsB } = data.comparisons;
  const inside = Array.from({ length: nValues }, () => METRICS.map(() => new Moments()));
  const all = METRICS.map(() => new Moments());
  const { order } = data;
  for (let q = 0; q < order.length; q++) {
    const j = order[q]!;
    const v = slotOf[data.rater[j]!]!;
    const mine = v >= 0 ? inside[v]! : undefined;
    const add = (metric: number, x: number) => {
      if (mine) mine[metric]!.add(x);
      all[metric]!.add(x);
    };
    const b = loo.between[j]!;
    if (!Number.isNaN(b)) add(0, loo.agree[j]! - b);
    const maj = loo.majority[j]!;
    const l = data.label[j]!;
    if (maj < 0 || l === LABEL_TIE || l === maj) continue;
    const c = data.comparison[j]!;
    if (wordsA[c] !== wordsB[c]) add(1, (l === LABEL_A) === wordsA[c]! > wordsB[c]! ? 1 : 0);
    add(2, (l === LABEL_A) !== (data.swapped[j] === 1) ? 1 : 0);
  }
  return { inside, all };
}

export function cohortFindings(
  data: AuditData,
  loo: Consensus,
  config: AuditConfig,
): CohortFinding[] {
  const cfg = config.signals.cohorts;
  if (!cfg.enabled) return [];
  const keys = new Set<string>();
  for (const a of data.attributes) if (a) for (const k of Object.keys(a)) keys.add(k);
  if (keys.size === 0) return [];
  const out: CohortFinding[] = [];
  for (const key of [...keys].sort()) {
    const cohortOf = data.attributes.map((a) => a?.[key]);
    const raterCount = new Map<string, number>();
    for (const v of cohortOf) if (v !== undefined) raterCount.set(v, (raterCount.get(v) ?? 0) + 1);
    if (raterCount.size < 2) continue;
    // The values with enough raters, in the order they are reported; other raters are "rest".
    const values = [...raterCount].sort().filter(([, n]) => n >= cfg.min_raters);
    if (values.length === 0) continue;
    const slot = new Map(values.map(([value], i) => [value, i]));
    const slotOf = Int32Array.from(cohortOf, (v) => (v === undefined ? -1 : (slot.get(v) ?? -1)));
    const { inside: byValue, all } = cohortMoments(data, loo, slotOf, values.length);
    values.forEach(([value, nRaters], vi) => {
      const inside = byValue[vi]!;
      if (inside[0]!.n < cfg.min_judgments) return;
      METRICS.forEach((metric, i) => {
        const a = inside[i]!;
        const r = all[i]!.minus(a);
        if (a.n < 10 || r.n < 10) return;
        const se = Math.sqrt(a.variance / a.n + r.variance / r.n + 1e-12);
        const z = (a.mean - r.mean) / se;
        if (Math.abs(z) < cfg.min_z) return;
        out.push({
          attribute: key,
          value,
          raters: nRaters,
          judgments: inside[0]!.n,
          metric,
          cohort: a.mean,
          rest: r.mean,
          z,
          note: `${key}=${value}: ${describe(metric, a.mean, r.mean)} (z = ${z.toFixed(1)}); a finding for people to judge, not a poisoning verdict`,
        });
      });
    });
  }
  return out.sort((x, y) => Math.abs(y.z) - Math.abs(x.z));
}
