import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { RunningMoments } from "../../src/train/common/moments.js";
import { gae, maskedMoments, whiten } from "../../src/train/ppo/gae.js";
import { AdaptiveKlController, FixedKlController } from "../../src/train/ppo/klControl.js";
import { Lagrangian } from "../../src/train/ppo/lagrangian.js";
import { aggregateScores } from "../../src/train/rm/ensemble.js";
import { pairEvalMetrics } from "../../src/train/rm/metrics.js";

describe("GAE", () => {
  it("matches the hand-computed example (γ = λ = 1)", () => {
    const g = gae([0, 1], [0.5, 0.5], [1, 1], { batch: 1, length: 2 }, 1, 1);
    expect(Array.from(g.advantages)).toEqual([0.5, 0.5]);
    expect(Array.from(g.returns)).toEqual([1, 1]);
  });
  it("matches the recursive definition on random rows with masks and γ, λ < 1", () => {
    const rng = new Rng(4);
    const B = 3;
    const T = 7;
    const starts = [2, 0, 4];
    const lens = [4, 7, 2];
    const mask = new Float64Array(B * T);
    starts.forEach((s, b) => {
      for (let t = s; t < s + lens[b]!; t++) mask[b * T + t] = 1;
    });
    const r = Float64Array.from({ length: B * T }, () => rng.normal());
    const v = Float64Array.from({ length: B * T }, () => rng.normal());
    const g = gae(r, v, mask, { batch: B, length: T }, 0.9, 0.8);
    for (let b = 0; b < B; b++) {
      let A = 0;
      for (let t = starts[b]! + lens[b]! - 1; t >= starts[b]!; t--) {
        const i = b * T + t;
        const nextV = t + 1 < starts[b]! + lens[b]! ? v[i + 1]! : 0;
        A = r[i]! + 0.9 * nextV - v[i]! + 0.9 * 0.8 * A;
        expect(g.advantages[i]).toBeCloseTo(A, 12);
        expect(g.returns[i]).toBeCloseTo(A + v[i]!, 12);
      }
    }
    for (let i = 0; i < B * T; i++) if (mask[i] === 0) expect(g.advantages[i]).toBe(0);
  });
  it("whitening gives masked mean 0 and std 1", () => {
    const x = [3, 1, 4, 1, 5, 9, 2, 6];
    const m = [1, 1, 0, 1, 1, 1, 0, 1];
    const w = whiten(x, m);
    const s = maskedMoments(w, m);
    expect(s.mean).toBeCloseTo(0, 12);
    expect(s.std).toBeCloseTo(1, 6);
    expect(w[2]).toBe(0);
  });
  it("whitening divides by the population std + 1e-8, so a single action whitens to 0", () => {
    // TRL's masked_whiten (Bessel-corrected variance) would divide by 0 here and give NaN.
    expect(Array.from(whiten([5, 7], [0, 1]))).toEqual([0, 0]);
    const w = whiten([1, 3], [1, 1]);
    expect(w[1]).toBeCloseTo(1 / (1 + 1e-8), 15);
  });
  it("whitening never reads a masked-out position", () => {
    const w = whiten([1, 3, Number.NaN, Number.POSITIVE_INFINITY], [1, 1, 0, 0]);
    expect(w[0]).toBeCloseTo(-1, 6);
    expect(w[1]).toBeCloseTo(1, 6);
    expect(Array.from(w.slice(2))).toEqual([0, 0]);
  });
});

describe("KL controllers (Ziegler et al. 2019)", () => {
  it("fixed stays put", () => {
    const k = new FixedKlController(0.2);
    k.update();
    expect(k.beta).toBe(0.2);
  });
  it("adaptive follows β·(1 + clip(KL/target − 1, ±0.2)·n/horizon)", () => {
    const k = new AdaptiveKlController(0.1, 6, 10000);
    k.update(12, 64);
    expect(k.beta).toBeCloseTo(0.1 * (1 + 0.2 * 0.0064), 15);
    k.update(6.6, 64);
    expect(k.beta).toBeCloseTo(0.1 * (1 + 0.2 * 0.0064) * (1 + 0.1 * 0.0064), 15);
    const down = new AdaptiveKlController(0.1, 6, 10000);
    down.update(0, 64);
    expect(down.beta).toBeCloseTo(0.1 * (1 - 0.2 * 0.0064), 15);
  });
  it("adaptive leaves β as it was on a NaN KL, so one bad batch cannot poison later rewards", () => {
    const k = new AdaptiveKlController(0.1, 6, 10000);
    k.update(Number.NaN, 64);
    expect(k.beta).toBe(0.1);
    k.update(12, 64);
    expect(k.beta).toBeCloseTo(0.1 * (1 + 0.2 * 0.0064), 15);
    k.update(Number.POSITIVE_INFINITY, 64);
    expect(k.beta).toBeCloseTo(0.1 * (1 + 0.2 * 0.0064) ** 2, 15);
  });
  it("adaptive drives β up while KL stays above target and down below", () => {
    const k = new AdaptiveKlController(0.1, 1, 100);
    for (let i = 0; i < 50; i++) k.update(5, 10);
    expect(k.beta).toBeGreaterThan(0.1 * 1.02 ** 49);
  });
});

