import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import {
  Alarm,
  createSafeguards,
  DisagreementMonitor,
  EmaMonitor,
  ensembleDisagreement,
  GoldMonitor,
  KlBudgetMonitor,
  LengthMonitor,
  parseSafeguards,
} from "../../src/safeguards/index.js";
import { monitorContext as ctx } from "./helpers.js";

describe("alarm", () => {
  it("fires on the rising edge and re-arms after three clear checks", () => {
    const a = new Alarm("x", "warn");
    const d = () => ({ message: "m", value: 1, threshold: 0 });
    const seq = [true, true, false, true, false, false, false, true].map(
      (on, i) => a.check(i, on, d).length,
    );
    expect(seq).toEqual([1, 0, 0, 0, 0, 0, 0, 1]);
    expect(a.fired).toBe(2);
  });
});

describe("KL budget", () => {
  it("warns past warn_fraction × max and stops past max", () => {
    const m = new KlBudgetMonitor(parseSafeguards({ kl_budget: { max: 10 } }).kl_budget!);
    expect(m.observe(ctx(1, { kl: 5 }))).toEqual([]);
    const w = m.observe(ctx(2, { kl: 8.5 }));
    expect(w.map((e) => e.severity)).toEqual(["warn"]);
    const s = m.observe(ctx(3, { kl: 10.5 }));
    expect(s.map((e) => e.severity)).toEqual(["stop"]);
    expect(s[0]!.message).toMatch(/over the budget 10/);
    expect(m.metrics().kl_budget_used).toBeCloseTo(1.05, 12);
  });
});

describe("reward-ensemble disagreement", () => {
  it("is the mean across responses of the std across members", () => {
    expect(
      ensembleDisagreement([
        [0, 1],
        [2, 1],
      ]),
    ).toBeCloseTo(0.5, 12);
    expect(ensembleDisagreement([[3, 4]])).toBe(0);
  });
  it("reports once that a single model cannot be tracked", () => {
    const m = new DisagreementMonitor(parseSafeguards({ disagreement: {} }).disagreement!);
    expect(m.observe(ctx(1)).map((e) => e.severity)).toEqual(["info"]);
    expect(m.observe(ctx(2))).toEqual([]);
  });
  it("fires when disagreement exceeds max_ratio × its baseline", () => {
    const m = new DisagreementMonitor(
      parseSafeguards({ disagreement: { max_ratio: 2, baseline_iters: 2 } }).disagreement!,
    );
    const members = (spread: number) => [
      Float64Array.from([0, 0]),
      Float64Array.from([spread, spread]),
    ];
    expect(m.observe(ctx(1, { memberScores: members(1) }))).toEqual([]);
    expect(m.observe(ctx(2, { memberScores: members(1) }))).toEqual([]);
    expect(m.observe(ctx(3, { memberScores: members(1.9) }))).toEqual([]);
    const e = m.observe(ctx(4, { memberScores: members(2.5) }));
    expect(e).toHaveLength(1);
    expect(m.metrics().rm_disagreement_ratio).toBeCloseTo(2.5, 12);
  });
  it("does not check a baseline iteration against a mean that includes it", () => {
    const m = new DisagreementMonitor(
      parseSafeguards({ disagreement: { max_ratio: 1.5, baseline_iters: 3 } }).disagreement!,
    );
    const members = (spread: number) => [Float64Array.from([0]), Float64Array.from([spread])];
    // d = 0.05, 0.05, 0.5: the third is 0.5 > 1.5 × 0.2, but it is part of the baseline.
    expect(m.observe(ctx(1, { memberScores: members(0.1), responses: ["r"] }))).toEqual([]);
    expect(m.observe(ctx(2, { memberScores: members(0.1), responses: ["r"] }))).toEqual([]);
    expect(m.observe(ctx(3, { memberScores: members(1), responses: ["r"] }))).toEqual([]);
    const e = m.observe(ctx(4, { memberScores: members(1), responses: ["r"] }));
    expect(e.map((x) => x.step)).toEqual([4]);
    expect(e[0]!.threshold).toBeCloseTo(0.3, 12);
  });
});

