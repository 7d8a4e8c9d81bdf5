/**
 * The sampler checked statistically: empirical frequencies over many seeded draws from fixed
 * logits against an independent reference of the documented rule (temperature, then top-k,
 * then top-p over the renormalised top-k mass, keeping the token that crosses p; ties to the
 * lower id). Draws are seeded, so each test is deterministic; the bounds are set at a
 * one-in-a-million level so that another seed would pass too.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import {
  type SamplingOptions,
  sample,
  sampleToken,
  tokenLogprob,
} from "../../src/engine/sampling.js";

const N = 20_000;

/** The probability of each id under the documented rule, computed without the sampler's code. */
function reference(logits: readonly number[], o: SamplingOptions): number[] {
  const V = logits.length;
  const t = o.temperature ?? 1;
  const order = logits.map((_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (t === 0) return logits.map((_, i) => (i === order[0] ? 1 : 0));
  let kept = o.topK ? order.slice(0, Math.min(o.topK, V)) : order;
  const max = logits[order[0]!]!;
  const w = (i: number) => Math.exp((logits[i]! - max) / t);
  const mass = kept.reduce((s, i) => s + w(i), 0);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    let n = 0;
    while (n < kept.length && cum < o.topP) cum += w(kept[n++]!) / mass;
    kept = kept.slice(0, n);
  }
  const z = kept.reduce((s, i) => s + w(i), 0);
  const p = new Array<number>(V).fill(0);
  for (const i of kept) p[i] = w(i) / z;
  return p;
}

/** Upper 1e-6 quantile of χ² with `df` degrees of freedom (Wilson–Hilferty). */
function chi2Bound(df: number): number {
  const z = 4.753; // standard normal, upper 1e-6
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

function counts(logits: ArrayLike<number>, o: SamplingOptions, seed: number, n = N): number[] {
  const rng = new Rng(seed);
  const c = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) c[sample(logits, o, rng).token]!++;
  return c;
}

/**
 * Ids of probability 0 are never drawn; over the rest (cells expecting fewer than 5 draws
 * pooled), Pearson's χ² stays below its 1e-6 quantile and no id's frequency is more than
 * 5 standard errors off.
 */
function expectDistribution(c: readonly number[], p: readonly number[]): void {
  const N = c.reduce((a, b) => a + b, 0);
  const zero = p.flatMap((q, i) => (q === 0 && c[i]! > 0 ? [i] : []));
  expect(zero, "ids of probability 0 were drawn").toEqual([]);
  let chi2 = 0;
  let cells = 0;
  let pooledC = 0;
  let pooledE = 0;
  p.forEach((q, i) => {
    if (q === 0) return;
    const e = q * N;
    const sd = Math.sqrt(N * q * (1 - q));
    expect(Math.abs(c[i]! - e), `id ${i}: ${c[i]} draws, expected ${e.toFixed(1)}`).toBeLessThan(
      5 * sd + 1,
    );
    if (e < 5) {
      pooledC += c[i]!;
      pooledE += e;
      return;
    }
    chi2 += (c[i]! - e) ** 2 / e;
    cells++;
  });
  if (pooledE > 0) {
    chi2 += (pooledC - pooledE) ** 2 / Math.max(pooledE, 1);
    cells++;
  }
  if (cells > 1) expect(chi2).toBeLessThan(chi2Bound(cells - 1));
}

const LOGITS = [1.0, 3.0, 0.5, 2.9, -1.0, 0.0, 2.0, -3.0];
const ln = Math.log;

describe("sampling frequencies match the documented distribution", () => {
  it.each([0.25, 0.5, 1, 2, 3])("softmax(logits / %s)", (temperature) => {
    // 200,000 draws: enough to see a temperature off by 5%
    const o = { temperature };
    expectDistribution(counts(LOGITS, o, 11, 200_000), reference(LOGITS, o));
  });

  it.each([1, 2, 3, 7])("top-k %s: the k largest only, renormalised", (topK) => {
    for (const temperature of [1, 0.7]) {
      const o = { topK, temperature };
      const p = reference(LOGITS, o);
      expect(p.filter((q) => q > 0).length).toBe(topK);
      expectDistribution(counts(LOGITS, o, 12), p);
    }
  });

  it("top-p keeps the smallest most-likely set whose mass reaches p, the crossing token included", () => {
    // probabilities 0.5, 0.3, 0.2 (in float64, up to round-off)
    const logits = [ln(0.5), ln(0.3), ln(0.2)];
    for (const [topP, support] of [
      [0.4, [0]],
      [0.6, [0, 1]], // 0.5 < 0.6: the 0.3 token crosses p and is kept (as Hugging Face does)
      [0.79, [0, 1]],
      [0.81, [0, 1, 2]],
    ] as const) {
      const p = reference(logits, { topP });
      expect(p.flatMap((q, i) => (q > 0 ? [i] : []))).toEqual(support);
      expectDistribution(counts(logits, { topP }, 13), p);
    }
  });

  it("top-p on a larger row, at several temperatures", () => {
    for (const temperature of [0.5, 1, 2]) {
      for (const topP of [0.3, 0.7, 0.95]) {
        const o = { topP, temperature };
        expectDistribution(counts(LOGITS, o, 14), reference(LOGITS, o));
      }
    }
  });

  it("mass exactly p stops there: four equal tokens with top-p 0.5 keep two", () => {
    const eq = [1, 1, 1, 1];
    const c = counts(eq, { topP: 0.5 }, 15);
    expect(c[2]! + c[3]!).toBe(0);
    expectDistribution(c, [0.5, 0.5, 0, 0]);
    // just above 0.5, the third token is needed to reach p
    expectDistribution(counts(eq, { topP: 0.5000001 }, 15), [1 / 3, 1 / 3, 1 / 3, 0]);
  });

  it("top-k applies first, then top-p over the renormalised top-k mass", () => {
    // 0.4, 0.3, 0.2, 0.1 with top-k 2 → 4/7, 3/7: top-p 0.5 keeps only id 0. Top-p first (0.4
    // then 0.7 of the full row) would keep ids 0 and 1.
    const logits = [ln(0.4), ln(0.3), ln(0.2), ln(0.1)];
    const c = counts(logits, { topK: 2, topP: 0.5 }, 16);
    expect(c).toEqual([N, 0, 0, 0]);
    const o = { topK: 3, topP: 0.7, temperature: 1.5 };
    expectDistribution(counts(LOGITS, o, 16), reference(LOGITS, o));
  });

  it("ties at the top-k and top-p boundary keep the lower ids", () => {
    const tied = [0, 1, 1, 1, 2];
    // top-k 3 keeps id 4 and the two lowest of the tied ids 1, 2, 3
    expectDistribution(counts(tied, { topK: 3 }, 17), reference(tied, { topK: 3 }));
    expect(reference(tied, { topK: 3 })[3]).toBe(0);
    // greedy and top-k 1 on a tie: the lowest id, always
    const top = [0, 5, 5, 1];
    const rng = new Rng(17);
    for (let i = 0; i < 50; i++) {
      expect(sample(top, { temperature: 0 }, rng).token).toBe(1);
      expect(sample(top, { topK: 1 }, rng).token).toBe(1);
      expect(sample(top, { topP: 1e-9 }, rng).token).toBe(1);
    }
  });

  it("very small temperatures stay exact (max-shifted) and reach greedy without NaN", () => {
    // (logit − max) / t for t = 1e-3 and logits 1000 apart in the third decimal: probabilities
    // 1/4 and 3/4, not an overflow.
    const near = [1000, 1000 + 1e-3 * ln(3), -5];
    expectDistribution(counts(near, { temperature: 1e-3 }, 18), [0.25, 0.75, 0]);
    const close = [0, 1e-3, -Number.MAX_VALUE / 2, 1e-3 - 1e-9];
    // at 1e-8 the runner-up 1e-9 below is still e^−0.1 as likely; below that, greedy
    expectDistribution(
      counts(close, { temperature: 1e-8 }, 18),
      reference(close, { temperature: 1e-8 }),
    );
    for (const temperature of [1e-30, 1e-300, 1e-320]) {
      expect(counts(close, { temperature }, 18)).toEqual([0, N, 0, 0]);
    }
  });

  it("very large temperatures are uniform over the unmasked tokens", () => {
    const row = [...LOGITS, Number.NEGATIVE_INFINITY];
    for (const temperature of [1e6, 1e300]) {
      const p = row.map((l) => (l === Number.NEGATIVE_INFINITY ? 0 : 1 / LOGITS.length));
      expectDistribution(counts(row, { temperature }, 19), p);
    }
  });

  it("−∞ logits are never drawn, under every option; one finite logit is always drawn with log-prob 0", () => {
    const masked = [2, Number.NEGATIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, 0];
    for (const o of [{}, { temperature: 0.3 }, { temperature: 5 }, { topK: 4 }, { topP: 0.99 }]) {
      expectDistribution(counts(masked, o, 20), reference(masked, o));
    }
    const one = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, -7, Number.NEGATIVE_INFINITY];
    for (const o of [{}, { temperature: 0 }, { temperature: 1e-300 }, { topK: 3 }, { topP: 0.5 }]) {
      const rng = new Rng(20);
      for (let i = 0; i < 100; i++) expect(sample(one, o, rng)).toEqual({ token: 2, logprob: 0 });
    }
  });
});

