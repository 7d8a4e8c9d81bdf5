/**
 * Generation's sampling seen from outside: each row's first token follows the model's softmax,
 * rows draw independent streams, a row depends on its seed and its position in the batch only
 * (not on its batch mates, bit for bit), sampled log-probs equal a fresh forward pass's, and
 * the stop/length edges.
 */
import { describe, expect, it } from "vitest";
import { generate } from "../../src/engine/gpt/generate.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

const CFG = { vocab: 19, dModel: 16, layers: 1, heads: 2, context: 16 };

async function lastLogits(m: Gpt, seq: readonly number[]): Promise<ArrayLike<number>> {
  const V = m.config.vocab;
  const logits = (await m.forward(padBatch([seq]), ["logits"])).logits!;
  return logits.slice((seq.length - 1) * V, seq.length * V);
}

function softmax(logits: ArrayLike<number>, t = 1): number[] {
  const l = Array.from(logits, (x) => x / t);
  const max = Math.max(...l);
  const e = l.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

describe("generation draws from the model's distribution, row by row", () => {
  it("600 rows of one prompt: first tokens follow softmax(logits / T), each row its own stream", async () => {
    // Sharpen the random model so the distribution is far from uniform.
    const m = new Gpt(CFG, { seed: 6, threads: 1 });
    for (let i = 0; i < m.params.flat.length; i++) m.params.flat[i]! *= 4;
    m.params.touch();
    const prompt = [2, 7, 1];
    const p = softmax(await lastLogits(m, prompt), 0.8);
    const rows = 600;
    const g = await generate(
      m,
      Array.from({ length: rows }, () => prompt),
      {
        maxNewTokens: 4,
        temperature: 0.8,
        seed: 5,
      },
    );
    const c = new Array<number>(CFG.vocab).fill(0);
    for (const row of g.completions) c[row[0]!]!++;
    // Pearson's χ² over the cells expecting ≥ 5 draws (the rest pooled), below its 1e-6
    // quantile (≈ 60 for 18 degrees of freedom; fewer cells, a smaller bound).
    let chi2 = 0;
    let cells = 0;
    let pooled = [0, 0];
    p.forEach((q, i) => {
      const e = q * rows;
      if (e < 5) pooled = [pooled[0]! + c[i]!, pooled[1]! + e];
      else {
        chi2 += (c[i]! - e) ** 2 / e;
        cells++;
      }
    });
    chi2 += (pooled[0]! - pooled[1]!) ** 2 / Math.max(pooled[1]!, 1);
    expect(cells).toBeGreaterThan(3);
    expect(chi2).toBeLessThan(60);
    expect(Math.max(...p)).toBeLessThan(0.6);
    // independent streams: 4-token completions of 600 rows are nearly all different (equal
    // streams would make every row the same)
    expect(new Set(g.completions.map((r) => r.join())).size).toBeGreaterThan(rows / 3);
    await m.dispose();
  });

  it("a row depends on the seed and its position only: bit for bit the same with any batch mates", async () => {
    const m = new Gpt(CFG, { seed: 3, threads: 1 });
    const row0 = [1, 2, 3];
    const o = { maxNewTokens: 10, seed: 7, temperature: 1.2, topP: 0.95, stopTokens: [4] };
    const alone = await generate(m, [row0], o);
    for (const mates of [
      [[4]],
      [[9, 9, 9, 9, 9, 9, 9, 9]],
      // mates that fill the context after a few tokens, and many of them
      Array.from({ length: 9 }, (_, i) => [...Array.from({ length: 13 }, () => 1 + i)]),
    ]) {
      const g = await generate(m, [row0, ...mates], o);
      expect(g.completions[0]).toEqual(alone.completions[0]);
      expect(g.logprobs[0]).toEqual(alone.logprobs[0]);
      expect(g.finish[0]).toBe(alone.finish[0]);
    }
    // the same prompt in another position draws another stream
    const second = await generate(m, [[5], row0], o);
    expect(second.completions[1]).not.toEqual(alone.completions[0]);
    await m.dispose();
  });

  it("sampled log-probs (temperature, top-k, top-p) are the full forward's log-softmax within 1e-4", async () => {
    // PPO's ratio starts from these: they must be the model's own, not the tempered or
    // truncated distribution's.
    const m = new Gpt({ ...CFG, layers: 2, context: 24 }, { seed: 9, threads: 1 });
    const prompts = [[3, 1, 4], [1], [5, 9, 2, 6, 5]];
    for (const o of [{ temperature: 0.6 }, { topK: 4, topP: 0.8, temperature: 1.4 }]) {
      const g = await generate(m, prompts, { ...o, maxNewTokens: 12, seed: 2 });
      const full = padBatch(g.sequences);
      const lp = await m.logprobs(full);
      let worst = 0;
      g.logprobs.forEach((row, b) => {
        row.forEach((v, j) => {
          worst = Math.max(worst, Math.abs(v - lp[b * full.length + prompts[b]!.length + j]!));
        });
      });
      expect(worst).toBeLessThan(1e-4);
      // top-k 4 holds against the uncached logits too (rank by the full forward, ties aside)
      if ("topK" in o) {
        for (const [b, seq] of g.sequences.entries()) {
          for (let t = prompts[b]!.length; t < seq.length; t++) {
            const l = await lastLogits(m, seq.slice(0, t));
            const above = Array.from(l).filter((x) => x > l[seq[t]!]! + 1e-5).length;
            expect(above).toBeLessThan(4);
          }
        }
      }
    }
    await m.dispose();
  });
});

describe("stop and length edges", () => {
  it("maxNewTokens 0 and 1, a prompt one short of the context, a stop token drawn first", async () => {
    const m = new Gpt(CFG, { seed: 4, threads: 1 });
    const prompt = [1, 2];
    const greedy = { temperature: 0, seed: 1 };
    const none = await generate(m, [prompt], { ...greedy, maxNewTokens: 0 });
    expect(none).toEqual({
      sequences: [prompt],
      completions: [[]],
      logprobs: [[]],
      finish: ["length"],
    });
    const one = await generate(m, [prompt], { ...greedy, maxNewTokens: 1 });
    expect(one.completions[0]!.length).toBe(1);
    expect(one.finish).toEqual(["length"]);
    const first = one.completions[0]![0]!;
    // the first token is a stop token: kept, finish "stop", and its batch mate carries on
    const stopped = await generate(m, [prompt, [3]], {
      ...greedy,
      maxNewTokens: 6,
      stopTokens: [first],
    });
    expect(stopped.completions[0]).toEqual([first]);
    expect(stopped.finish[0]).toBe("stop");
    expect(stopped.logprobs[0]!.length).toBe(1);
    const mate = await generate(m, [[3]], { ...greedy, maxNewTokens: 6, stopTokens: [first] });
    expect(stopped.completions[1]).toEqual(mate.completions[0]);
    // a prompt of context − 1 tokens has room for one: finish "length", or "stop" when that
    // one is a stop token
    const full = Array.from({ length: CFG.context - 1 }, (_, i) => 1 + (i % 5));
    const room = await generate(m, [full], { ...greedy, maxNewTokens: 5 });
    expect(room.completions[0]!.length).toBe(1);
    expect(room.sequences[0]!.length).toBe(CFG.context);
    expect(room.finish).toEqual(["length"]);
    const roomStop = await generate(m, [full], {
      ...greedy,
      maxNewTokens: 5,
      stopTokens: room.completions[0]!,
    });
    expect(roomStop.finish).toEqual(["stop"]);
    await m.dispose();
  });
});
