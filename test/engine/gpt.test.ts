import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

const TINY = { vocab: 11, dModel: 8, layers: 2, heads: 2, context: 8, dtype: "float64" as const };

function batch() {
  const b = padBatch([
    [1, 5, 2, 7, 3, 9],
    [4, 4, 8],
  ]);
  // padding and token 0 weigh nothing; every third token weighs half
  const lossMask = Float64Array.from(b.mask!, (m, i) =>
    i % b.length === 0 ? 0 : i % 3 === 0 ? m / 2 : m,
  );
  return { ...b, lossMask };
}

/** Indices of `k` coordinates in every parameter tensor (all when it is small). */
function coords(m: Gpt, k: number, rng: Rng): number[] {
  const out: number[] = [];
  for (const name of m.params.names) {
    const [o, n] = m.params.range(name);
    if (n <= k) for (let i = 0; i < n; i++) out.push(o + i);
    else for (const i of rng.sampleIndices(n, k)) out.push(o + i);
  }
  return out;
}

describe("GPT gradients vs central finite differences (float64, tiny config)", () => {
  it("in-graph cross-entropy loss", async () => {
    const m = new Gpt(TINY, { seed: 3, threads: 1 });
    const b = batch();
    const grad = (await m.lossAndGrad(b)).grad.slice();
    const flat = m.params.flat;
    let worst = 0;
    for (const i of coords(m, 4, new Rng(1))) {
      const x0 = flat[i]!;
      flat[i] = x0 + 1e-6;
      const lp = (await m.lossAndGrad(b)).loss;
      flat[i] = x0 - 1e-6;
      const lm = (await m.lossAndGrad(b)).loss;
      flat[i] = x0;
      const num = (lp - lm) / 2e-6;
      worst = Math.max(worst, Math.abs(num - grad[i]!) / Math.max(1, Math.abs(num)));
    }
    expect(worst).toBeLessThan(1e-6);
    await m.dispose();
  });
});

describe("GPT backward(dOutputs) vs central finite differences (float64)", () => {
  it("logprobs, values and rewards heads together", async () => {
    const m = new Gpt(TINY, { seed: 5, threads: 1 });
    const b = batch();
    const rng = new Rng(9);
    const n = b.batch * b.length;
    const d = {
      logprobs: Float64Array.from({ length: n }, () => rng.normal()),
      values: Float64Array.from({ length: n }, () => rng.normal()),
      rewards: Float64Array.from({ length: b.batch }, () => rng.normal()),
    };
    const objective = async () => {
      const o = await m.forward(b, ["logprobs", "values", "rewards"]);
      let s = 0;
      for (const k of ["logprobs", "values", "rewards"] as const)
        o[k]!.forEach((v, i) => {
          s += v * d[k][i]!;
        });
      return s;
    };
    const grad = (await m.backward(b, d)).slice();
    const flat = m.params.flat;
    let worst = 0;
    for (const i of coords(m, 3, new Rng(2))) {
      const x0 = flat[i]!;
      flat[i] = x0 + 1e-6;
      const lp = await objective();
      flat[i] = x0 - 1e-6;
      const lm = await objective();
      flat[i] = x0;
      const num = (lp - lm) / 2e-6;
      worst = Math.max(worst, Math.abs(num - grad[i]!) / Math.max(1, Math.abs(num)));
    }
    expect(worst).toBeLessThan(1e-6);
    await m.dispose();
  });
});

describe("padding and masks", () => {
  it("left and right padding give the same log-probs, values and rewards", async () => {
    const m = new Gpt({ ...TINY, dtype: "float32" }, { seed: 11, threads: 1 });
    const rows = [
      [1, 5, 2, 7, 3, 9],
      [4, 4, 8],
    ];
    const right = padBatch(rows, { padId: 10 });
    const T = right.length;
    const tokens = new Int32Array(2 * T).fill(6);
    const mask = new Int32Array(2 * T);
    rows.forEach((r, i) => {
      tokens.set(r, i * T + T - r.length);
      mask.fill(1, i * T + T - r.length, (i + 1) * T);
    });
    const left = { tokens, mask, batch: 2, length: T };
    const a = await m.forward(right, ["logprobs", "values", "rewards"]);
    const b = await m.forward(left, ["logprobs", "values", "rewards"]);
    rows.forEach((r, i) => {
      for (let t = 0; t < r.length; t++) {
        const ri = i * T + t;
        const li = i * T + T - r.length + t;
        if (t > 0) expect(a.logprobs![ri]!).toBeCloseTo(b.logprobs![li]!, 5);
        expect(a.values![ri]!).toBeCloseTo(b.values![li]!, 5);
      }
      expect(a.rewards![i]!).toBeCloseTo(b.rewards![i]!, 5);
    });
    // the reward is read at the last real token: the same row alone, unpadded, agrees
    const alone = await m.forward(padBatch([rows[1]!]), ["rewards"]);
    expect(alone.rewards![0]!).toBeCloseTo(a.rewards![1]!, 5);
    await m.dispose();
  });
});

