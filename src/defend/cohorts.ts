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
  // Per-judgment measures, computed once.
  const { wordsA, wordsB } = data.comparisons;
  const out: CohortFinding[] = [];
  for (const key of [...keys].sort()) {
    const cohortOf = data.attributes.map((a) => a?.[key]);
    const raterCount = new Map<string, number>();
    for (const v of cohortOf) if (v !== undefined) raterCount.set(v, (raterCount.get(v) ?? 0) + 1);
    if (raterCount.size < 2) continue;
    for (const [value, nRaters] of [...raterCount].sort()) {
      if (nRaters < cfg.min_raters) continue;
      const inside = METRICS.map(() => new Moments());
      const outside = METRICS.map(() => new Moments());
      for (let q = 0; q < data.order.length; q++) {
        const j = data.order[q]!;
        const mine = cohortOf[data.rater[j]!] === value;
        const m = mine ? inside : outside;
        const b = loo.between[j]!;
        if (!Number.isNaN(b)) m[0]!.add(loo.agree[j]! - b);
        const maj = loo.majority[j]!;
        const l = data.label[j]!;
        if (maj < 0 || l === LABEL_TIE || l === maj) continue;
        const c = data.comparison[j]!;
        if (wordsA[c] !== wordsB[c]) m[1]!.add((l === LABEL_A) === wordsA[c]! > wordsB[c]! ? 1 : 0);
        m[2]!.add((l === LABEL_A) !== (data.swapped[j] === 1) ? 1 : 0);
      }
      if (inside[0]!.n < cfg.min_judgments) continue;
      METRICS.forEach((metric, i) => {
        const a = inside[i]!;
        const r = outside[i]!;
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
    }
  }
  return out.sort((x, y) => Math.abs(y.z) - Math.abs(x.z));
}
