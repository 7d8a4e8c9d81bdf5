/**
 * Metamorphic properties of the GPT's batched passes: relations between runs that a correct
 * model must keep, whatever its weights. A sequence's outputs do not depend on the batch around
 * it (its row, its neighbours, the padding and which side it is on, the data-parallel shard it
 * lands in); gradients add over rows; heads a loss does not reach get exactly nothing; the SFT
 * graph's closed-form gradient is the backward graph's for the same upstream gradient.
 *
 * Tolerance: float32 runs of different shapes may round differently, so "the same" is within
 * TOL·max(1, |x|) with TOL = 1e-5 (what measured here is ≤ 3e-7), and gradients within TOL of
 * the largest entry. Where shapes are equal (pad content changed, a batch stacked on itself)
 * the claim is bit for bit.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Gpt, padBatch, type TokenBatch } from "../../src/engine/gpt/model.js";
import type { FloatArray } from "../../src/engine/params.js";
import { permute } from "../helpers/permute.js";

const CFG = { vocab: 29, dModel: 16, layers: 2, heads: 2, context: 32 };
const V = CFG.vocab;
const TOL = 1e-5;
const HEADS = ["logits", "logprobs", "values", "rewards"] as const;

const single = (seed = 3) => new Gpt(CFG, { seed, threads: 1, dataParallel: false });

function randomRow(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(V));
}

/** Rows laid out in a [B, T] batch, right- or left-padded with `padId`; offsets of each row. */
function layout(
  rows: readonly (readonly number[])[],
  o: { left?: boolean; padId?: number; length?: number } = {},
): TokenBatch & { readonly mask: Int32Array; offsets: number[] } {
  const T = o.length ?? Math.max(...rows.map((r) => r.length));
  const tokens = new Int32Array(rows.length * T).fill(o.padId ?? 0);
  const mask = new Int32Array(rows.length * T);
  const offsets = rows.map((r, i) => i * T + (o.left ? T - r.length : 0));
  rows.forEach((r, i) => {
    tokens.set(r, offsets[i]!);
    mask.fill(1, offsets[i]!, offsets[i]! + r.length);
  });
  return { tokens, mask, batch: rows.length, length: T, offsets };
}

/** Entropy of softmax(logits) at position `row`, in float64. */
function entropy(logits: FloatArray, row: number): number {
  const l = logits.subarray(row * V, (row + 1) * V);
  const max = Math.max(...l);
  let z = 0;
  for (const x of l) z += Math.exp(x - max);
  let h = 0;
  for (const x of l) {
    const lp = x - max - Math.log(z);
    h -= Math.exp(lp) * lp;
  }
  return h;
}

function expectClose(a: number, b: number, what: string): void {
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(
    TOL * Math.max(1, Math.abs(b)),
  );
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function expectGradClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst, what).toBeLessThanOrEqual(TOL * maxAbs(b));
  expect(maxAbs(b), `${what}: a gradient of zeros proves nothing`).toBeGreaterThan(1e-4);
}

