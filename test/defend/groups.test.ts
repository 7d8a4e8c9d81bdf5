import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { audit } from "../../src/defend/audit.js";
import { detectGroups } from "../../src/defend/groups.js";
import { honest, type Item, makeItems } from "./fixtures.js";
import { contextFor } from "./helpers.js";

/**
 * 20 honest raters; a sybil team of 4 accounts that takes 20% of the items (3 accounts each time)
 * and copies one operator's coin; three "friends" who also take items together but judge
 * independently; two experts (right 98% of the time) who are often on the same items.
 */
function build(seed: number): Judgment[] {
  const items = makeItems({ items: 900, overlap: 3, seed, hardShare: 0.2 });
  const rng = new Rng(`${seed}/groups`);
  const out: Judgment[] = [];
  const judge = (item: Item, rater: string, choice: Choice) =>
    out.push({
      comparison_id: item.id,
      prompt: item.prompt,
      response_a: item.a,
      response_b: item.b,
      rater_id: rater,
      choice,
    });
  const hon = honest();
  const expert = honest(0.98, 0.9);
  for (const item of items) {
    const u = rng.float();
    if (u < 0.2) {
      const shared: Choice = rng.bernoulli(0.5) ? "a" : "b";
      const members = rng.shuffle(["s0", "s1", "s2", "s3"]).slice(0, 3);
      for (const m of members)
        judge(item, m, rng.bernoulli(0.02) ? (rng.bernoulli(0.5) ? "a" : "b") : shared);
    } else if (u < 0.35) {
      for (const f of ["f0", "f1", "f2"]) judge(item, f, hon(item, rng, "a"));
    } else {
      const raters = new Set<string>();
      if (rng.bernoulli(0.5)) {
        raters.add("e0");
        raters.add("e1");
      }
      while (raters.size < 3) raters.add(`h${rng.int(20)}`);
      for (const r of raters)
        judge(item, r, r.startsWith("e") ? expert(item, rng, "a") : hon(item, rng, "a"));
    }
  }
  return out;
}

describe("collusion groups", () => {
  const ctx = contextFor(build(5));
  const result = detectGroups(ctx.data, ctx.config);
  const named = result.groups.map((g) => g.members.map((w) => ctx.data.raterIds[w]!).sort());
  it("finds the sybil team as one group, with its evidence", () => {
    expect(named).toContainEqual(["s0", "s1", "s2", "s3"]);
    const g = result.groups.find((x) => x.members.length === 4)!;
    expect(g.observed).toBeGreaterThan(0.9);
    // The team never shares items with anyone else, so its expectation is the typical rater's.
    expect(g.observed - g.expected).toBeGreaterThan(0.1);
    expect(g.coRatio).toBeGreaterThan(3);
    expect(g.score).toBeGreaterThan(10);
    expect(g.reason).toMatch(/agreed on/);
    for (const id of ["s0", "s1", "s2", "s3"])
      expect(result.signal.score[ctx.data.raterIds.indexOf(id)]!).toBeGreaterThan(0.99);
  });
  it("does not group raters who only share items but judge independently, nor able experts", () => {
    for (const members of named) {
      expect(members.some((m) => m.startsWith("f"))).toBe(false);
      expect(members.some((m) => m.startsWith("e") || m.startsWith("h"))).toBe(false);
    }
    for (const id of ["f0", "f1", "f2", "e0", "e1", "h3"])
      expect(result.signal.score[ctx.data.raterIds.indexOf(id)]!).toBe(0);
  });
  it("is deterministic", () => {
    const again = detectGroups(ctx.data, ctx.config);
    expect(again.groups.map((g) => g.members)).toEqual(result.groups.map((g) => g.members));
  });
  it("counts co-ratings against what independent assignment gives", () => {
    const p = result.pairs.indexOf(
      ctx.data.raterIds.indexOf("s0"),
      ctx.data.raterIds.indexOf("s1"),
    );
    expect(result.pairs.co[p]!).toBeGreaterThan(5 * result.pairs.expectedCo[p]!);
  });
});

/**
 * 60 comparisons judged by five honest raters (each wrong on a fixed fifth) and a team that votes
 * as one, wrong on every other comparison; the comparisons are numbered from `offset`.
 */
function teamBlock(team: readonly string[], offset: number): Judgment[] {
  const out: Judgment[] = [];
  for (let i = 0; i < 60; i++) {
    const c = offset + i;
    const truth: Choice = i % 3 === 0 ? "b" : "a";
    const wrong: Choice = truth === "a" ? "b" : "a";
    const judge = (rater_id: string, choice: Choice) =>
      out.push({
        comparison_id: `c${c}`,
        prompt: `question ${c}?`,
        response_a: `answer A${c}`,
        response_b: `answer B${c}`,
        rater_id,
        choice,
      });
    for (let k = 0; k < 5; k++) judge(`h${k}`, (i + k) % 5 === 0 ? wrong : truth);
    for (const t of team) judge(t, i % 2 === 0 ? wrong : truth);
  }
  return out;
}

function permute<T>(xs: readonly T[], seed: number): T[] {
  const out = xs.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("collusion groups do not depend on the judgments' order", () => {
  // Two teams the same in every statistic: equal scores, ordered by their smallest id.
  const a = teamBlock(["a0", "a1", "a2"], 0);
  const b = teamBlock(["b0", "b1", "b2"], 60);
  const named = (js: Judgment[], options = {}) => audit({ judgments: js }, options);

  it("lists groups of equal score by their smallest member id, each group's members by id", () => {
    for (const js of [[...a, ...b], [...b, ...a], [...b, ...a].reverse()]) {
      const r = named(js);
      expect(r.groups.map((g) => g.rater_ids)).toEqual([
        ["a0", "a1", "a2"],
        ["b0", "b1", "b2"],
      ]);
      expect(r.groups[0]!.score).toBe(r.groups[1]!.score);
    }
  });

  it("picks the heatmap's raters of equal suspicion by id", () => {
    const off = { config: { signals: { groups: { enabled: false } } }, heatmapRaters: 4 };
    const first = named([...a, ...b], off).heatmap.rater_ids;
    expect(named([...b, ...a], off).heatmap.rater_ids).toEqual(first);
    expect(named([...b, ...a].reverse(), off).heatmap.rater_ids).toEqual(first);
  });

  it("splits overlapping teams the same way whatever the order (x colludes with both)", () => {
    const js = [
      ...teamBlock(["a0", "a1", "a2", "x"], 0),
      ...teamBlock(["b0", "b1", "b2", "x"], 60),
    ];
    const partition = (r: ReturnType<typeof audit>) =>
      r.groups.map((g) => g.rater_ids.join(",")).sort();
    const first = partition(named(js));
    expect(first.length).toBeGreaterThan(0);
    for (const seed of [1, 2, 3, 5, 8, 13, 21, 34])
      expect(partition(named(permute(js, seed))), `shuffle ${seed}`).toEqual(first);
  });
});
