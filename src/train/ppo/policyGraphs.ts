/**
 * The policy graphs PPO trains through, built from the engine's layers: one forward graph that
 * returns per-token log-probs, values AND the policy's entropy at each position, and its
 * backward twin that takes upstream gradients for all three. The engine's own heads have no
 * entropy (it needs the whole distribution, not the picked token's log-prob), and an entropy
 * bonus is only exact if its gradient flows through the full softmax:
 *
 *   H_t = −Σ_v p_v log p_v,  p = softmax(logits at position t − 1)     entry 0 = 0
 *
 * so entropy is aligned with log-probs (entry t describes the distribution that predicted
 * token t). The old log-probs of a PPO batch and the new ones of every minibatch come from this
 * same forward graph, so the ratio is exactly 1 before the first update.
 * They run through `Gpt.runBatch` (sessions cached on the model, keyed by the heads they compute;
 * small models split a batch across data-parallel replicas).
 */
import { gradients } from "../../engine/autodiff.js";
import { GraphBuilder, type T } from "../../engine/builder.js";
import { gradOutputName } from "../../engine/gpt/graphs.js";
import * as L from "../../engine/gpt/layers.js";
import type { Gpt, TokenBatch } from "../../engine/gpt/model.js";
import type { BatchRun } from "../../engine/gpt/shards.js";
import type { FloatArray } from "../../engine/params.js";

export type PolicyHead = "logprobs" | "values" | "entropy";

function build(model: Gpt, heads: readonly PolicyHead[], backward: boolean) {
  const c = model.config;
  const store = model.params;
  const b = new GraphBuilder(backward ? "ppo_backward" : "ppo_forward");
  const byName = new Map<string, T>();
  const params = store.specs.map((s) => {
    const t = b.input(s.name, store.dtype, s.shape);
    byName.set(s.name, t);
    return t;
  });
  const param: L.Params = (n) => byName.get(n)!;
  const tokens = b.input("tokens", "int32", ["B", "T"]);
  const mask = b.input("mask", "int32", ["B", "T"]);
  const { h, bt } = L.trunk(b, c, param, tokens, mask); // h [N, C]
  const out: Partial<Record<PolicyHead, T>> = {};
  let logits: T | undefined;
  if (heads.includes("logprobs") || heads.includes("entropy")) {
    logits = L.lmHead(b, param, h); // [N, V]
    // the backward graph seeds log-probs at the logits in closed form (below)
    if (heads.includes("logprobs") && !backward)
      out.logprobs = L.tokenLogprobs(b, logits, tokens, bt); // [B, T]
    if (heads.includes("entropy")) {
      const logp = b.logSoftmax(logits, -1); // [N, V]
      const ent = b.neg(b.reduceSum(b.mul(b.exp(logp), logp), [1], false)); // [N]
      const grid = b.reshape(ent, bt); // [B, T]: entropy of the prediction made AT position t
      const prev = b.slice(grid, [0], [-1], [1]); // [B, T-1]
      const zero = b.mul(b.slice(grid, [0], [1], [1]), 0); // [B, 1]
      out.entropy = b.concat([zero, prev], 1); // [B, T]: entry t predicts token t
    }
  }
  if (heads.includes("values")) out.values = L.valueHead(b, param, h, bt); // [B, T]
  if (!backward) {
    for (const k of heads) b.output(out[k]!, k);
    return b.graph;
  }
  const seeds = heads
    .filter((k) => k !== "logprobs")
    .map((k) => ({ of: out[k]!, grad: b.input(`d_${k}`, store.dtype, ["B", "T"]) }));
  if (heads.includes("logprobs")) {
    const d = b.input("d_logprobs", store.dtype, ["B", "T"]);
    seeds.push({ of: logits!, grad: L.tokenLogprobsGrad(b, logits!, tokens, d) });
  }
  const grads = gradients(b, seeds, params);
  // One output per differentiated parameter, bound at run time to its slice of the flat
  // buffer (no Concat copy), as the engine's own backward graphs do.
  for (const p of params) {
    const g = grads.get(p.name);
    if (g) b.output(g, gradOutputName(p.name));
  }
  return b.graph;
}

const key = (heads: readonly PolicyHead[]) => [...heads].sort().join(",");

/** Per-token heads [B, T] of the policy. */
export async function policyForward(
  model: Gpt,
  batch: TokenBatch,
  heads: readonly PolicyHead[],
): Promise<Partial<Record<PolicyHead, FloatArray>>> {
  const want = [...new Set(heads)].sort();
  return model.runBatch({
    key: `ppo-forward:${key(want)}`,
    build: () => build(model, want, false),
    batch,
    rows: want,
  });
}

/** Gradient (flat, params layout) of Σ_heads Σ d_head ⊙ head; written into `into`. */
export async function policyBackward(
  model: Gpt,
  batch: TokenBatch,
  d: Partial<Record<PolicyHead, FloatArray>>,
  into: FloatArray,
): Promise<FloatArray> {
  const want = (Object.keys(d) as PolicyHead[]).filter((k) => d[k] !== undefined).sort();
  const rowInputs: NonNullable<BatchRun["rowInputs"]> = {};
  for (const k of want)
    rowInputs[`d_${k}`] = {
      data: d[k]!,
      dtype: model.params.dtype,
      dims: [batch.batch, batch.length],
    };
  await model.runBatch({
    key: `ppo-backward:${key(want)}`,
    build: () => build(model, want, true),
    batch,
    rowInputs,
    gradInto: into,
  });
  return into;
}
