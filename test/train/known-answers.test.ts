/**
 * Known-answer tests: problems whose optimum is known in closed form.
 *
 * - PPO on a bandit: one prompt, one-token responses, reward r(a), per-token KL penalty β·k1.
 *   The KL-regularised objective E_π[r] − β·KL(π ‖ π_ref) is maximised by
 *   π*(a) = π_ref(a)·exp(r(a)/β) / Z (Ziegler et al. 2019; Rafailov et al. 2023, eq. 4).
 * - DPO on a two-response toy: cDPO with label smoothing ε is minimised where σ(βh) = 1 − ε,
 *   i.e. at h* = ln((1 − ε)/ε)/β; IPO at h* = 1/(2β); h is the log-ratio difference.
 * - A reward model learns a planted preference (responses naming "blue" are chosen).
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { type Gpt, padBatch } from "../../src/engine/gpt/model.js";
import type { TextCodec } from "../../src/train/common/codec.js";
import { openCheckpoint } from "../../src/train/common/model.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { RewardScorer } from "../../src/train/rm/ensemble.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { LETTERS, tinyCheckpoint, tmp } from "./fixtures.js";

const PROMPT = "pick one";

/** A tiny policy that answers PROMPT with one of A/B/C/D about equally often. */
async function letterPolicy(): Promise<string> {
  const rng = new Rng(7);
  const train = Array.from({ length: 64 }, (_, i) => ({
    prompt: PROMPT,
    completion: LETTERS[(i + rng.int(4)) % 4]!,
  }));
  const r = await trainSft(
    {
      model: { init: tinyCheckpoint(tmp("init"), 3) },
      train: { steps: 120, batch_size: 16, packing: false },
      optim: { lr: 1e-2 },
    },
    { train },
    { outDir: tmp("letters"), threads: 1 },
  );
  return r.checkpoint!;
}

/** Next-token distribution after PROMPT<sep>, over the whole vocabulary. */
async function firstTokenDist(model: Gpt, codec: TextCodec): Promise<Float64Array> {
  const ids = codec.prompt(PROMPT);
  const { logits } = await model.forward(padBatch([ids]), ["logits"]);
  const V = model.config.vocab;
  const z = logits!.subarray((ids.length - 1) * V, ids.length * V);
  const mx = Math.max(...z);
  const e = Float64Array.from(z, (x) => Math.exp(x - mx));
  const s = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / s);
}

function kl(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * Math.log(p[i]! / q[i]!);
  return s;
}

describe("PPO on a bandit reaches the KL-regularised optimum", () => {
  it("π → π_ref·exp(r/β)/Z, and KL(π ‖ π_ref) stays within the optimum's budget", async () => {
    const init = await letterPolicy();
    const { model: ref, codec } = openCheckpoint(init, 1);
    const rho = await firstTokenDist(ref, codec);
    const reward: Record<string, number> = { A: 1, B: 0.5 };
    const beta = 0.5;
    const letterId = (l: string) => codec.tokenizer.encode(l)[0]!;
    const rOf = new Float64Array(rho.length);
    for (const l of LETTERS) rOf[letterId(l)] = reward[l] ?? 0;
    const star = Float64Array.from(rho, (p, i) => p * Math.exp(rOf[i]! / beta));
    const Z = star.reduce((a, x) => a + x, 0);
    for (let i = 0; i < star.length; i++) star[i]! /= Z;

    const out = tmp("bandit");
    const res = await trainPpo(
      {
        seed: 5,
        policy: { init },
        rollout: { batch_size: 64, max_new_tokens: 1 },
        ppo: { iterations: 60, epochs: 2, minibatch_size: 32, vf_coef: 0.5 },
        kl: { estimator: "k1", controller: "fixed", coef: beta },
        reward_norm: { enabled: false },
        missing_eos_penalty: null,
        optim: { lr: 3e-3, max_grad_norm: 1 },
        run: { log_every: 10 },
      },
      { prompts: Array.from({ length: 64 }, () => PROMPT) },
      {
        outDir: out,
        threads: 1,
        reward: async (_p, responses) => ({
          score: Float64Array.from(responses, (t) => reward[t.trim()] ?? 0),
        }),
      },
    );
    expect(res.status).toBe("completed");
    const { model } = openCheckpoint(res.checkpoint!, 1);
    const pi = await firstTokenDist(model, codec);
    for (const l of LETTERS) {
      const i = letterId(l);
      expect(Math.abs(pi[i]! - star[i]!), `π(${l}) = ${pi[i]} vs π* = ${star[i]}`).toBeLessThan(
        0.01,
      );
    }
    expect(pi[letterId("A")]).toBeGreaterThan(rho[letterId("A")]! + 0.15);
    expect(kl(pi, rho)).toBeLessThan(kl(star, rho) + 0.02);
    await model.dispose();
    await ref.dispose();
  }, 120_000);
});