describe("Lagrange multiplier (Safe-RLHF)", () => {
  it("grows while the cost is over the threshold and shrinks once under", () => {
    const l = new Lagrangian({ init: 1, threshold: 0.5, lr: 0.1, max: 10 });
    l.update(1.5);
    expect(l.lambda).toBeCloseTo(Math.exp(0.1), 12);
    for (let i = 0; i < 100; i++) l.update(3);
    expect(l.lambda).toBe(10);
    // The step on log λ is η·λ·(J_C − d): λ decays like 1/(0.1 + 0.15k) once under, not
    // geometrically, so it takes about 670 updates from the cap to fall below 0.01.
    for (let i = 0; i < 1000; i++) l.update(-1);
    expect(l.lambda).toBeLessThan(0.01);
  });
  it("steps log λ by η·λ·(J_C − d), the gradient of the dual in log λ (Safe-RLHF eq. 31)", () => {
    const l = new Lagrangian({ init: 3, threshold: 0.5, lr: 0.1, max: 10 });
    l.update(1.5);
    expect(l.lambda).toBeCloseTo(3 * Math.exp(0.3), 12);
    l.update(0.5 - 1 / l.lambda);
    expect(l.lambda).toBeCloseTo(3 * Math.exp(0.3 - 0.1), 12);
  });
  it("leaves λ as it was on a NaN mean cost; an infinite one hits the cap", () => {
    const l = new Lagrangian({ init: 1, threshold: 0.5, lr: 0.1, max: 10 });
    l.update(Number.NaN);
    expect(l.lambda).toBe(1);
    l.update(1.5);
    expect(l.lambda).toBeCloseTo(Math.exp(0.1), 12);
    l.update(Number.POSITIVE_INFINITY);
    expect(l.lambda).toBe(10);
    l.update(Number.NEGATIVE_INFINITY);
    expect(l.lambda).toBe(1e-8);
  });
  it("combines advantages as (A_r − λ A_c)/(1 + λ)", () => {
    const l = new Lagrangian({ init: 2, threshold: 0, lr: 0.1, max: 10 });
    expect(Array.from(l.combine([3, 0], [1, 3]))).toEqual([1 / 3, -2]);
  });
});

describe("running moments", () => {
  it("equal the statistics of everything seen, batch by batch", () => {
    const rng = new Rng(2);
    const all: number[] = [];
    const m = new RunningMoments();
    for (let k = 0; k < 5; k++) {
      const batch = Array.from({ length: 3 + k }, () => rng.normal(2, 3));
      m.update(batch);
      all.push(...batch);
    }
    const mu = all.reduce((a, x) => a + x, 0) / all.length;
    const sd = Math.sqrt(all.reduce((a, x) => a + (x - mu) ** 2, 0) / all.length);
    expect(m.mean).toBeCloseTo(mu, 12);
    expect(m.std).toBeCloseTo(sd, 12);
    expect(new RunningMoments(m.state()).std).toBe(m.std);
  });
  it("leave a NaN or infinite score out, so one bad batch does not spoil every later one", () => {
    const m = new RunningMoments();
    m.update([1, 2]);
    m.update([Number.NaN, 3, Number.POSITIVE_INFINITY]);
    m.update([Number.NaN]);
    const clean = new RunningMoments();
    clean.update([1, 2]);
    clean.update([3]);
    expect(m.state()).toEqual(clean.state());
    expect(m.n).toBe(3);
    expect(m.mean).toBe(2);
  });
});

describe("reward-model metrics and ensembles", () => {
  it("accuracy, margin and a calibration error of 0 for a calibrated toy", () => {
    // 4 pairs at confidence σ(ln 3) = 0.75, 3 right and 1 wrong: perfectly calibrated.
    const d = Math.log(3);
    const m = pairEvalMetrics([d, d, d, 0], [0, 0, 0, d]);
    expect(m.accuracy).toBe(0.75);
    expect(m.margin).toBeCloseTo(d / 2, 12);
    expect(m.ece).toBeCloseTo(0, 12);
  });
  it("an overconfident model has ECE = confidence − accuracy", () => {
    const m = pairEvalMetrics([10, 10, 0, 0], [0, 0, 10, 10]);
    expect(m.accuracy).toBe(0.5);
    expect(m.ece).toBeCloseTo(1 / (1 + Math.exp(-10)) - 0.5, 9);
  });
  it("cost sign accuracy: cost > 0 means unsafe", () => {
    const m = pairEvalMetrics([-1, -1], [2, -3], {
      sign: -1,
      chosenSafe: [true, true],
      rejectedSafe: [false, false],
    });
    expect(m.accuracy).toBe(0.5);
    expect(m.sign_accuracy).toBe(0.75);
  });
  it("ensemble scoring: mean, worst case and mean − λ·std", () => {
    const members = [
      [1, 0],
      [3, 0],
    ];
    expect(Array.from(aggregateScores(members, "mean", 1).score)).toEqual([2, 0]);
    expect(Array.from(aggregateScores(members, "worst", 1).score)).toEqual([1, 0]);
    expect(Array.from(aggregateScores(members, "uncertainty", 0.5).score)).toEqual([1.5, 0]);
  });
});