describe("gold-reward tracking", () => {
  const run = async (gold: number[], proxy: number[]) => {
    let i = 0;
    const m = new GoldMonitor(
      parseSafeguards({ gold: { max_drop: 0.1, smoothing: 0 } }).gold!,
      (ps) => ps.map(() => gold[i]!),
    );
    const events = [];
    for (; i < gold.length; i++)
      events.push(
        ...(await m.observe(ctx(i + 1, { scores: Float64Array.from([proxy[i]!, proxy[i]!]) }))),
      );
    return { events, m };
  };
  it("flags gold falling while the proxy rises (over-optimisation)", async () => {
    const { events, m } = await run([0.1, 0.3, 0.5, 0.35], [0.1, 0.5, 0.9, 1.3]);
    expect(events).toHaveLength(1);
    expect(events[0]!.step).toBe(4);
    expect(events[0]!.message).toMatch(/over-optimisation/);
    expect(m.metrics().gold_best).toBeCloseTo(0.5, 12);
  });
  it("stays quiet when the proxy falls with the gold reward", async () => {
    const { events } = await run([0.1, 0.5, 0.3], [0.1, 0.9, 0.4]);
    expect(events).toEqual([]);
  });
});

describe("length drift", () => {
  it("fires outside [min_ratio, max_ratio] × the baseline, both ways", () => {
    const o = parseSafeguards({ length: { max_ratio: 2, min_ratio: 0.5 } }).length!;
    const up = new LengthMonitor(o);
    expect(up.observe(ctx(1, { lengths: [10, 10] }))).toEqual([]);
    expect(up.observe(ctx(2, { lengths: [19, 19] }))).toEqual([]);
    expect(up.observe(ctx(3, { lengths: [25, 25] }))[0]!.message).toMatch(/2\.50×/);
    const down = new LengthMonitor(o);
    down.observe(ctx(1, { lengths: [10, 10] }));
    expect(down.observe(ctx(2, { lengths: [4, 4] }))).toHaveLength(1);
  });
  it("state round-trips: a restored monitor behaves as the original", () => {
    const o = parseSafeguards({ length: { baseline_iters: 2 } }).length!;
    const a = new LengthMonitor(o);
    a.observe(ctx(1, { lengths: [10] }));
    a.observe(ctx(2, { lengths: [12] }));
    const b = new LengthMonitor(o);
    b.restore(JSON.parse(JSON.stringify(a.state())));
    expect(b.observe(ctx(3, { lengths: [30] }))).toEqual(a.observe(ctx(3, { lengths: [30] })));
  });
});

describe("EMA policy", () => {
  it("averages the weights after each update and alarms on drift", () => {
    const model = new Gpt(
      { vocab: 11, dModel: 8, layers: 1, heads: 2, context: 8 },
      { seed: 1, threads: 1 },
    );
    const m = new EmaMonitor(parseSafeguards({ ema: { decay: 0.5, max_drift: 0.05 } }).ema!);
    m.attach(model);
    const before = Float64Array.from(model.params.flat);
    for (let i = 0; i < model.params.flat.length; i++) model.params.flat[i]! += 0.1;
    m.afterUpdate();
    const e = m.ema()!.shadow;
    expect(e[0]).toBeCloseTo(before[0]! + 0.05, 6);
    const events = m.observe({ ...ctx(1), policy: model });
    expect(m.metrics().ema_drift).toBeGreaterThan(0.05);
    expect(events).toHaveLength(1);
    void model.dispose();
  });
});

describe("config", () => {
  it("rejects unknown fields and builds monitors in order", () => {
    expect(() => parseSafeguards({ kl_budget: { max: 1, maxx: 2 } })).toThrow(KeelError);
    const c = parseSafeguards({ kl_budget: { max: 1 }, gold: {}, length: {} });
    expect(createSafeguards(c, { gold: (p) => p.map(() => 0) }).map((m) => m.name)).toEqual([
      "kl_budget",
      "gold",
      "length",
    ]);
  });
  it("refuses gold tracking without a gold scorer instead of silently dropping it", () => {
    const c = parseSafeguards({ kl_budget: { max: 1 }, gold: { action: "stop" } });
    let err: unknown;
    try {
      createSafeguards(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeelError);
    expect((err as KeelError).code).toBe("KEEL_E_CONFIG");
    expect((err as KeelError).where?.field).toBe("safeguards.gold");
    expect(createSafeguards(parseSafeguards({ kl_budget: { max: 1 } })).map((m) => m.name)).toEqual(
      ["kl_budget"],
    );
  });
});