describe("a sequence's outputs do not depend on the batch around it", () => {
  it("alone, at any row, right- or left-padded, beside longer and shorter rows: log-probs, values, reward, logits, entropy", async () => {
    const m = single();
    const rng = new Rng(1);
    const seq = randomRow(rng, 9);
    const alone = await m.forward(padBatch([seq]), HEADS);
    const longer = randomRow(rng, 20);
    const shorter = randomRow(rng, 2);
    const cases = [
      { rows: [seq, longer, shorter], at: 0, left: false, padId: 0 },
      { rows: [shorter, longer, seq], at: 2, left: false, padId: 7 },
      { rows: [longer, seq, [5]], at: 1, left: true, padId: 11 },
      { rows: [seq, randomRow(rng, 32)], at: 0, left: true, padId: 0 }, // the full context
      { rows: [seq, seq, shorter], at: 1, left: false, padId: 28 },
    ];
    for (const c of cases) {
      const b = layout(c.rows, c);
      const o = await m.forward(b, HEADS);
      const off = b.offsets[c.at]!;
      const what = `row ${c.at} of ${c.rows.length}, ${c.left ? "left" : "right"}-padded to ${b.length}`;
      for (let t = 0; t < seq.length; t++) {
        // entry 0 has no prediction (0 alone; a left-padded row's is predicted from its pads)
        if (t > 0) expectClose(o.logprobs![off + t]!, alone.logprobs![t]!, `${what}: logprob ${t}`);
        expectClose(o.values![off + t]!, alone.values![t]!, `${what}: value ${t}`);
        expectClose(
          entropy(o.logits!, off + t),
          entropy(alone.logits!, t),
          `${what}: entropy ${t}`,
        );
        for (let v = 0; v < V; v++)
          expectClose(
            o.logits![(off + t) * V + v]!,
            alone.logits![t * V + v]!,
            `${what}: logit ${t}`,
          );
      }
      expectClose(o.rewards![c.at]!, alone.rewards![0]!, `${what}: reward`);
    }
    await m.dispose();
  });

  it("padding never reaches a real token: other pad ids and other all-padding rows leave real outputs bit-identical", async () => {
    const m = single(4);
    const rng = new Rng(2);
    const rows = [randomRow(rng, 7), randomRow(rng, 13), randomRow(rng, 3), []];
    for (const left of [false, true]) {
      const base = layout(rows, { left, padId: 0 });
      const a = await m.forward(base, HEADS);
      // pads of every row, and the whole fourth row, hold other ids
      for (const padId of [5, 28]) {
        const tokens = base.tokens.map((t, i) => (base.mask[i] ? t : (padId + i) % V));
        const b = await m.forward({ ...base, tokens }, HEADS);
        base.mask.forEach((real, i) => {
          if (!real) return;
          // a row's first real token is predicted from its pads (documented: callers mask it)
          if (i % base.length > 0 && base.mask[i - 1]) expect(b.logprobs![i]).toBe(a.logprobs![i]);
          expect(b.values![i]).toBe(a.values![i]);
          expect(b.logits!.subarray(i * V, (i + 1) * V)).toEqual(
            a.logits!.subarray(i * V, (i + 1) * V),
          );
        });
        expect(b.rewards!.subarray(0, 3)).toEqual(a.rewards!.subarray(0, 3));
      }
      // an all-padding row attends to nothing real and still computes finite numbers
      for (const h of HEADS) expect(a[h]!.every(Number.isFinite), h).toBe(true);
    }
    await m.dispose();
  });
});

