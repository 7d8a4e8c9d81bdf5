/**
 * Safeguards fed NaN: a diverged policy or a reward model scoring NaN must raise the alarm (or
 * at least not silence the monitor for the rest of the run), never pass as "within budget".
 * Thresholds are strict: a value exactly at the limit is within it.
 */
import { describe, expect, it } from "vitest";
import { Gpt } from "../../src/engine/gpt/model.js";
import {
  DisagreementMonitor,
  EmaMonitor,
  GoldMonitor,
  KlBudgetMonitor,
  parseSafeguards,
} from "../../src/safeguards/index.js";
import { monitorContext as ctx } from "./helpers.js";

describe("KL budget", () => {
  it("treats a NaN KL as over the budget", () => {
    const m = new KlBudgetMonitor(parseSafeguards({ kl_budget: { max: 10 } }).kl_budget!);
    const e = m.observe(ctx(1, { kl: Number.NaN }));
    expect(e.map((x) => x.severity)).toEqual(["stop"]);
    expect(e[0]!.message).toMatch(/over the budget 10/);
  });

  it("is within the budget exactly at max and below the warning exactly at the fraction", () => {
    const m = new KlBudgetMonitor(
      parseSafeguards({ kl_budget: { max: 10, warn_fraction: 0.5 } }).kl_budget!,
    );
    expect(m.observe(ctx(1, { kl: 5 }))).toEqual([]);
    expect(m.observe(ctx(2, { kl: 10 })).map((x) => x.severity)).toEqual(["warn"]);
    expect(m.observe(ctx(3, { kl: 10 }))).toEqual([]);
  });
});

describe("reward-ensemble disagreement", () => {
  const o = parseSafeguards({ disagreement: { max_ratio: 2, baseline_iters: 2 } }).disagreement!;
  const spread = (s: number) => [
    [0, 0],
    [s, s],
  ];

  it("keeps a NaN out of the baseline, so the alarm still works afterwards", () => {
    const m = new DisagreementMonitor(o);
    expect(
      m.observe(
        ctx(1, {
          memberScores: [
            [0, 0],
            [Number.NaN, 1],
          ],
        }),
      ),
    ).toEqual([]);
    expect(m.observe(ctx(2, { memberScores: spread(1) }))).toEqual([]);
    expect(m.observe(ctx(3, { memberScores: spread(1) }))).toEqual([]);
    expect(m.observe(ctx(4, { memberScores: spread(3) }))).toHaveLength(1);
  });

  it("raises the alarm on a NaN past the baseline", () => {
    const m = new DisagreementMonitor(o);
    m.observe(ctx(1, { memberScores: spread(1) }));
    m.observe(ctx(2, { memberScores: spread(1) }));
    expect(
      m.observe(
        ctx(3, {
          memberScores: [
            [0, 0],
            [Number.NaN, 1],
          ],
        }),
      ),
    ).toHaveLength(1);
  });
});

describe("gold-reward tracking", () => {
  it("a batch with a NaN gold reward does not silence the monitor", async () => {
    const gold = [0.1, Number.NaN, 0.3, 0.5, 0.35];
    const proxy = [0.1, 0.2, 0.5, 0.9, 1.3];
    let i = 0;
    const m = new GoldMonitor(
      parseSafeguards({ gold: { max_drop: 0.1, smoothing: 0 } }).gold!,
      (ps) => ps.map(() => gold[i]!),
    );
    const events = [];
    for (; i < gold.length; i++)
      events.push(...(await m.observe(ctx(i + 1, { scores: [proxy[i]!, proxy[i]!] }))));
    // Step 2's batch is all NaN, which raises its own alarm (gold-unscored.test.ts).
    expect(events.map((e) => e.step)).toEqual([2, 5]);
    expect(events[0]!.message).toMatch(/not finite/);
    expect(m.metrics().gold_best).toBeCloseTo(0.5, 12);
  });

  it("a batch with a NaN proxy score does not silence the monitor", async () => {
    const gold = [0.1, 0.3, 0.5, 0.5, 0.35];
    const proxy = [0.1, 0.5, 0.9, Number.NaN, 1.3];
    let i = 0;
    const m = new GoldMonitor(
      parseSafeguards({ gold: { max_drop: 0.1, smoothing: 0 } }).gold!,
      (ps) => ps.map(() => gold[i]!),
    );
    const events = [];
    for (; i < gold.length; i++)
      events.push(...(await m.observe(ctx(i + 1, { scores: [proxy[i]!, proxy[i]!] }))));
    expect(events.map((e) => e.step)).toEqual([5]);
  });
});

describe("EMA policy", () => {
  it("alarms when the live weights are NaN", () => {
    const model = new Gpt(
      { vocab: 11, dModel: 8, layers: 1, heads: 2, context: 8 },
      { seed: 1, threads: 1 },
    );
    const m = new EmaMonitor(parseSafeguards({ ema: { decay: 0.5, max_drift: 0.05 } }).ema!);
    m.attach(model);
    model.params.flat[0] = Number.NaN;
    expect(m.observe(ctx(1, { policy: model }))).toHaveLength(1);
    void model.dispose();
  });
});
