/**
 * The graphs a GPT runs, all built from `layers.ts` and differentiated by `autodiff.ts`:
 *
 *   forward   tokens, mask → any of logits [B, T, V], logprobs [B, T], values [B, T], rewards [B]
 *   train     tokens, mask, loss_mask → loss (masked mean next-token cross-entropy) and grad
 *   backward  tokens, mask, d_<head> → grad = Σ_heads d_headᵀ · ∂head/∂θ (upstream gradients
 *             from a loss computed elsewhere, e.g. PPO or DPO in TypeScript)
 *   prefill   forward plus every layer's k, v [B, H, T, D] to seed a KV cache
 *   decode    one token per row against a KV cache of capacity S (see layers.attentionStep)
 * Parameters are graph inputs fed from keel's arrays, except in `standalone` graphs (export),
 * where they are initializers. `grad` is one flat vector in the ParamStore layout.
 */
import { gradients } from "../autodiff.js";
import { GraphBuilder, type T } from "../builder.js";
import type { DType } from "../graph.js";
import type { ParamStore } from "../params.js";
import type { GptConfig } from "./config.js";
import * as L from "./layers.js";

export type Head = "logits" | "logprobs" | "values" | "rewards";
export type GradHead = "logprobs" | "values" | "rewards";
export const HEADS: readonly Head[] = ["logits", "logprobs", "values", "rewards"];

interface Declared {
  readonly b: GraphBuilder;
  readonly P: L.Params;
  readonly params: T[];
}

function declare(name: string, store: ParamStore, standalone = false): Declared {
  const b = new GraphBuilder(name);
  const dtype: DType = store.dtype;
  const params: T[] = [];
  const byName = new Map<string, T>();
  for (const s of store.specs) {
    const t = standalone
      ? b.initializer(s.name, { dtype, dims: s.shape, data: store.view(s.name).slice() })
      : b.input(s.name, dtype, s.shape);
    params.push(t);
    byName.set(s.name, t);
  }
  return { b, P: (n) => byName.get(n)!, params };
}

function tokenInputs(b: GraphBuilder, int64 = false) {
  if (!int64)
    return {
      tokens: b.input("tokens", "int32", ["B", "T"]),
      mask: b.input("mask", "int32", ["B", "T"]),
    };
  const ids = b.input("input_ids", "int64", ["B", "T"]);
  const am = b.input("attention_mask", "int64", ["B", "T"]);
  return { tokens: b.cast(ids, "int32"), mask: b.cast(am, "int32") };
}

function heads(b: GraphBuilder, P: L.Params, h: T, tokens: T, mask: T, want: readonly Head[]) {
  const out: Partial<Record<Head, T>> = {};
  let logits: T | undefined;
  if (want.includes("logits") || want.includes("logprobs")) logits = L.lmHead(b, P, h);
  if (want.includes("logits")) out.logits = logits;
  if (want.includes("logprobs")) out.logprobs = L.tokenLogprobs(b, logits!, tokens);
  if (want.includes("values")) out.values = L.valueHead(b, P, h);
  if (want.includes("rewards")) out.rewards = L.rewardHead(b, P, h, mask);
  return out;
}

/** Inference graph; `standalone` embeds the weights and takes int64 input_ids/attention_mask. */
export function forwardGraph(
  c: GptConfig,
  store: ParamStore,
  want: readonly Head[],
  standalone = false,
) {
  const { b, P } = declare("gpt_forward", store, standalone);
  const { tokens, mask } = tokenInputs(b, standalone);
  const { h } = L.trunk(b, c, P, tokens, mask);
  const out = heads(b, P, h, tokens, mask, want);
  for (const k of want) b.output(out[k]!, k);
  return b.graph;
}