describe("the two entry points and the log-prob", () => {
  const OPTIONS: SamplingOptions[] = [
    {},
    { temperature: 0 },
    { temperature: 0.6 },
    { topK: 3 },
    { topP: 0.8 },
    { topK: 5, topP: 0.9, temperature: 1.3 },
  ];

  it("sample and sampleToken draw the same ids from the same seed, for float32 and float64 rows", () => {
    for (const o of OPTIONS) {
      for (const row of [LOGITS, Float32Array.from(LOGITS)]) {
        const a = new Rng(21);
        const b = new Rng(21);
        for (let i = 0; i < 500; i++) expect(sample(row, o, a).token).toBe(sampleToken(row, o, b));
      }
    }
  });

  it("the log-prob is the model's own (temperature 1, untruncated), whatever the options", () => {
    const rng = new Rng(22);
    for (const o of OPTIONS) {
      for (let i = 0; i < 50; i++) {
        const r = sample(LOGITS, o, rng);
        expect(r.logprob).toBeCloseTo(tokenLogprob(LOGITS, r.token), 12);
      }
    }
  });
});

describe("edges of the exported sampler", () => {
  it("refuses options outside their range on every call, instead of drawing from them", () => {
    // sample and sampleToken are exported (src/engine/index.ts) and did not check: top-p 0 drew
    // `undefined` with a NaN log-prob, temperature −1 drew the least likely token, a NaN
    // temperature the last id, top-k −1 threw a RangeError from a typed array.
    const rng = new Rng(23);
    for (const o of [
      { topP: 0 },
      { topP: -0.5 },
      { topP: 1.5 },
      { topP: Number.NaN },
      { temperature: -1 },
      { temperature: Number.NaN },
      { temperature: Number.POSITIVE_INFINITY },
      { topK: -1 },
      { topK: 1.5 },
    ]) {
      const err = expect.objectContaining({ code: "KEEL_E_CONFIG" });
      expect(() => sample(LOGITS, o, rng), JSON.stringify(o)).toThrow(err);
      expect(() => sampleToken(LOGITS, o, rng), JSON.stringify(o)).toThrow(err);
    }
  });

  it("a draw at the top of [0, 1) never lands on a trailing token of weight 0", () => {
    // u = float()·total can round to total itself, and after subtracting every weight u stayed
    // ≥ 0 by a few ulps: the draw fell to the last id, here one masked by −∞ (and at a small
    // temperature, one whose weight underflowed to 0). Rng.weighted already guards this.
    class TopOfUnit extends Rng {
      override float(): number {
        return 1 - 2 ** -53;
      }
    }
    const rng = new TopOfUnit(0);
    const masked = [
      -2.655252456665039,
      2.112973690032959,
      3.333568811416626,
      -3.0020856857299805,
      2.0500173568725586,
      Number.NEGATIVE_INFINITY,
    ];
    for (const o of [{}, { temperature: 1 }, { topK: 5 }, { topK: 6 }, { topP: 0.999999 }]) {
      const { token } = sample(Float32Array.from(masked), o, rng);
      expect(token, JSON.stringify(o)).not.toBe(5);
      expect(sampleToken(Float32Array.from(masked), o, rng), JSON.stringify(o)).not.toBe(5);
    }
    // it goes to the last id that can be drawn: in id order untruncated, in probability order
    // (the least likely kept) truncated
    expect(sample(Float32Array.from(masked), {}, rng).token).toBe(4);
    expect(sample(Float32Array.from(masked), { topK: 5 }, rng).token).toBe(3);
  });
});