describe("DPO on a two-response toy moves the log-ratio difference to its optimum", () => {
  for (const [loss, beta, eps, hStar] of [
    ["cdpo", 1, 0.1, Math.log(9)],
    ["ipo", 0.5, 0, 1],
  ] as const) {
    it(`${loss}: h → ${hStar.toFixed(3)}`, async () => {
      const init = await letterPolicy();
      const res = await trainDpo(
        {
          model: { init },
          loss,
          beta,
          label_smoothing: eps,
          train: { steps: 150, batch_size: 1 },
          optim: { lr: 1e-2, max_grad_norm: null },
        },
        { train: [{ prompt: PROMPT, chosen: "A", rejected: "B" }] },
        { outDir: tmp("dpo"), threads: 1 },
      );
      const score = async (dir: string) => {
        const { model, codec } = openCheckpoint(dir, 1);
        const seq = (r: string) => [...codec.prompt(PROMPT), ...codec.response(r)];
        const b = padBatch([seq("A"), seq("B")]);
        const lp = await model.logprobs(b);
        const p = codec.prompt(PROMPT).length;
        const sum = (row: number) => {
          let s = 0;
          for (let t = p; t < b.length; t++) s += lp[row * b.length + t]!;
          return s;
        };
        await model.dispose();
        return [sum(0), sum(1)] as const;
      };
      const [rc, rr] = await score(init);
      const [pc, pr] = await score(res.checkpoint!);
      const h = pc - rc - (pr - rr);
      expect(Math.abs(h - hStar)).toBeLessThan(0.05 * hStar);
      expect(pc - pr).toBeGreaterThan(rc - rr);
    }, 60_000);
  }
});

describe("a reward model learns a planted preference", () => {
  it("responses naming 'blue' beat the others on held-out pairs", async () => {
    const rng = new Rng(11);
    const words = ["red", "green", "sky", "sea", "cat", "dog", "tree", "stone", "rain", "sun"];
    const phrase = (k: number) => Array.from({ length: k }, () => rng.pick(words)).join(" ");
    const pair = () => {
      const prompt = phrase(3);
      const plain = phrase(2 + rng.int(3));
      const blue = phrase(1 + rng.int(3)).replace(/^(\w+)/, "$1 blue");
      return { prompt, chosen: blue, rejected: plain };
    };
    const train = Array.from({ length: 160 }, pair);
    const held = Array.from({ length: 60 }, pair);
    const out = tmp("planted");
    const res = await trainRewardModel(
      {
        model: {
          arch: { d_model: 16, layers: 1, heads: 2, context: 32 },
          tokenizer: { vocab_size: 300 },
        },
        train: { epochs: 3, batch_size: 16 },
        optim: { lr: 5e-3 },
      },
      { train, eval: held },
      { outDir: out, threads: 1 },
    );
    expect(res.metrics.eval_accuracy).toBeGreaterThanOrEqual(0.95);
    const scorer = RewardScorer.load(res.checkpoint!, { threads: 1 });
    const s = await scorer.score(["sky sea cat", "sky sea cat"], ["dog blue tree", "dog red tree"]);
    expect(s.score[0]).toBeGreaterThan(s.score[1]!);
    await scorer.dispose();
  }, 60_000);
});
