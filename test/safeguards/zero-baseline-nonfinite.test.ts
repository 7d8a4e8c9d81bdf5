/**
 * Monitors whose baseline is 0 (docs/train.md, "Safeguards"): a ratio over a baseline of 0 is
 * ∞ (or 0/0), and a monitor that took it as "no change" was silently off for the whole run. A
 * baseline of 0 is exceeded by any value above 0; the event is told in the monitor's own unit
 * (an infinite ratio would be written to metrics.jsonl as null).
 */
import { describe, expect, it } from "vitest";
import { DisagreementMonitor, LengthMonitor, parseSafeguards } from "../../src/safeguards/index.js";
import { monitorContext as ctx } from "./helpers.js";

describe("length drift from a baseline of empty responses", () => {
  const o = parseSafeguards({ length: { max_ratio: 2, baseline_iters: 2 } }).length!;

  it("raises the alarm once responses are no longer empty", () => {
    const m = new LengthMonitor(o);
    m.observe(ctx(1, { lengths: [0, 0] }));
    m.observe(ctx(2, { lengths: [0, 0] }));
    expect(m.observe(ctx(3, { lengths: [0, 0] }))).toEqual([]);
    expect(m.metrics()).toEqual({ length_ratio: 1 });
    const e = m.observe(ctx(4, { lengths: [0, 3] }));
    expect(e).toEqual([
      {
        step: 4,
        source: "length",
        severity: "warn",
        message:
          "mean response length 1.5 tokens, from a baseline of 0 (every baseline response was empty)",
        value: 1.5,
        threshold: 0,
      },
    ]);
    // No ratio to report: it is infinite, which JSON cannot hold.
    expect(m.metrics()).toEqual({});
    expect(JSON.parse(JSON.stringify(e[0]))).toEqual(e[0]);
  });

  it("keeps its alarm state across a checkpoint", () => {
    const m = new LengthMonitor(o);
    m.observe(ctx(1, { lengths: [0] }));
    m.observe(ctx(2, { lengths: [0] }));
    const resumed = new LengthMonitor(o);
    resumed.restore(JSON.parse(JSON.stringify(m.state())));
    expect(resumed.observe(ctx(3, { lengths: [4] }))).toHaveLength(1);
  });
});

describe("ensemble disagreement over a baseline of 0", () => {
  const o = parseSafeguards({ disagreement: { max_ratio: 2, baseline_iters: 1 } }).disagreement!;
  const agree = [
    [1, 2],
    [1, 2],
  ];

  it("stays quiet while the members agree exactly, and raises the alarm once they do not", () => {
    const m = new DisagreementMonitor(o);
    m.observe(ctx(1, { memberScores: agree }));
    expect(m.observe(ctx(2, { memberScores: agree }))).toEqual([]);
    const e = m.observe(
      ctx(3, {
        memberScores: [
          [1, 2],
          [1, 2.5],
        ],
      }),
    );
    expect(e).toHaveLength(1);
    expect(e[0]!.message).toBe(
      "reward-ensemble disagreement 0.125 is over a baseline 0.000: the policy may be exploiting reward-model errors",
    );
    expect(e[0]!.value).toBe(0.125);
    expect(e[0]!.threshold).toBe(0);
    expect(Object.values(m.metrics()).every(Number.isFinite)).toBe(true);
  });
});