describe("gradients compose over rows and heads", () => {
  const rng = new Rng(7);
  const rows = [5, 12, 3, 9].map((n) => randomRow(rng, n));
  /** Upstream gradients on real tokens only (what a caller masks), for every head. */
  function upstream(b: TokenBatch, r: Rng) {
    return {
      logprobs: Float32Array.from(b.mask!, (x) => x * r.normal(0, 1)),
      values: Float32Array.from(b.mask!, (x) => x * r.normal(0, 1)),
      rewards: Float32Array.from({ length: b.batch }, () => r.normal(0, 1)),
    };
  }

  it("the gradient of a sum over the batch is the sum of each row's gradient, the row alone and unpadded", async () => {
    const m = single(5);
    const b = padBatch(rows, { padId: 4 });
    const d = upstream(b, new Rng(8));
    const whole = (await m.backward(b, d)).slice();
    const sum = new Float64Array(whole.length);
    for (const [r, row] of rows.entries()) {
      const at = r * b.length;
      const g = await m.backward(padBatch([row]), {
        logprobs: d.logprobs.slice(at, at + row.length),
        values: d.values.slice(at, at + row.length),
        rewards: d.rewards.slice(r, r + 1),
      });
      g.forEach((x, i) => {
        sum[i]! += x;
      });
    }
    expectGradClose(whole, sum, "Σ rows vs batch");
    // an all-padding row with zero upstream gradient adds nothing
    const T = b.length;
    const padded: TokenBatch = {
      tokens: Int32Array.from([...b.tokens, ...new Array(T).fill(9)]),
      mask: Int32Array.from([...b.mask!, ...new Array(T).fill(0)]),
      batch: b.batch + 1,
      length: T,
    };
    const withPadRow = await m.backward(padded, {
      logprobs: Float32Array.from([...d.logprobs, ...new Array(T).fill(0)]),
      values: Float32Array.from([...d.values, ...new Array(T).fill(0)]),
      rewards: Float32Array.from([...d.rewards, 0]),
    });
    expectGradClose(withPadRow, whole, "an all-padding row");
    await m.dispose();
  });

  it("left padding gives right padding's backward(dOutputs)", async () => {
    const m = single(6);
    const right = layout(rows, { padId: 3 });
    const left = layout(rows, { left: true, padId: 17 });
    const d = upstream(right, new Rng(9));
    // the same upstream gradient moved with each row's tokens; a left-padded row's first
    // token has no prediction of its own, so d_logprobs there is 0 in both layouts
    const moved = {
      logprobs: new Float32Array(d.logprobs.length),
      values: new Float32Array(d.values.length),
    };
    rows.forEach((row, r) => {
      for (let t = 0; t < row.length; t++) {
        moved.logprobs[left.offsets[r]! + t] = t === 0 ? 0 : d.logprobs[right.offsets[r]! + t]!;
        moved.values[left.offsets[r]! + t] = d.values[right.offsets[r]! + t]!;
      }
    });
    const gRight = (
      await m.backward(right, {
        ...d,
        logprobs: d.logprobs.map((x, i) => (i % right.length === 0 ? 0 : x)),
      })
    ).slice();
    const gLeft = await m.backward(left, { ...moved, rewards: d.rewards });
    expectGradClose(gLeft, gRight, "left vs right padding");
    await m.dispose();
  });

  it("backward is linear in its upstream gradients, head by head; d_logprobs' entry 0 counts for nothing", async () => {
    const m = single(7);
    const b = padBatch(rows, { padId: 2 });
    const d1 = upstream(b, new Rng(10));
    const d2 = upstream(b, new Rng(11));
    const g = async (d: Parameters<Gpt["backward"]>[1]) => (await m.backward(b, d)).slice();
    const g1 = await g(d1);
    const g2 = await g(d2);
    const mixed = await g({
      logprobs: d1.logprobs.map((x, i) => x - 2 * d2.logprobs[i]!),
      values: d1.values.map((x, i) => x - 2 * d2.values[i]!),
      rewards: d1.rewards.map((x, i) => x - 2 * d2.rewards[i]!),
    });
    expectGradClose(
      mixed,
      g1.map((x, i) => x - 2 * g2[i]!),
      "g(d1 − 2·d2) vs g(d1) − 2·g(d2)",
    );
    const perHead = new Float64Array(g1.length);
    for (const h of ["logprobs", "values", "rewards"] as const) {
      (await g({ [h]: d1[h] })).forEach((x, i) => {
        perHead[i]! += x;
      });
    }
    expectGradClose(g1, perHead, "all heads vs the sum of each head's");
    // nothing predicts a row's first token: its upstream gradient is ignored, bit for bit
    const first = d1.logprobs.map((x, i) => (i % b.length === 0 ? 100 : x));
    const zero = d1.logprobs.map((x, i) => (i % b.length === 0 ? 0 : x));
    expect(await g({ logprobs: first })).toEqual(await g({ logprobs: zero }));
    await m.dispose();
  });

  it("heads a loss does not reach get exactly zero gradient (unsplit and in shards)", async () => {
    for (const dataParallel of [false, true]) {
      const m = new Gpt(CFG, { seed: 8, threads: 1, dataParallel });
      const r = new Rng(12);
      const b = padBatch(
        Array.from({ length: 18 }, (_, i) => randomRow(r, 8 + ((i * 5) % 24))),
        { length: 32 },
      );
      expect(m.dataParallelShards(b)).toBe(dataParallel ? 2 : 1);
      const d = upstream(b, r);
      const zeroIn = (g: FloatArray, names: string[]) => {
        for (const n of names) {
          const [o, len] = m.params.range(n);
          expect(maxAbs(g.subarray(o, o + len)), n).toBe(0);
        }
      };
      const head = (h: string) => [`${h}.weight`, `${h}.bias`];
      zeroIn(await m.backward(b, { logprobs: d.logprobs, values: d.values }), head("reward_head"));
      zeroIn(await m.backward(b, { logprobs: d.logprobs, rewards: d.rewards }), head("value_head"));
      zeroIn(await m.backward(b, { logprobs: d.logprobs }), [
        ...head("value_head"),
        ...head("reward_head"),
      ]);
      const sft = await m.lossAndGrad({ ...b, lossMask: Float32Array.from(b.mask!) });
      zeroIn(sft.grad, [...head("value_head"), ...head("reward_head")]);
      // and a head the loss does reach gets something
      const [o, len] = m.params.range("reward_head.weight");
      expect(maxAbs((await m.backward(b, d)).subarray(o, o + len))).toBeGreaterThan(0);
      await m.dispose();
    }
  });

  it("the SFT graph is backward(d_logprobs = −w/count): loss and gradient of one equal the other's", async () => {
    const m = single(9);
    const b = padBatch(rows, { padId: 6 });
    const T = b.length;
    // fractional weights, some on padding (which the loss must ignore)
    const lossMask = Float32Array.from({ length: b.batch * T }, (_, i) => ((i * 7) % 5) / 4);
    const sft = await m.lossAndGrad({ ...b, lossMask });
    const loss = sft.loss;
    const grad = sft.grad.slice();
    const w = new Float32Array(b.batch * T);
    let count = 0;
    for (let i = 0; i < w.length; i++) {
      if (i % T === 0 || !b.mask![i] || !b.mask![i - 1]) continue;
      w[i] = lossMask[i]!;
      count += w[i]!;
    }
    const lp = await m.logprobs(b);
    let expected = 0;
    lp.forEach((x, i) => {
      expected -= (w[i]! * x) / count;
    });
    expectClose(loss, expected, "loss");
    expectGradClose(await m.backward(b, { logprobs: w.map((x) => -x / count) }), grad, "gradient");
    await m.dispose();
  });
});

