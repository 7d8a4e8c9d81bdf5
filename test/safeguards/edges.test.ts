/**
 * Safeguards at their documented edges (docs/train.md, "Safeguards"): a value exactly at a
 * threshold is within it; the gold tracker's smoothing s ← α·s + (1 − α)·x; length drift on
 * the mean length, from a baseline under one token; the EMA's relative drift ‖θ − θ̄‖/‖θ̄‖; and
 * every monitor's state surviving a checkpoint, so a resumed run raises the same events and
 * logs the same metrics as one that never stopped.
 */
import { describe, expect, it } from "vitest";
import { Gpt } from "../../src/engine/gpt/model.js";
import {
  Alarm,
  DisagreementMonitor,
  EmaMonitor,
  GoldMonitor,
  KlBudgetMonitor,
  LengthMonitor,
  parseSafeguards,
} from "../../src/safeguards/index.js";
import type { Monitor, MonitorContext } from "../../src/train/common/monitor.js";
import { monitorContext as ctx } from "./helpers.js";

describe("alarm state", () => {
  it("records whether its condition holds now, and restores it", () => {
    const a = new Alarm("x", "warn");
    const d = () => ({ message: "m", value: 1, threshold: 0 });
    a.check(1, true, d);
    expect(a.state()).toEqual({ active: true, fired: 1, armed: false, clear: 0 });
    const b = new Alarm("x", "warn");
    b.restore(a.state());
    expect(b.state()).toEqual(a.state());
    a.check(2, false, d);
    expect(a.state().active).toBe(false);
  });
});

describe("length drift", () => {
  it("a ratio exactly at max_ratio is within it", () => {
    const m = new LengthMonitor(
      parseSafeguards({ length: { max_ratio: 2, min_ratio: 0.5 } }).length!,
    );
    m.observe(ctx(1, { lengths: [10, 10] }));
    expect(m.observe(ctx(2, { lengths: [20, 20] }))).toEqual([]);
    expect(m.observe(ctx(3, { lengths: [5, 5] }))).toEqual([]);
    expect(m.observe(ctx(4, { lengths: [21, 21] }))).toHaveLength(1);
  });
  it("compares mean lengths, whatever the number of responses", () => {
    const m = new LengthMonitor(parseSafeguards({ length: { max_ratio: 2 } }).length!);
    m.observe(ctx(1, { lengths: [10] }));
    expect(m.observe(ctx(2, { lengths: [15, 15] }))).toEqual([]);
    expect(m.metrics().length_ratio).toBeCloseTo(1.5, 12);
  });
  it("watches a baseline under one token (a policy that answered almost nothing)", () => {
    const m = new LengthMonitor(parseSafeguards({ length: { max_ratio: 2 } }).length!);
    m.observe(ctx(1, { lengths: [0, 1] }));
    const e = m.observe(ctx(2, { lengths: [5, 5] }));
    expect(e).toHaveLength(1);
    expect(e[0]!.value).toBeCloseTo(10, 12);
  });
});

describe("gold-reward tracking", () => {
  it("smooths gold and proxy as s ← α·s + (1 − α)·x and reports the proxy − gold gap", async () => {
    const gold = [0.8, 0.2];
    const proxy = [0, 2];
    let i = 0;
    const m = new GoldMonitor(
      parseSafeguards({ gold: { max_drop: 0.25, smoothing: 0.5 } }).gold!,
      (ps) => ps.map(() => gold[i]!),
    );
    expect(await m.observe(ctx(1, { scores: [proxy[0]!, proxy[0]!] }))).toEqual([]);
    i = 1;
    // gold 0.8 → 0.5·0.8 + 0.5·0.2 = 0.5 (0.3 below its best, 0.8); proxy 0 → 1.
    const e = await m.observe(ctx(2, { scores: [proxy[1]!, proxy[1]!] }));
    expect(e).toHaveLength(1);
    expect(e[0]!.value).toBeCloseTo(0.3, 12);
    const g = m.metrics();
    expect(g.gold_reward).toBe(0.2);
    expect(g.gold_best).toBe(0.8);
    expect(g.gold_proxy_gap).toBeCloseTo(0.5, 12);
  });
});

