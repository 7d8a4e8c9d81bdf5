import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";
import { shardRows } from "../../src/engine/gpt/shards.js";

const SMALL = { vocab: 40, dModel: 16, layers: 2, heads: 2, context: 64 };

/** 13 rows of mixed lengths (right-padded), fractional loss weights, one row weighing nothing. */
function batch() {
  const rng = new Rng(5);
  const rows = Array.from({ length: 13 }, (_, r) =>
    Array.from({ length: 20 + ((r * 7) % 44) }, () => 1 + rng.int(39)),
  );
  const b = padBatch(rows, { length: 64 });
  const lossMask = Float32Array.from(b.mask!, (m, i) =>
    Math.floor(i / 64) === 4 ? 0 : i % 5 === 0 ? m / 2 : m,
  );
  return { ...b, lossMask };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The same weights, one model split into shards on two threads and one in a single session. */
function pair(): [Gpt, Gpt] {
  const split = new Gpt(SMALL, { seed: 2, threads: 2 });
  const single = new Gpt(SMALL, { seed: 2, threads: 3, dataParallel: false });
  return [split, single];
}

describe("data-parallel replicas", () => {
  it("split batches into near-equal contiguous shards, only where it pays", () => {
    expect(shardRows(13, 3)).toEqual([
      [0, 5],
      [5, 4],
      [9, 4],
    ]);
    expect(shardRows(2, 2)).toEqual([
      [0, 1],
      [1, 1],
    ]);
    const [split, single] = pair();
    expect(split.dataParallelShards({ batch: 13, length: 64 })).toBe(2);
    expect(split.dataParallelShards({ batch: 13, length: 20 })).toBe(1); // 260 tokens
    expect(split.dataParallelShards({ batch: 2, length: 64 })).toBe(1); // 128 tokens
    expect(split.dataParallelShards({ batch: 8, length: 64 })).toBe(2); // ≥ 256 per shard
    // the machine's threads do not change the split
    expect(new Gpt(SMALL, { threads: 1 }).dataParallelShards({ batch: 13, length: 64 })).toBe(2);
    expect(new Gpt(SMALL, { threads: 8 }).dataParallelShards({ batch: 13, length: 64 })).toBe(2);
    expect(single.dataParallelShards({ batch: 13, length: 64 })).toBe(1);
    const f64 = new Gpt({ ...SMALL, dtype: "float64" }, { threads: 3 });
    expect(f64.dataParallelShards({ batch: 13, length: 64 })).toBe(1);
    const big = new Gpt(
      { vocab: 256, dModel: 256, layers: 4, heads: 4, context: 64 },
      { threads: 2 },
    );
    expect(big.params.size).toBeGreaterThan(2_000_000);
    expect(big.dataParallelShards({ batch: 16, length: 64 })).toBe(1);
  });

  it("give the single session's loss and gradient (SFT, weighted by each shard's tokens)", async () => {
    const [split, single] = pair();
    const b = batch();
    const one = await single.lossAndGrad(b);
    const many = await split.lossAndGrad(b);
    expect(Math.abs(many.loss - one.loss)).toBeLessThan(1e-5 * Math.abs(one.loss));
    expect(maxDiff(many.grad, one.grad)).toBeLessThan(1e-5 * maxAbs(one.grad));
    // an unweighted sum of the shards' gradients would be far off: the weights matter
    expect(maxAbs(one.grad)).toBeGreaterThan(1e-3);
    await split.dispose();
    await single.dispose();
  });

  it("give the single session's heads and backward(dOutputs), and zero what a graph does not differentiate", async () => {
    const [split, single] = pair();
    const b = batch();
    const rng = new Rng(9);
    const n = b.batch * b.length;
    const d = {
      logprobs: Float32Array.from({ length: n }, () => rng.normal(0, 1)),
      values: Float32Array.from({ length: n }, () => rng.normal(0, 1)),
      rewards: Float32Array.from({ length: b.batch }, () => rng.normal(0, 1)),
    };
    const heads = ["logprobs", "values", "rewards"] as const;
    const f1 = await single.forward(b, heads);
    const f2 = await split.forward(b, heads);
    for (const h of heads) expect(maxDiff(f2[h]!, f1[h]!)).toBeLessThan(1e-5);
    const g1 = (await single.backward(b, d)).slice();
    const g2 = (await split.backward(b, d)).slice();
    expect(maxDiff(g2, g1)).toBeLessThan(1e-5 * maxAbs(g1));
    // a later graph without the reward head: the replicas' stale reward-head gradient is gone
    const g3 = await split.backward(b, { logprobs: d.logprobs });
    const [o, len] = split.params.range("reward_head.weight");
    expect(maxAbs(g2.subarray(o, o + len))).toBeGreaterThan(0);
    expect(maxAbs(g3.subarray(o, o + len))).toBe(0);
    const g4 = await single.backward(b, { logprobs: d.logprobs });
    expect(maxDiff(g3, g4)).toBeLessThan(1e-5 * maxAbs(g4));
    await split.dispose();
    await single.dispose();
  });

  it("give bit-identical results on 1, 2 and 3 threads (shards one by one or side by side)", async () => {
    const b = batch();
    const rng = new Rng(4);
    const d = { values: Float32Array.from({ length: b.batch * b.length }, () => rng.normal(0, 1)) };
    const runs: { loss: number; grad: Float32Array; back: Float32Array; lp: Float32Array }[] = [];
    for (const threads of [1, 2, 3]) {
      const m = new Gpt(SMALL, { seed: 2, threads });
      const { loss, grad } = await m.lossAndGrad(b);
      const g = grad.slice() as Float32Array;
      const back = (await m.backward(b, d)).slice() as Float32Array;
      const lp = (await m.logprobs(b)) as Float32Array;
      runs.push({ loss, grad: g, back, lp });
      await m.dispose();
    }
    for (const r of runs.slice(1)) {
      expect(r.loss).toBe(runs[0]!.loss);
      expect(maxDiff(r.grad, runs[0]!.grad)).toBe(0);
      expect(maxDiff(r.back, runs[0]!.back)).toBe(0);
      expect(maxDiff(r.lp, runs[0]!.lp)).toBe(0);
    }
  });

  it("see each step's new weights, and report a bad upstream gradient's shape", async () => {
    const [split, single] = pair();
    const b = batch();
    for (const m of [split, single]) {
      const { grad } = await m.lossAndGrad(b);
      for (let i = 0; i < grad.length; i++) m.params.flat[i] = m.params.flat[i]! - 0.5 * grad[i]!;
    }
    const one = await single.lossAndGrad(b);
    const many = await split.lossAndGrad(b);
    expect(Math.abs(many.loss - one.loss)).toBeLessThan(1e-5 * Math.abs(one.loss));
    await expect(
      split.backward(b, { values: new Float32Array(b.batch * b.length - 1) }),
    ).rejects.toThrow(/d_values has 831 entries, expected \[13, 64\]/);
    await split.dispose();
    await single.dispose();
  });

  it("do not keep the process alive when a model is never disposed", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-replicas-"));
    const script = join(dir, "child.mts");
    const model = resolve("src/engine/gpt/model.js");
    writeFileSync(
      script,
      `import { Gpt } from ${JSON.stringify(model)};\n` +
        `const m = new Gpt(${JSON.stringify(SMALL)}, { threads: 2 });\n` +
        "const tokens = new Int32Array(8 * 64).fill(3);\n" +
        "const r = await m.lossAndGrad({ tokens, batch: 8, length: 64, lossMask: new Float32Array(8 * 64).fill(1) });\n" +
        "console.log(m.dataParallelShards({ batch: 8, length: 64 }), Number.isFinite(r.loss));\n",
    );
    const r = spawnSync(process.execPath, ["--import", "tsx", script], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("2 true");
    expect(r.status).toBe(0);
  });
});
