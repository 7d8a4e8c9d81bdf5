import { describe, expect, it } from "vitest";
import type { Rater } from "../../src/core/types.js";
import { audit } from "../../src/defend/index.js";
import {
  type Behaviour,
  honest,
  honestRaters,
  makeItems,
  type PanelOptions,
  simulate,
} from "./fixtures.js";

const OPTS: PanelOptions = { items: 900, overlap: 3, seed: 31, hardShare: 0.2 };

describe("cohort bias findings", () => {
  // Cohort "de": honest, but when unsure (hard items) picks the longer response.
  const longerWhenUnsure: Behaviour = (item, rng, f) =>
    item.hard ? item.longer : honest()(item, rng, f);
  const raters = [
    ...honestRaters(12),
    ...[0, 1, 2, 3].map((i) => ({ id: `de${i}`, behaviour: longerWhenUnsure })),
  ];
  const judgments = simulate(makeItems(OPTS), raters, OPTS);
  const attrs: Rater[] = raters.map((r) => ({
    rater_id: r.id,
    attributes: { locale: r.id.startsWith("de") ? "de" : "en" },
  }));

  it("reports the cohort that systematically departs from the others, as a finding", () => {
    const res = audit({ judgments, raters: attrs });
    const f = res.findings.find((x) => x.value === "de" && x.metric === "longer_share");
    expect(f).toBeDefined();
    expect(f!.cohort).toBeGreaterThan(f!.rest);
    expect(f!.note).toMatch(/not a poisoning verdict/);
    // A finding never changes a verdict: the same audit without attributes has the same raters.
    const bare = audit({ judgments });
    expect(bare.findings).toEqual([]);
    expect(bare.raters.map((r) => r.suspicion)).toEqual(res.raters.map((r) => r.suspicion));
  });

  it("finds nothing when cohorts rate alike", () => {
    const plain = simulate(makeItems(OPTS), honestRaters(16), OPTS);
    const split: Rater[] = Array.from({ length: 16 }, (_, i) => ({
      rater_id: `h${i}`,
      attributes: { locale: i % 2 ? "de" : "en" },
    }));
    expect(audit({ judgments: plain, raters: split }).findings).toEqual([]);
  });
});
