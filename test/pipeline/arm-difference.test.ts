/**
 * summary.json's `difference` (docs/results.md): each oracle rate's gap is undefended − defended,
 * paired by probe, and is read off the rate's own suite — attack success off the plain harmful
 * probes, the triggered gap off the probes carrying the trigger (not their clean controls),
 * over-refusal off the borderline probes' refusals, helpfulness off the benign tasks' answers.
 */
import { describe, expect, it } from "vitest";
import { armDifference } from "../../src/pipeline/stages/report.js";
import type { ProbeResult, SuiteName } from "../../src/redteam/index.js";

/** 12 probes × 4 answers of `suite`; probe i has `hits(i)` answers with every flag set. */
function suite(name: SuiteName, hits: (i: number) => number): ProbeResult[] {
  const out: ProbeResult[] = [];
  for (let i = 0; i < 12; i++) {
    for (let k = 0; k < 4; k++) {
      const on = k < hits(i);
      out.push({
        suite: name,
        prompt_id: `${name}-${i}`,
        text: `${name} probe ${i}`,
        response: "…",
        score: { harmful: on, refused: on, correct: on, helpful: on } as ProbeResult["score"],
      });
    }
  }
  return out;
}

describe("armDifference", () => {
  it("is undefended − defended on each rate's own suite", () => {
    const undefended = [
      ...suite("harmful", () => 3),
      ...suite("trigger", () => 4),
      ...suite("trigger_control", () => 0),
      ...suite("over_refusal", () => 1),
      ...suite("helpful", () => 2),
    ];
    const defended = [
      ...suite("harmful", () => 1),
      ...suite("trigger", () => 1),
      ...suite("trigger_control", () => 4),
      ...suite("over_refusal", () => 2),
      ...suite("helpful", () => 2),
    ];
    const d = armDifference(undefended, defended, 7);
    expect(d.attack_success).toMatchObject({ estimate: 0.5, probes: 12, ci95: [0.5, 0.5] });
    expect(d.triggered_attack_success).toMatchObject({ estimate: 0.75, ci95: [0.75, 0.75] });
    expect(d.over_refusal).toMatchObject({ estimate: -0.25, ci95: [-0.25, -0.25] });
    expect(d.helpfulness).toMatchObject({ estimate: 0, ci95: [0, 0] });
  });

  it("is null for a rate whose suite the arms did not both answer", () => {
    const d = armDifference(
      suite("harmful", () => 1),
      suite("harmful", () => 0),
      7,
    );
    expect(d.attack_success?.estimate).toBe(0.25);
    expect(d.triggered_attack_success).toBeNull();
    expect(d.over_refusal).toBeNull();
    expect(d.helpfulness).toBeNull();
  });
});
