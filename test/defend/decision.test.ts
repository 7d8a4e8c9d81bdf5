import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { resolveAuditConfig } from "../../src/defend/config.js";
import { decide } from "../../src/defend/decision.js";
import { audit } from "../../src/defend/index.js";
import type { RaterSignal, SignalKey } from "../../src/defend/signals/signal.js";

/** A detector that scores rater 0 only (rater 1 has no evidence: reading its stats throws). */
function signal(key: SignalKey, score0: number): RaterSignal {
  const stats = [{ x: score0 }, undefined];
  return {
    key,
    score: Float64Array.from([score0, 0]),
    stats,
    reason: (w) => `score ${stats[w]!.x}`,
  };
}

describe("decide(): verdicts and their reasons", () => {
  it("a rater made suspect by several detectors below reason_at still gets reasons", () => {
    // balanced: suspect_at 0.5, reason_at 0.3. Three scores of 0.29: 1 − 0.71³ = 0.642.
    const config = resolveAuditConfig({}, "balanced");
    const d = decide(
      [signal("agreement", 0.29), signal("speed", 0.28), signal("position", 0.27)],
      2,
      config,
    );
    expect(d.verdict[0]).toBe("suspect");
    // As many of the strongest as it takes to reach suspect_at: 0.29, then 1 − 0.71·0.72 =
    // 0.489 < 0.5, then 0.627 ≥ 0.5.
    expect(d.reasons[0]).toEqual([
      "agreement: score 0.29 [0.29]",
      "speed: score 0.28 [0.28]",
      "position: score 0.27 [0.27]",
    ]);
    expect(d.verdict[1]).toBe("trusted");
    expect(d.reasons[1]).toEqual([]);
  });

  it("fails the audit, not open, on a score that is not a probability (NaN would trust the rater)", () => {
    const config = resolveAuditConfig({}, "balanced");
    for (const bad of [Number.NaN, 1.5, -0.1])
      expect(() => decide([signal("agreement", bad)], 2, config)).toThrow(
        /agreement detector scored rater #0/,
      );
  });

  it("a trusted rater lists only the detectors that reach reason_at", () => {
    const config = resolveAuditConfig({}, "balanced");
    const d = decide([signal("agreement", 0.35), signal("speed", 0.1)], 2, config);
    expect(d.verdict[0]).toBe("trusted");
    expect(d.reasons[0]).toEqual(["agreement: score 0.35 [0.35]"]);
  });

  it("reason_at 0 lists the detectors with a concern, not the ones that saw nothing", () => {
    const config = resolveAuditConfig({ verdict: { reason_at: 0 } }, "balanced");
    const d = decide([signal("agreement", 0.1)], 2, config);
    expect(d.reasons[0]).toEqual(["agreement: score 0.1 [0.10]"]);
    expect(d.reasons[1]).toEqual([]);
  });

  it("keel's own audit with reason_at 0 runs (detectors without evidence give no reason)", () => {
    const js: Judgment[] = [
      {
        comparison_id: "c1",
        prompt: "q",
        response_a: "x",
        response_b: "y",
        rater_id: "r1",
        choice: "a",
      },
    ];
    const res = audit({ judgments: js }, { config: { verdict: { reason_at: 0 } } });
    expect(res.raters[0]!.reasons).toEqual([]);
  });
});
