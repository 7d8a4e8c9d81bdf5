/**
 * The collusion detector where it has no baseline: every rater's accuracy is NaN when no pair
 * shares comparisons at the rate independent assignment gives, and a team that is the only set
 * of co-raters is its own baseline. Both are documented limits (docs/defend.md, "Groups"); these
 * tests pin them, and that nothing non-finite reaches the audit.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { prepareAuditData } from "../../src/defend/data.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import { detectGroups } from "../../src/defend/groups.js";
import { audit } from "../../src/defend/index.js";

function judgment(c: string, rater: string, choice: Choice): Judgment {
  return {
    comparison_id: c,
    prompt: `question ${c}`,
    response_a: `first answer to ${c}`,
    response_b: `second answer to ${c}`,
    rater_id: rater,
    choice,
  };
}

function nonFinite(value: unknown, path = ""): string[] {
  if (typeof value === "number") return Number.isFinite(value) ? [] : [`${path}=${value}`];
  if (value instanceof Float64Array)
    return Array.from(value).flatMap((x, i) => nonFinite(x, `${path}[${i}]`));
  if (Array.isArray(value)) return value.flatMap((x, i) => nonFinite(x, `${path}[${i}]`));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}.${k}`));
  return [];
}

describe("groups without a baseline", () => {
  // Three fixed pairs, each alone on its 30 comparisons: every pair co-rates 30 where
  // independent assignment gives 5, so no rater has a partner to measure its accuracy by.
  const js = ["x", "y", "z"].flatMap((t) =>
    Array.from({ length: 30 }, (_, k) => {
      const side: Choice = k % 2 ? "a" : "b";
      return [judgment(`${t}${k}`, `${t}1`, side), judgment(`${t}${k}`, `${t}2`, side)];
    }).flat(),
  );

  it("reports no group, and no number that is not finite", () => {
    const data = prepareAuditData({ judgments: js }, { safety: ruleClassifier(), useGold: true });
    const g = detectGroups(data, resolveAuditConfig({}));
    expect(Array.from(g.pairs.co)).toEqual([30, 30, 30]);
    expect(Array.from(g.accuracy).every(Number.isNaN)).toBe(true);
    expect(g.groups).toEqual([]);
    expect(Array.from(g.signal.score)).toEqual([0, 0, 0, 0, 0, 0]);
    const r = audit({ judgments: js });
    expect(nonFinite({ ...r, config: undefined })).toEqual([]);
    expect(r.groups).toEqual([]);
  });
});

describe("a team that is the only set of co-raters", () => {
  function panel(honestOverlap: boolean): Judgment[] {
    const rng = new Rng(3);
    const js: Judgment[] = [];
    for (let k = 0; k < 300; k++)
      js.push(judgment(`u${k}`, `user${k}`, rng.bernoulli(0.5) ? "a" : "b"));
    if (honestOverlap)
      for (let k = 0; k < 300; k++)
        for (const w of rng.sampleIndices(12, 3)) {
          const right: Choice = k % 2 ? "a" : "b";
          js.push(
            judgment(`o${k}`, `h${w}`, rng.bernoulli(0.8) ? right : right === "a" ? "b" : "a"),
          );
        }
    for (let k = 0; k < 40; k++)
      for (let s = 0; s < 5; s++) js.push(judgment(`t${k}`, `sybil${s}`, "a"));
    return js;
  }
  const team = (r: ReturnType<typeof audit>) =>
    r.raters.filter((x) => x.rater_id.startsWith("sybil")).map((x) => x.verdict);

  it("is its own baseline: trusted, its comparisons kept at full weight (documented limit)", () => {
    const r = audit({ judgments: panel(false) });
    expect(r.groups).toEqual([]);
    expect(team(r)).toEqual(["trusted", "trusted", "trusted", "trusted", "trusted"]);
    const t0 = r.comparisons.find((c) => c.comparison_id === "t0")!;
    expect([t0.p_a, t0.weight]).toEqual([1, 1]);
  });

  it("is one group, excluded, once honest raters share comparisons beside it", () => {
    const r = audit({ judgments: panel(true) });
    expect(r.groups.map((g) => g.rater_ids)).toEqual([
      ["sybil0", "sybil1", "sybil2", "sybil3", "sybil4"],
    ]);
    expect(team(r)).toEqual(["excluded", "excluded", "excluded", "excluded", "excluded"]);
  });
});
