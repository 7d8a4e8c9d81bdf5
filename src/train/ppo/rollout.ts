/**
 * One PPO rollout: sample responses to a batch of prompts from the current policy (batched
 * KV-cache generation, seeded), and lay them out for scoring and training:
 *
 *   batch       prompt ++ response per row, right-padded [B, T]
 *   action      1 at response-token positions (the tokens the policy chose), 0 elsewhere
 *   genLogprobs generation's own log-prob of each chosen token, at its position — kept only to
 *               report how far it is from the training forward pass's (they should agree to
 *               float round-off; the ratio uses the forward pass's)
 *
 * and the per-token reward of Ziegler et al. (2019): r_t = −β·kl_t on every action token, plus
 * the (normalised, clipped) sequence score on the last one.
 */
import { generate } from "../../engine/gpt/generate.js";
import { type Gpt, padBatch, type TokenBatch } from "../../engine/gpt/model.js";
import type { TextCodec } from "../common/codec.js";

export interface Rollout {
  readonly batch: TokenBatch;
  readonly action: Float64Array;
  readonly genLogprobs: Float64Array;
  readonly promptLens: readonly number[];
  readonly responseLens: readonly number[];
  readonly finished: readonly boolean[];
  readonly prompts: readonly string[];
  readonly responses: readonly string[];
}

export interface RolloutOptions {
  readonly maxNewTokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly seed: string | number;
}

export async function collectRollout(
  policy: Gpt,
  codec: TextCodec,
  prompts: readonly string[],
  o: RolloutOptions,
): Promise<Rollout> {
  const room = policy.config.context - o.maxNewTokens;
  const ids = prompts.map((p) => codec.fitPrompt(codec.prompt(p), Math.max(1, room)));
  const gen = await generate(policy, ids, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    ...(o.topK > 0 ? { topK: o.topK } : {}),
    ...(o.topP < 1 ? { topP: o.topP } : {}),
    stopTokens: [codec.eosId],
    seed: o.seed,
  });
  const batch = padBatch(gen.sequences, { padId: codec.padId });
  const T = batch.length;
  const action = new Float64Array(batch.batch * T);
  const genLogprobs = new Float64Array(batch.batch * T);
  ids.forEach((p, b) => {
    const comp = gen.completions[b]!;
    for (let j = 0; j < comp.length; j++) {
      action[b * T + p.length + j] = 1;
      genLogprobs[b * T + p.length + j] = gen.logprobs[b]![j]!;
    }
  });
  return {
    batch,
    action,
    genLogprobs,
    promptLens: ids.map((p) => p.length),
    responseLens: gen.completions.map((c) => c.length),
    finished: gen.finish.map((f) => f === "stop"),
    prompts,
    responses: gen.completions.map((c) => codec.decodeResponse(c)),
  };
}

/** r_t = −β·kl_t on action tokens, plus `score[b]` on row b's last action token. */
export function tokenRewards(
  r: Rollout,
  kl: ArrayLike<number>,
  beta: number,
  score: ArrayLike<number>,
): Float64Array {
  const T = r.batch.length;
  const out = new Float64Array(kl.length);
  for (let i = 0; i < out.length; i++) if (r.action[i] !== 0) out[i] = -beta * kl[i]!;
  r.promptLens.forEach((p, b) => {
    const n = r.responseLens[b]!;
    if (n > 0) out[b * T + p + n - 1]! += score[b]!;
  });
  return out;
}

/** Per-row sums of a [B, T] array over action tokens. */
export function rowSums(r: Rollout, x: ArrayLike<number>): Float64Array {
  const T = r.batch.length;
  const out = new Float64Array(r.batch.batch);
  for (let i = 0; i < x.length; i++) if (r.action[i] !== 0) out[Math.floor(i / T)]! += x[i]!;
  return out;
}

/**
 * Values aligned with actions: the value of the state before token t is the value head's
 * output at position t − 1. Returns [B, T] with entries at action positions.
 */
export function alignValues(r: Rollout, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) if (r.action[i] !== 0) out[i] = values[i - 1]!;
  return out;
}

/** Rows `rows` of [B, T] batch data as their own batch of length = their longest row. */
export function subBatch(r: Rollout, rows: readonly number[]) {
  const T = r.batch.length;
  const L = Math.max(...rows.map((b) => r.promptLens[b]! + r.responseLens[b]!));
  const tokens = new Int32Array(rows.length * L);
  const mask = new Int32Array(rows.length * L);
  rows.forEach((b, k) => {
    tokens.set(r.batch.tokens.subarray(b * T, b * T + L), k * L);
    mask.set(r.batch.mask!.subarray(b * T, b * T + L), k * L);
  });
  const take = (x: ArrayLike<number>): Float64Array => {
    const out = new Float64Array(rows.length * L);
    rows.forEach((b, k) => {
      for (let t = 0; t < L; t++) out[k * L + t] = x[b * T + t]!;
    });
    return out;
  };
  return { batch: { tokens, mask, batch: rows.length, length: L } as TokenBatch, take };
}
