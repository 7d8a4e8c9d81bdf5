/**
 * Colluding raters and sybil accounts: agreement on co-rated comparisons in excess of what the
 * raters' individual reliabilities predict, clustered into groups.
 *
 * 1. Pair statistics (pairs.ts): co-ratings co_ij, graded agreements, E[co_ij].
 * 2. A rater's typical agreement p_i = Σ agree / Σ co over its partners whose co-rating is NOT
 *    in excess (co_ij < 3·E[co_ij] or not significant) — so a sybil's teammates, who would
 *    flatter it, are left out. With the median rater's p̄, the typical accuracy ā solves
 *    p̄ = ā² + (1 − ā)², and each rater's accuracy a_i solves p_i = a_i ā + (1 − a_i)(1 − ā).
 * 3. Under independence given the truth, i and j agree with probability
 *      E_ij = a_i a_j + (1 − a_i)(1 − a_j).
 *    A pair is an edge when co_ij ≥ min_corated, agree_ij/co_ij − E_ij ≥ min_excess, and the
 *    signed-root LR statistic z_ij of agree_ij ~ Bin(co_ij, E_ij) is at least
 *    max(min_z, √(2 ln(#pairs tested / 0.01))) (a Bonferroni bound at 1%).
 * 4. Groups are the communities of the edge graph (weights z_ij) found by label propagation
 *    (Raghavan, Albert & Kumara 2007, doi:10.1103/PhysRevE.76.036106), deterministic: nodes in
 *    the order of their rater ids, ties to the label of the smallest id; communities of two or
 *    more raters are groups. The ids, not the raters' indices (their first appearance), order
 *    it: where communities overlap (a rater colluding with two teams) propagation depends on
 *    the order, and the judgments' order must not decide how they split.
 * 5. A group's evidence pools its within-group pairs: observed agreement O_G, expected E_G,
 *    z_G, and the co-rating ratio Σ co / Σ E[co]. The group's score is −log10 of z_G's upper
 *    tail; each member's signal is P(O_G − E_G > min_excess) under a normal approximation.
 *    Groups are listed by score, equal scores (two teams both at the 300 cap) by their smallest
 *    member id; a group's members by id.
 *
 * 6. Coverage: a rater is checked by this detector when a pair of it co-rates `min_corated`
 *    comparisons and would have been an edge had the two agreed on all of them (`pairsTested`);
 *    coverage.ts warns when pairs co-rate that much but none has room for `min_excess` (no
 *    baseline: accuracies NaN, or near 1 because a team that is the only set of co-raters
 *    measures its own).
 *
 * What it cannot see: accounts that never share comparisons (then they cannot outvote anyone
 * either, and their individual behaviour is what other detectors see), and groups whose shared
 * vote is also what independent raters would give (copying the truth is not an attack).
 */

import type { AuditConfig } from "./config.js";
import type { AuditData } from "./data.js";
import { type PairTable, pairTable } from "./pairs.js";
import { emptySignal, pct, type RaterSignal, type Stats } from "./signals/signal.js";
import { binomialZ, median, minusLog10P, normalSf, poissonZ } from "./stats.js";

export interface RaterGroup {
  /** Rater indices. */
  readonly members: readonly number[];
  readonly score: number;
  readonly observed: number;
  readonly expected: number;
  readonly coRated: number;
  readonly coRatio: number;
  readonly reason: string;
}

export interface GroupResult {
  readonly groups: readonly RaterGroup[];
  readonly signal: RaterSignal;
  readonly pairs: PairTable;
  /** Expected agreement of two raters under independence (for the heatmap's reference). */
  readonly accuracy: Float64Array;
  /**
   * Pairs co-rating at least `min_corated` comparisons (`corated`); of those, the ones whose
   * expected agreement leaves room for `min_excess` (`baselined`: none means no baseline — every
   * accuracy NaN, or so near 1 that no agreement can exceed it, as when a team that is the only
   * set of co-raters measures its own); and the ones the detector could have flagged, had the
   * two agreed on every comparison they share (`testable`: also significant, step 3).
   */
  readonly pairsTested: {
    readonly corated: number;
    readonly baselined: number;
    readonly testable: number;
  };
}

/** Each rater's place among the ids sorted by code unit: an order the judgments' order cannot change. */
function idRanks(ids: readonly string[]): Int32Array {
  const byId = ids
    .map((_, w) => w)
    .sort((x, y) => (ids[x]! < ids[y]! ? -1 : ids[x]! > ids[y]! ? 1 : 0));
  const rank = new Int32Array(ids.length);
  byId.forEach((w, r) => {
    rank[w] = r;
  });
  return rank;
}