describe("padding never reaches the SFT loss or its gradient", () => {
  const rows = [
    [1, 5, 2, 7, 3, 9],
    [4, 4, 8],
  ];
  /** rows left-padded with `pad`, and lossMask = mask as docs/engine.md's example builds it */
  function leftPadded(pad: number) {
    const T = 6;
    const tokens = new Int32Array(2 * T).fill(pad);
    const mask = new Int32Array(2 * T);
    rows.forEach((r, i) => {
      tokens.set(r, i * T + T - r.length);
      mask.fill(1, i * T + T - r.length, (i + 1) * T);
    });
    return { tokens, mask, batch: 2, length: T, lossMask: Float64Array.from(mask) };
  }

  it("left padding gives the loss and gradient of right padding, whatever the pad id", async () => {
    const m = new Gpt(TINY, { seed: 4, threads: 1 });
    const right = padBatch(rows, { padId: 10 });
    const r = await m.lossAndGrad({ ...right, lossMask: Float64Array.from(right.mask!) });
    const rLoss = r.loss;
    const rGrad = r.grad.slice();
    for (const pad of [0, 6]) {
      const left = leftPadded(pad);
      const l = await m.lossAndGrad(left);
      // the first real token of a left-padded row was predicted from the pads alone
      expect(l.loss).toBeCloseTo(rLoss, 10);
      l.grad.forEach((g, i) => {
        expect(g).toBeCloseTo(rGrad[i]!, 10);
      });
    }
    await m.dispose();
  });

  it("a loss mask that weighs padded positions weighs nothing there", async () => {
    const m = new Gpt(TINY, { seed: 4, threads: 1 });
    const b = padBatch(rows, { padId: 10 });
    const masked = await m.lossAndGrad({ ...b, lossMask: Float64Array.from(b.mask!) });
    const [loss, grad] = [masked.loss, masked.grad.slice()];
    const ones = await m.lossAndGrad({ ...b, lossMask: new Float64Array(12).fill(1) });
    expect(ones.loss).toBeCloseTo(loss, 12);
    ones.grad.forEach((g, i) => {
      expect(g).toBeCloseTo(grad[i]!, 12);
    });
    await m.dispose();
  });
});

describe("padding in data-parallel row shards", () => {
  it("weighs each shard by the predictions its graph counts, padding left out", async () => {
    // 2 shards of 16 rows × 32 tokens; rows left-padded by different amounts, lossMask all ones
    const cfg = { vocab: 16, dModel: 16, layers: 1, heads: 2, context: 32 };
    const [B, T] = [32, 32];
    const rng = new Rng(6);
    const tokens = Int32Array.from({ length: B * T }, () => rng.int(16));
    const mask = new Int32Array(B * T);
    for (let r = 0; r < B; r++) mask.fill(1, r * T + (r < 16 ? 20 : 2), (r + 1) * T);
    const b = { tokens, mask, batch: B, length: T, lossMask: new Float32Array(B * T).fill(1) };
    const split = new Gpt(cfg, { seed: 1, threads: 1 });
    const whole = new Gpt(cfg, { seed: 1, threads: 1, dataParallel: false });
    expect(split.dataParallelShards(b)).toBe(2);
    const a = await split.lossAndGrad(b);
    const w = await whole.lossAndGrad(b);
    expect(a.loss).toBeCloseTo(w.loss, 5);
    a.grad.forEach((g, i) => {
      expect(g).toBeCloseTo(w.grad[i]!, 5);
    });
    await Promise.all([split.dispose(), whole.dispose()]);
  });
});

describe("training", () => {
  it("a tiny model overfits a small batch to near-zero loss", async () => {
    const { AdamW } = await import("../../src/engine/optim/adamw.js");
    const m = new Gpt(
      { vocab: 16, dModel: 32, layers: 2, heads: 2, context: 12 },
      { seed: 1, threads: 1 },
    );
    const rng = new Rng(4);
    const rows = Array.from({ length: 4 }, () => Array.from({ length: 10 }, () => rng.int(16)));
    const b = padBatch(rows);
    const tb = { ...b, lossMask: Float32Array.from(b.mask!) };
    const opt = new AdamW(m.params, { lr: 3e-3, weightDecay: 0, maxGradNorm: 1 });
    const first = (await m.lossAndGrad(tb)).loss;
    let loss = first;
    for (let step = 0; step < 150; step++) {
      const r = await m.lossAndGrad(tb);
      loss = r.loss;
      opt.step(r.grad);
    }
    expect(first).toBeGreaterThan(2);
    expect(loss).toBeLessThan(0.05);
    await m.dispose();
  });
});