describe("data-parallel row shards", () => {
  const rng = new Rng(13);
  // 9 rows × 32 tokens (one shard's worth), mixed lengths
  const rows = Array.from({ length: 9 }, (_, r) => randomRow(rng, 10 + ((r * 5) % 23)));
  const x = layout(rows, { left: true, padId: 5, length: 32 });
  const stacked: TokenBatch = {
    tokens: Int32Array.from([...x.tokens, ...x.tokens]),
    mask: Int32Array.from([...x.mask!, ...x.mask!]),
    batch: 2 * x.batch,
    length: x.length,
  };

  it("a batch stacked on itself runs as two shards that each hold it: bit-identical to the batch alone in one session (SFT, heads, backward)", async () => {
    for (const threads of [1, 2]) {
      const split = new Gpt(CFG, { seed: 1, threads });
      const whole = single(1);
      expect(split.dataParallelShards(x)).toBe(1);
      expect(split.dataParallelShards(stacked)).toBe(2);
      const a = await whole.lossAndGrad({ ...x, lossMask: Float32Array.from(x.mask!) });
      const [aLoss, aGrad] = [a.loss, a.grad.slice()];
      const b = await split.lossAndGrad({ ...stacked, lossMask: Float32Array.from(stacked.mask!) });
      // each shard weighs 1/2: (g + g)/2 = g, exactly
      expect(b.loss).toBe(aLoss);
      expect(b.grad).toEqual(aGrad);
      const fa = await whole.forward(x, ["logprobs", "values", "rewards"]);
      const fb = await split.forward(stacked, ["logprobs", "values", "rewards"]);
      for (const h of ["logprobs", "values", "rewards"] as const) {
        const n = fa[h]!.length;
        expect(fb[h]!.subarray(0, n), h).toEqual(fa[h]);
        expect(fb[h]!.subarray(n), h).toEqual(fa[h]);
      }
      // backward sums its shards: the same upstream gradient on both copies gives 2·g, exactly
      const r = new Rng(14);
      const d = Float32Array.from(x.mask!, (m) => m * r.normal(0, 1));
      const g = (await whole.backward(x, { values: d, logprobs: d })).map((v) => 2 * v);
      const dd = Float32Array.from([...d, ...d]);
      expect(await split.backward(stacked, { values: dd, logprobs: dd })).toEqual(g);
      await Promise.all([split.dispose(), whole.dispose()]);
    }
  });

  it("a row's outputs do not depend on its shard: permuting rows across the boundary permutes the outputs and keeps loss and gradient", async () => {
    const m = new Gpt(CFG, { seed: 2, threads: 1 });
    const B = stacked.batch;
    const T = stacked.length;
    // rows 0–8 and 9–17 are equal; give the second copies other tokens so the test sees moves
    const base = {
      ...stacked,
      tokens: stacked.tokens.map((t, i) => (i >= 9 * T ? (t + 1) % V : t)),
    };
    const perm = permute(
      Array.from({ length: B }, (_, i) => i),
      3,
    );
    expect(perm.slice(0, 9).some((p) => p >= 9)).toBe(true);
    const moved: TokenBatch = {
      tokens: new Int32Array(B * T),
      mask: new Int32Array(B * T),
      batch: B,
      length: T,
    };
    perm.forEach((src, i) => {
      moved.tokens.set(base.tokens.subarray(src * T, (src + 1) * T), i * T);
      (moved.mask as Int32Array).set(base.mask!.subarray(src * T, (src + 1) * T), i * T);
    });
    const heads = ["logprobs", "values", "rewards"] as const;
    const a = await m.forward(base, heads);
    const b = await m.forward(moved, heads);
    perm.forEach((src, i) => {
      for (let t = 0; t < T; t++) {
        if (!moved.mask![i * T + t]) continue;
        expectClose(
          b.logprobs![i * T + t]!,
          a.logprobs![src * T + t]!,
          `row ${src} → ${i}: logprob`,
        );
        expectClose(b.values![i * T + t]!, a.values![src * T + t]!, `row ${src} → ${i}: value`);
      }
      expectClose(b.rewards![i]!, a.rewards![src]!, `row ${src} → ${i}: reward`);
    });
    const la = await m.lossAndGrad({ ...base, lossMask: Float32Array.from(base.mask!) });
    const [laLoss, laGrad] = [la.loss, la.grad.slice()];
    const lb = await m.lossAndGrad({ ...moved, lossMask: Float32Array.from(moved.mask!) });
    expectClose(lb.loss, laLoss, "loss");
    expectGradClose(lb.grad, laGrad, "gradient");
    await m.dispose();
  });
});