/** Labels are id ranks: nodes are visited by rank, and a tie goes to the smallest. */
function labelPropagation(rank: Int32Array, adj: Map<number, Map<number, number>>): Int32Array {
  const label = Int32Array.from(rank);
  const nodes = [...adj.keys()].sort((x, y) => rank[x]! - rank[y]!);
  for (let iter = 0; iter < 50; iter++) {
    let changed = false;
    for (const v of nodes) {
      const totals = new Map<number, number>();
      for (const [u, wgt] of adj.get(v)!) totals.set(label[u]!, (totals.get(label[u]!) ?? 0) + wgt);
      let best = label[v]!;
      let bestW = totals.get(best) ?? 0;
      for (const [l, t] of totals) {
        if (t > bestW || (t === bestW && l < best)) {
          best = l;
          bestW = t;
        }
      }
      if (best !== label[v]) {
        label[v] = best;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return label;
}

/** Step 2: each rater's accuracy from its agreement with partners not co-rating in excess. */
function raterAccuracy(pairs: PairTable, zBar: number, minCorated: number): Float64Array {
  const W = pairs.nRaters;
  const aSum = new Float64Array(W);
  const nSum = new Float64Array(W);
  for (let p = 0; p < pairs.first.length; p++) {
    const co = pairs.co[p]!;
    const e = pairs.expectedCo[p]!;
    if (co >= 3 * e && poissonZ(co, e) >= zBar) continue;
    for (const w of [pairs.first[p]!, pairs.second[p]!]) {
      aSum[w]! += pairs.agree[p]!;
      nSum[w]! += co;
    }
  }
  const typical: number[] = [];
  const pRate = new Float64Array(W).fill(Number.NaN);
  for (let w = 0; w < W; w++) {
    if (nSum[w]! > 0) {
      pRate[w] = aSum[w]! / nSum[w]!;
      if (nSum[w]! >= minCorated) typical.push(pRate[w]!);
    }
  }
  const pBar = median(typical.length > 0 ? typical : Array.from(pRate));
  const aBar = Number.isFinite(pBar) ? (1 + Math.sqrt(Math.max(0, 2 * pBar - 1))) / 2 : 0.75;
  const accuracy = new Float64Array(W);
  for (let w = 0; w < W; w++) {
    const p = Number.isFinite(pRate[w]!) ? pRate[w]! : pBar;
    const a = 2 * aBar - 1 > 0.05 ? (p - (1 - aBar)) / (2 * aBar - 1) : p;
    accuracy[w] = Math.min(1, Math.max(0, a));
  }
  return accuracy;
}

function expectedAgreement(accuracy: Float64Array, i: number, j: number): number {
  const a = accuracy[i]!;
  const b = accuracy[j]!;
  return a * b + (1 - a) * (1 - b);
}

/** Step 3: pairs agreeing in excess of independence, as a weighted adjacency map. */
function excessEdges(
  pairs: PairTable,
  accuracy: Float64Array,
  zBar: number,
  cfg: AuditConfig["signals"]["groups"],
): Map<number, Map<number, number>> {
  const adj = new Map<number, Map<number, number>>();
  const link = (i: number, j: number, wgt: number) => {
    let m = adj.get(i);
    if (!m) {
      m = new Map();
      adj.set(i, m);
    }
    m.set(j, wgt);
  };
  for (let p = 0; p < pairs.first.length; p++) {
    const co = pairs.co[p]!;
    if (co < cfg.min_corated) continue;
    const i = pairs.first[p]!;
    const j = pairs.second[p]!;
    const e = expectedAgreement(accuracy, i, j);
    if (pairs.agree[p]! / co - e < cfg.min_excess) continue;
    const z = binomialZ(pairs.agree[p]!, co, e);
    if (z < zBar) continue;
    link(i, j, z);
    link(j, i, z);
  }
  return adj;
}

/** Step 5: a community's pooled evidence, or undefined when its members share nothing. */
function groupEvidence(
  list: readonly number[],
  pairs: PairTable,
  accuracy: Float64Array,
  minExcess: number,
): (RaterGroup & { memberScore: number }) | undefined {
  let agree = 0;
  let co = 0;
  let exp = 0;
  let expCo = 0;
  for (let x = 0; x < list.length; x++) {
    for (let y = x + 1; y < list.length; y++) {
      const p = pairs.indexOf(list[x]!, list[y]!);
      if (p < 0) continue;
      agree += pairs.agree[p]!;
      co += pairs.co[p]!;
      exp += expectedAgreement(accuracy, list[x]!, list[y]!) * pairs.co[p]!;
      expCo += pairs.expectedCo[p]!;
    }
  }
  if (co === 0) return undefined;
  const observed = agree / co;
  const expected = exp / co;
  const coRatio = expCo > 0 ? co / expCo : Number.POSITIVE_INFINITY;
  const se = Math.sqrt(Math.max(observed * (1 - observed), 0.01) / co);
  const reason =
    `${list.length} raters agreed on ${pct(observed)} of ${Math.round(co)} shared judgment pairs ` +
    `where their agreement with other raters predicts ${pct(expected)}` +
    (Number.isFinite(coRatio) && coRatio >= 2
      ? `; they shared comparisons ${coRatio.toFixed(1)}× as often as independent assignment gives`
      : "");
  return {
    members: list,
    score: Math.min(300, minusLog10P(binomialZ(agree, co, expected))),
    observed,
    expected,
    coRated: co,
    coRatio,
    reason,
    memberScore: normalSf((minExcess - (observed - expected)) / se),
  };
}

export function detectGroups(data: AuditData, config: AuditConfig): GroupResult {
  const cfg = config.signals.groups;
  const W = data.nRaters;
  const pairs = pairTable(data, cfg.max_raters_per_comparison);
  const P = pairs.first.length;
  if (!cfg.enabled || P === 0)
    return {
      groups: [],
      signal: emptySignal("group", W),
      pairs,
      accuracy: new Float64Array(W).fill(Number.NaN),
      pairsTested: { corated: 0, baselined: 0, testable: 0 },
    };
  const zBar = Math.max(cfg.min_z, Math.sqrt(2 * Math.log(Math.max(1, P) / 0.01)));
  const accuracy = raterAccuracy(pairs, zBar, cfg.min_corated);
  // No rater shares comparisons with anyone at the rate independent assignment gives (fixed
  // teams, each on its own comparisons): no typical agreement to hold a pair against, and every
  // accuracy is NaN. Said here, rather than left to NaN comparisons (NaN < min_excess is false:
  // every pair became an edge of weight NaN, which label propagation happened never to join).
  if (!accuracy.some(Number.isFinite))
    return {
      groups: [],
      signal: emptySignal("group", W),
      pairs,
      accuracy,
      pairsTested: { corated: coratedPairs(pairs, cfg.min_corated), baselined: 0, testable: 0 },
    };
  const adj = excessEdges(pairs, accuracy, zBar, cfg);
  const rank = idRanks(data.raterIds);
  const label = labelPropagation(rank, adj);
  const members = new Map<number, number[]>();
  for (const v of adj.keys()) members.set(label[v]!, [...(members.get(label[v]!) ?? []), v]);
  const groups: RaterGroup[] = [];
  const score = new Float64Array(W);
  const stats: (Stats | undefined)[] = new Array(W).fill(undefined);
  for (const list of members.values()) {
    if (list.length < 2) continue;
    // The evidence sums pairs in index order (renaming keeps it bit for bit); members are
    // listed by id (the judgments' order keeps the list).
    list.sort((x, y) => x - y);
    const g = groupEvidence(list, pairs, accuracy, cfg.min_excess);
    if (!g) continue;
    const { memberScore, ...group } = g;
    groups.push({ ...group, members: [...list].sort((x, y) => rank[x]! - rank[y]!) });
    for (const w of list) {
      score[w] = memberScore;
      stats[w] = {
        group_size: list.length,
        group_agreement: g.observed,
        group_expected: g.expected,
      };
    }
  }
  groups.sort((x, y) => y.score - x.score || rank[x.members[0]!]! - rank[y.members[0]!]!);
  const { covered, ...pairsTested } = testablePairs(pairs, accuracy, zBar, cfg);
  const signal: RaterSignal = {
    key: "group",
    score,
    stats,
    covered,
    reason: (w) => {
      const s = stats[w]!;
      return `member of a group of ${s.group_size} raters agreeing ${pct(s.group_agreement!)} where ${pct(s.group_expected!)} is expected`;
    },
  };
  return { groups, signal, pairs, accuracy, pairsTested };
}

function coratedPairs(pairs: PairTable, minCorated: number): number {
  let n = 0;
  for (let p = 0; p < pairs.first.length; p++) if (pairs.co[p]! >= minCorated) n++;
  return n;
}

/**
 * The detector's evidence on a rater: a pair of it that step 3 could have made an edge, had
 * the two agreed on every comparison they share. Co-rating alone is not enough: accuracies
 * measured from the pair's own agreement (a team with no one else to compare with) predict that
 * agreement, and no pair is ever in excess.
 */
function testablePairs(
  pairs: PairTable,
  accuracy: Float64Array,
  zBar: number,
  cfg: AuditConfig["signals"]["groups"],
): { covered: Uint8Array; corated: number; baselined: number; testable: number } {
  const covered = new Uint8Array(pairs.nRaters);
  let corated = 0;
  let baselined = 0;
  let testable = 0;
  for (let p = 0; p < pairs.first.length; p++) {
    const co = pairs.co[p]!;
    if (co < cfg.min_corated) continue;
    corated++;
    const i = pairs.first[p]!;
    const j = pairs.second[p]!;
    const e = expectedAgreement(accuracy, i, j);
    if (!(1 - e >= cfg.min_excess)) continue;
    baselined++;
    if (!(binomialZ(co, co, e) >= zBar)) continue;
    testable++;
    covered[i] = 1;
    covered[j] = 1;
  }
  return { covered, corated, baselined, testable };
}