describe("reference copies and gradient accumulation", () => {
  it("clone() copies weights that then evolve independently; addScaled accumulates", async () => {
    const { AdamW } = await import("../../src/engine/optim/adamw.js");
    const { addScaled } = await import("../../src/engine/params.js");
    const m = new Gpt({ ...TINY, dtype: "float32" }, { seed: 2, threads: 1 });
    const ref = m.clone();
    const b = padBatch([[1, 2, 3, 4]]);
    expect(Array.from(await ref.logprobs(b))).toEqual(Array.from(await m.logprobs(b)));
    const tb = { ...b, lossMask: new Float32Array(4).fill(1) };
    const acc = m.params.zerosLike();
    addScaled(acc, (await m.lossAndGrad(tb)).grad, 0.5);
    addScaled(acc, (await m.lossAndGrad(tb)).grad, 0.5);
    const once = (await m.lossAndGrad(tb)).grad;
    acc.forEach((v, i) => {
      expect(v).toBeCloseTo(once[i]!, 6);
    });
    new AdamW(m.params, { lr: 0.01 }).step(acc);
    expect(Array.from(await ref.logprobs(b))).not.toEqual(Array.from(await m.logprobs(b)));
    await Promise.all([m.dispose(), ref.dispose()]);
  });
});

describe("batch validation", () => {
  const m = () => new Gpt({ ...TINY, dtype: "float32" }, { seed: 1, threads: 1 });

  it("refuses token ids outside the vocabulary, negative ones included (Gather would wrap them)", async () => {
    const g = m();
    for (const bad of [-1, 11, 1e6]) {
      const b = padBatch([[1, 2, bad]]);
      await expect(g.logprobs(b)).rejects.toMatchObject({ code: "KEEL_E_SHAPE" });
      await expect(g.logprobs(b)).rejects.toThrow(new RegExp(`token id ${bad}.*row 0, position 2`));
      const lossMask = new Float32Array(3).fill(1);
      await expect(g.lossAndGrad({ ...b, lossMask })).rejects.toMatchObject({
        code: "KEEL_E_SHAPE",
      });
    }
    await g.dispose();
  });

  it("refuses a mask entry other than 0 or 1", async () => {
    const g = m();
    const b = { ...padBatch([[1, 2, 3]]), mask: Int32Array.of(1, 2, 1) };
    await expect(g.values(b)).rejects.toThrow(/mask.*row 0, position 1.*0 or 1/);
    await g.dispose();
  });

  it("refuses an empty batch or empty rows with KEEL_E_SHAPE, not an ONNX Runtime error", async () => {
    const g = m();
    for (const [B, T] of [
      [0, 4],
      [2, 0],
    ] as const) {
      const b = { tokens: new Int32Array(B * T), batch: B, length: T };
      await expect(g.logprobs(b)).rejects.toMatchObject({ code: "KEEL_E_SHAPE" });
    }
    await g.dispose();
  });

  it("takes a loss mask or upstream gradient of either float type; refuses a forward of no head", async () => {
    const g = m();
    const b = padBatch([[1, 2, 3]]);
    const f32 = await g.lossAndGrad({ ...b, lossMask: new Float32Array(3).fill(1) });
    const [loss, grad] = [f32.loss, f32.grad.slice()];
    const f64 = await g.lossAndGrad({ ...b, lossMask: new Float64Array(3).fill(1) });
    expect(f64.loss).toBe(loss);
    expect(Array.from(f64.grad)).toEqual(Array.from(grad));
    const d = await g.backward(b, { values: new Float64Array(3).fill(1) });
    expect(d.some((x) => x !== 0)).toBe(true);
    await expect(g.forward(b, [])).rejects.toMatchObject({ code: "KEEL_E_USAGE" });
    await g.dispose();
  });

  it("batch size 1 and sequence length 1 run every graph (nothing to predict: zero loss)", async () => {
    const g = m();
    const b = padBatch([[3]]);
    const o = await g.forward(b, ["logits", "logprobs", "values", "rewards"]);
    expect(Array.from(o.logprobs!)).toEqual([0]);
    expect(o.logits!.length).toBe(11);
    const { loss, grad } = await g.lossAndGrad({ ...b, lossMask: Float32Array.of(1) });
    expect(loss).toBe(0);
    expect(grad.every((x) => x === 0)).toBe(true);
    const d = await g.backward(b, { values: Float32Array.of(1), rewards: Float32Array.of(1) });
    expect(d.some((x) => x !== 0)).toBe(true);
    await g.dispose();
  });
});