describe("EMA policy", () => {
  it("reports the relative L2 distance ‖θ − θ̄‖ / ‖θ̄‖", () => {
    const model = new Gpt(
      { vocab: 11, dModel: 8, layers: 1, heads: 2, context: 8 },
      { seed: 1, threads: 1 },
    );
    const m = new EmaMonitor(parseSafeguards({ ema: { decay: 0.5, max_drift: null } }).ema!);
    m.attach(model);
    const p = model.params.flat;
    for (let i = 0; i < p.length; i++) p[i]! += 0.1;
    m.afterUpdate();
    const e = m.ema()!.shadow;
    let num = 0;
    let den = 0;
    for (let i = 0; i < p.length; i++) {
      num += (p[i]! - e[i]!) ** 2;
      den += e[i]! ** 2;
    }
    expect(m.observe({ ...ctx(1), policy: model })).toEqual([]);
    expect(m.metrics().ema_drift).toBeCloseTo(Math.sqrt(num / den), 9);
    // Every weight is 0.05 from its average (float32 weights: to 1e-6).
    expect(Math.sqrt(num / p.length)).toBeCloseTo(0.05, 6);
    void model.dispose();
  });
});

describe("state round-trips through a checkpoint", () => {
  /** Runs `steps` on one monitor, and on a second restored from the first's JSON state halfway. */
  async function resumed(make: () => Monitor, steps: MonitorContext[], cut: number) {
    const a = make();
    const b = make();
    const ea: unknown[] = [];
    const eb: unknown[] = [];
    for (let s = 0; s < steps.length; s++) {
      ea.push(await a.observe(steps[s]!), a.metrics?.());
      if (s === cut) b.restore!(JSON.parse(JSON.stringify(a.state!())));
      if (s > cut) eb.push(await b.observe(steps[s]!), b.metrics?.());
    }
    expect(eb).toEqual(ea.slice(2 * (cut + 1)));
    expect(b.state!()).toEqual(a.state!());
    // The restored state is the same after the restore as well as after the next steps.
    const c = make();
    c.restore!(JSON.parse(JSON.stringify(a.state!())));
    expect(c.state!()).toEqual(a.state!());
    expect(c.metrics?.()).toEqual(a.metrics?.());
  }

  it("KL budget", async () => {
    const o = parseSafeguards({ kl_budget: { max: 10 } }).kl_budget!;
    const kls = [9, 9, 9.5, 11, 11, 2, 2, 2, 12];
    const steps = kls.map((kl, s) => ctx(s + 1, { kl }));
    // Cut while the warning is active, then while the stop is.
    await resumed(() => new KlBudgetMonitor(o), steps, 1);
    await resumed(() => new KlBudgetMonitor(o), steps, 3);
  });

  it("reward-ensemble disagreement", async () => {
    const o = parseSafeguards({ disagreement: { max_ratio: 2, baseline_iters: 2 } }).disagreement!;
    const spreads = [1, 1, 3, 3, 1, 1, 1, 3];
    const steps = spreads.map((d, s) =>
      ctx(s + 1, {
        memberScores: [
          [0, 0],
          [d, d],
        ],
      }),
    );
    await resumed(() => new DisagreementMonitor(o), steps, 2);
  });

  it("gold-reward tracking", async () => {
    const o = parseSafeguards({ gold: { max_drop: 0.1, smoothing: 0.3 } }).gold!;
    // Gold falls while the proxy rises: the alarm fires at the second step and stays on.
    const gold = [0.5, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1];
    const steps = gold.map((g, s) =>
      ctx(s + 1, { scores: [s, s], prompts: [String(g), String(g)] }),
    );
    await resumed(() => new GoldMonitor(o, (ps) => ps.map(Number)), steps, 2);
  });

  it("length drift", async () => {
    const o = parseSafeguards({ length: { max_ratio: 1.5, baseline_iters: 2 } }).length!;
    const L = [10, 12, 30, 30, 10, 10, 10, 30];
    await resumed(
      () => new LengthMonitor(o),
      L.map((l, s) => ctx(s + 1, { lengths: [l] })),
      2,
    );
  });
});