/** Flat gradient [P]: every parameter's gradient reshaped to 1-D and concatenated. */
function flatGrad(b: GraphBuilder, params: readonly T[], grads: Map<string, T | undefined>): T {
  const parts = params.map((p) => b.reshape(grads.get(p.name) ?? b.zerosLike(p), [-1]));
  return b.concat(parts, 0);
}

/** Forward + masked next-token cross-entropy + backward, in one graph. */
export function trainGraph(c: GptConfig, store: ParamStore) {
  const { b, P, params } = declare("gpt_train", store);
  const { tokens, mask } = tokenInputs(b);
  const lossMask = b.input("loss_mask", store.dtype, ["B", "T"]);
  const { h } = L.trunk(b, c, P, tokens, mask);
  const logp = L.tokenLogprobs(b, L.lmHead(b, P, h), tokens); // [B, T]
  const total = b.reduceSum(b.mul(logp, lossMask), [], false); // []
  const count = b.max(b.reduceSum(lossMask, [], false), 1); // []
  const loss = b.neg(b.div(total, count)); // []
  const grads = gradients(b, [{ of: loss }], params);
  b.output(loss, "loss");
  b.output(flatGrad(b, params, grads), "grad");
  return b.graph;
}

/** Forward + backward from upstream gradients `d_<head>` for the given heads. */
export function backwardGraph(c: GptConfig, store: ParamStore, want: readonly GradHead[]) {
  const { b, P, params } = declare("gpt_backward", store);
  const { tokens, mask } = tokenInputs(b);
  const { h } = L.trunk(b, c, P, tokens, mask);
  const out = heads(b, P, h, tokens, mask, want);
  const seeds = want.map((k) => ({
    of: out[k]!,
    grad: b.input(`d_${k}`, store.dtype, out[k]!.shape),
  }));
  const grads = gradients(b, seeds, params);
  b.output(flatGrad(b, params, grads), "grad");
  return b.graph;
}

/** Logits [B, T, V] plus k_i, v_i [B, H, T, D] for every layer i. */
export function prefillGraph(c: GptConfig, store: ParamStore) {
  const { b, P } = declare("gpt_prefill", store);
  const { tokens, mask } = tokenInputs(b);
  const { h, ks, vs } = L.trunk(b, c, P, tokens, mask);
  b.output(L.lmHead(b, P, h), "logits");
  for (let i = 0; i < c.layers; i++) {
    b.output(ks[i]!, `k_${i}`);
    b.output(vs[i]!, `v_${i}`);
  }
  return b.graph;
}

/**
 * One decoding step: token, position [B, 1] int32; key_bias [B, S]; past_k_i, past_v_i
 * [B, H, S, D] → logits [B, V] and the new entries k_i, v_i [B, H, 1, D].
 */
export function decodeGraph(c: GptConfig, store: ParamStore, capacity: number) {
  const { b, P } = declare("gpt_decode", store);
  const D = c.dModel / c.heads;
  const token = b.input("token", "int32", ["B", 1]);
  const position = b.input("position", "int32", ["B", 1]);
  const keyBias = b.unsqueeze(b.input("key_bias", store.dtype, ["B", capacity]), [1, 2]); // [B, 1, 1, S]
  let x = L.embed(b, P, token, position); // [B, 1, C]
  for (let i = 0; i < c.layers; i++) {
    const pk = b.input(`past_k_${i}`, store.dtype, ["B", c.heads, capacity, D]);
    const pv = b.input(`past_v_${i}`, store.dtype, ["B", c.heads, capacity, D]);
    const r = L.block(b, c, P, i, x, (p, h) => L.attentionStep(b, c, P, p, h, pk, pv, keyBias));
    x = r.x;
    b.output(r.k, `k_${i}`);
    b.output(r.v, `v_${i}`);
  }
  const logits = L.lmHead(b, P, L.layerNorm(b, P, "ln_f", x, c.lnEps)); // [B, 1, V]
  b.output(b.reshape(logits, [0, -1]), "logits"); // [B, V]
  return b.graph;
}
