/**
 * GPT-2-style decoder layers as graph-building functions, one per module, read bottom-up:
 * embeddings → attention bias → layer norm → causal self-attention → MLP → block → trunk →
 * heads. Every tensor carries its shape in a comment; B = batch, T = sequence, N = B·T rows,
 * C = d_model, H = heads, D = C / H, V = vocab, S = KV-cache capacity.
 *
 * Activations flow as 2-D [N, C] rows (as in llm.c), so every linear layer is one Gemm with
 * its bias fused, and its weight gradient is one Gemm with no reshapes; only attention views
 * the rows as [B, H, T, D].
 *
 * Padding: `mask` [B, T] is 1 on real tokens and 0 on padding. Positions count real tokens
 * only (cumsum(mask) − 1, floored at 0), so right- and left-padded rows see the same
 * positions; attention adds −1e9 to padded keys and to future positions. A padded query
 * still attends somewhere (never an all-masked row), so no NaN appears; its outputs are
 * ignored by every loss and head through the mask.
 *
 * Backward passes are not written here: `autodiff.ts` derives them from these graphs.
 */
import type { GraphBuilder, T } from "../builder.js";
import type { DType } from "../graph.js";
import { A } from "../ops/types.js";
import type { GptConfig } from "./config.js";

/** Looks up a parameter handle by its GPT-2 name. */
export type Params = (name: string) => T;

const NEG = -1e9;

/** positions [B, T] int32 = max(cumsum(mask) − 1, 0). */
export function positionsFromMask(b: GraphBuilder, mask: T): T {
  const cum = b.op1("CumSum", [mask, b.constant("int32", [1], [])]); // [B, T]
  return b.max(b.sub(cum, 1), 0); // [B, T]
}

/** x = wte[tokens] + wpe[positions] for flat ids [N]: [N, C]. */
export function embed(b: GraphBuilder, P: Params, tokens: T, positions: T): T {
  return b.add(b.gather(P("wte"), tokens), b.gather(P("wpe"), positions)); // [N, C]
}

/** Additive attention bias [B, 1, T, T]: −1e9 on future positions and padded keys. */
export function attentionBias(b: GraphBuilder, mask: T, dtype: "float32" | "float64"): T {
  const t = b.op1("Shape", [mask], { start: A.int(1), end: A.int(2) }); // [1] = (T)
  const full = b.op1("ConstantOfShape", [b.concat([t, t], 0)], {
    value: {
      kind: "tensor",
      value: {
        dtype,
        dims: [1],
        data: dtype === "float64" ? new Float64Array([NEG]) : new Float32Array([NEG]),
      },
    },
  }); // [T, T]
  const causal = b.op1("Trilu", [full, b.constant("int64", [1], [])], { upper: A.int(1) }); // [T, T]
  const keyPad = b.mul(b.sub(b.cast(mask, dtype), 1), -NEG); // [B, T]
  return b.add(causal, b.unsqueeze(keyPad, [1, 2])); // [B, 1, T, T]
}

/** LayerNorm over C: [N, C] → [N, C]. */
export function layerNorm(b: GraphBuilder, P: Params, name: string, x: T, eps: number): T {
  return b.layerNorm(x, P(`${name}.weight`), P(`${name}.bias`), eps);
}

/** y = x·W + b for the parameter pair `name`.weight/.bias, on rows [N, ·]: one Gemm. */
export type Linear = (name: string, x: T) => T;

export function linear(b: GraphBuilder, P: Params): Linear {
  return (name, x) => b.gemm(x, P(`${name}.weight`), P(`${name}.bias`));
}

/**
 * Causal self-attention over whole sequences: x [N, C] → y [N, C]; also returns k, v
 * [B, H, T, D] for a KV cache. `bt` is the int64 vector (B, T).
 */
export function attention(
  b: GraphBuilder,
  c: GptConfig,
  lin: Linear,
  p: string,
  x: T,
  bias: T,
  bt: T,
) {
  const D = c.dModel / c.heads;
  const qkv = b.reshape(lin(`${p}.c_attn`, x), b.concat([bt, b.ints([3 * c.heads, D])], 0)); // [B, T, 3H, D]
  const heads = b.transpose(qkv, [0, 2, 1, 3]); // [B, 3H, T, D]
  const [q, k, v] = b.split(heads, [c.heads, c.heads, c.heads], 1); // 3 × [B, H, T, D]
  // q·kᵀ/√D as one product that reads k transposed in place (see GraphBuilder.matmulT)
  const qk = b.matmulT(q!, k!, { transB: true, alpha: 1 / Math.sqrt(D) }); // [B, H, T, T]
  const scores = b.add(qk, bias); // [B, H, T, T]
  const y = b.matmul(b.softmax(scores, -1), v!); // [B, H, T, D]
  const rows = b.reshape(b.transpose(y, [0, 2, 1, 3]), [-1, c.dModel]); // [N, C]
  return { y: lin(`${p}.c_proj`, rows), k: k!, v: v! };
}

/**
 * One decoding step against a KV cache: x [B, C] (one token per row); pastKt [B, H, D, S]
 * (keys stored transposed, so the score product needs no transpose); pastV [B, H, S, D];
 * keyBias [B, 1, 1, S] (−1e9 on empty slots). The new token attends to the cache and to
 * itself; the softmax runs over the S cached scores and its own score side by side, so the
 * cache is read in place, never copied. `names` names the new k and v (the graph's outputs,
 * so that no Identity copies them).
 */
export function attentionStep(
  b: GraphBuilder,
  c: GptConfig,
  lin: Linear,
  p: string,
  x: T,
  pastKt: T,
  pastV: T,
  keyBias: T,
  names: { readonly k: string; readonly v: string },
) {
  const S = pastV.shape[2] as number;
  const D = c.dModel / c.heads;
  const heads = b.reshape(lin(`${p}.c_attn`, x), [0, 3 * c.heads, 1, D]); // [B, 3H, 1, D]
  const [q, k, v] = b.split(heads, [c.heads, c.heads, c.heads], 1, [
    b.fresh("q"),
    names.k,
    names.v,
  ]); // 3 × [B, H, 1, D]
  const sPast = b.add(b.matmul(q!, pastKt), keyBias); // [B, H, 1, S]
  const sSelf = b.reduceSum(b.mul(q!, k!), [3], true); // [B, H, 1, 1]
  // 1/√D scales the joined scores: a scale next to the product would be fused into it by ONNX
  // Runtime (FusedMatMul with alpha), whose batched kernel runs this [1, D]·[D, S] product
  // ~2× slower than MatMul's (measured: (b) decoding step 1.82 → 1.65 ms at 1 thread)
  const scores = b.mul(b.concat([sPast, sSelf], 3), 1 / Math.sqrt(D)); // [B, H, 1, S + 1]
  const prob = b.softmax(scores, -1); // [B, H, 1, S + 1]
  const [pPast, pSelf] = b.split(prob, [S, 1], 3); // [B, H, 1, S], [B, H, 1, 1]
  const y = b.add(b.matmul(pPast!, pastV), b.mul(pSelf!, v!)); // [B, H, 1, D]
  return { y: lin(`${p}.c_proj`, b.reshape(y, [0, c.dModel])), k: k!, v: v! }; // y: [B, C]
}

/** MLP: [N, C] → [N, 4C] → GELU → [N, C]. */
export function mlp(b: GraphBuilder, lin: Linear, p: string, x: T): T {
  return lin(`${p}.c_proj`, b.gelu(lin(`${p}.c_fc`, x)));
}

/** Pre-LN block: x + attn(ln_1(x)), then + mlp(ln_2(x)). `attend` is full or cached attention. */
export function block(
  b: GraphBuilder,
  c: GptConfig,
  P: Params,
  lin: Linear,
  i: number,
  x: T,
  attend: (p: string, h: T) => { y: T; k: T; v: T },
) {
  const p = `h.${i}`;
  return b.scope(p, () => {
    const a = attend(`${p}.attn`, layerNorm(b, P, `${p}.ln_1`, x, c.lnEps));
    const x1 = b.add(x, a.y); // [N, C]
    const x2 = b.add(x1, mlp(b, lin, `${p}.mlp`, layerNorm(b, P, `${p}.ln_2`, x1, c.lnEps))); // [N, C]
    return { x: x2, k: a.k, v: a.v };
  });
}

/**
 * The decoder trunk: tokens [B, T], mask [B, T] → final hidden rows h [N, C] (after ln_f),
 * the per-layer k, v [B, H, T, D], and bt = (B, T) for reshaping rows back to sequences.
 */
export function trunk(b: GraphBuilder, c: GptConfig, P: Params, tokens: T, mask: T) {
  const bt = b.shapeOf(tokens); // [2] = (B, T)
  const flat = (t: T) => b.reshape(t, [-1]); // [N]
  let x = embed(b, P, flat(tokens), flat(positionsFromMask(b, mask))); // [N, C]
  const bias = attentionBias(b, mask, c.dtype); // [B, 1, T, T]
  const lin = linear(b, P);
  const ks: T[] = [];
  const vs: T[] = [];
  for (let i = 0; i < c.layers; i++) {
    const r = block(b, c, P, lin, i, x, (p, h) => attention(b, c, lin, p, h, bias, bt));
    x = r.x;
    ks.push(r.k);
    vs.push(r.v);
  }
  return { h: layerNorm(b, P, "ln_f", x, c.lnEps), ks, vs, bt };
}

/** Tied LM head: logits = h · wteᵀ, [N, V]. */
export function lmHead(b: GraphBuilder, P: Params, h: T): T {
  return b.gemm(h, P("wte"), undefined, { transB: true }); // [N, V]
}

/**
 * [N, 1]: 1 where positions t and t + 1 both hold real tokens, else 0. Only there does
 * position t predict a real token from real context; a left-padded row's first token would
 * be "predicted" from its pads alone, a right-padded row's first pad from its last token.
 */
function predictionMask(b: GraphBuilder, mask: T, dtype: DType): T {
  const m = b.cast(mask, dtype); // [B, T]
  return b.mul(shiftLeft(b, m), b.reshape(m, [-1, 1])); // [N, 1]
}

/** log p(tokens[t] | tokens[<t]) for t = 1..T−1, from logits [N, V]: [B, T-1]. */
export function nextTokenLogprobs(b: GraphBuilder, logits: T, tokens: T, bt: T): T {
  const seq = b.reshape(logits, b.concat([bt, b.ints([-1])], 0)); // [B, T, V]
  const logp = b.logSoftmax(b.slice(seq, [0], [-1], [1]), -1); // [B, T-1, V]
  const next = b.unsqueeze(b.slice(tokens, [1], [2 ** 62], [1]), [2]); // [B, T-1, 1]
  return b.squeeze(b.gatherElements(logp, next, 2), [2]); // [B, T-1]
}

/** x [B, T] → [N, 1] holding x[b, t + 1] at row (b, t), and 0 at each row's last position. */
function shiftLeft(b: GraphBuilder, x: T): T {
  const rest = b.slice(x, [1], [2 ** 62], [1]); // [B, T-1]
  const pad = b.mul(b.slice(x, [0], [1], [1]), 0); // [B, 1] zeros
  return b.reshape(b.concat([rest, pad], 1), [-1, 1]); // [N, 1]
}

/**
 * Σ_t s_t·(onehot(next_t) − softmax(logits_t)) as an [N, V] tensor: the gradient at the logits
 * of Σ_t s_t·log p(next_t), given logp = logSoftmax(logits), the next tokens [N, 1] and the
 * weights s [N, 1]. One scatter into the scaled softmax; no zero-filled target, no slice.
 */
function pickedLogprobGrad(b: GraphBuilder, logp: T, next: T, s: T): T {
  return b.op1("ScatterElements", [b.mul(b.exp(logp), b.neg(s)), next, s], {
    axis: A.int(1),
    reduction: A.str("add"),
  }); // [N, V]
}

/**
 * The SFT loss, −Σ_t w_t·log p(tokens[t+1] | tokens[≤t]) / max(Σ_t w_t, 1) with w_t =
 * lossMask[t+1]·mask[t]·mask[t+1] (nothing predicts token 0, and padding neither predicts nor
 * is predicted, whatever lossMask says), over logits [N, V] for every position, and its
 * gradient with respect to the logits in closed form: (softmax − onehot(next))·w/count.
 * Positions are not sliced: the last one of each row predicts a dummy token 0 with weight 0.
 * Bit for bit the gradient autodiff derives through LogSoftmax and GatherElements, without
 * the zero-filled scatter target, the slice and its padding back (bench:engine's (a) step,
 * forward and backward: 20.3–20.6 → 19.8–19.9 ms, old and new alternating in one process).
 */
export function nextTokenLoss(b: GraphBuilder, logits: T, tokens: T, mask: T, lossMask: T) {
  const logp = b.logSoftmax(logits, -1); // [N, V]
  const next = shiftLeft(b, tokens); // [N, 1]
  const w = b.mul(shiftLeft(b, lossMask), predictionMask(b, mask, lossMask.dtype)); // [N, 1]
  const count = b.max(b.reduceSum(w, [], false), 1); // []
  const picked = b.gatherElements(logp, next, 1); // [N, 1]
  const loss = b.neg(b.div(b.reduceSum(b.mul(picked, w), [], false), count)); // []
  const dLogits = pickedLogprobGrad(b, logp, next, b.neg(b.div(w, count))); // [N, V]
  return { loss, dLogits };
}

/**
 * The gradient at the logits [N, V] of Σ d ⊙ tokenLogprobs(logits) for an upstream gradient
 * d [B, T] (entry 0 is ignored, as tokenLogprobs' entry 0 is a constant), in closed form: a
 * backward graph seeds here instead of differentiating tokenLogprobs' slice, gather and concat.
 */
export function tokenLogprobsGrad(b: GraphBuilder, logits: T, tokens: T, d: T): T {
  const logp = b.logSoftmax(logits, -1); // [N, V]
  return pickedLogprobGrad(b, logp, shiftLeft(b, tokens), shiftLeft(b, d)); // [N, V]
}

/**
 * Per-token log-probabilities [B, T]: entry t is log p(tokens[t] | tokens[<t]); entry 0 is 0
 * (the first token has no prediction). Entries at padding, and at a left-padded row's first
 * real token (predicted from its pads), are computed all the same: callers mask them.
 */
export function tokenLogprobs(b: GraphBuilder, logits: T, tokens: T, bt: T): T {
  const picked = nextTokenLogprobs(b, logits, tokens, bt); // [B, T-1]
  // zeros cut from the tokens, which keep a column when T = 1 (picked then has none)
  const zero = b.mul(b.cast(b.slice(tokens, [0], [1], [1]), logits.dtype), 0); // [B, 1]
  return b.concat([zero, picked], 1); // [B, T]
}

/** Per-token value [B, T]. */
export function valueHead(b: GraphBuilder, P: Params, h: T, bt: T): T {
  const v = b.gemm(h, P("value_head.weight"), P("value_head.bias")); // [N, 1]
  return b.reshape(v, bt); // [B, T]
}

/** Scalar reward [B], read at each row's last non-padding token. */
export function rewardHead(b: GraphBuilder, P: Params, h: T, mask: T, bt: T): T {
  const r = b.reshape(b.gemm(h, P("reward_head.weight"), P("reward_head.bias")), bt); // [B, T]
  const cum = b.op1("CumSum", [mask, b.constant("int32", [1], [])]); // [B, T]
  const last = b.op1("ArgMax", [cum], { axis: A.int(1), keepdims: A.int(1) }); // [B, 1] int64
  return b.reshape(b.gatherElements(r, last, 1), [-1]); // [B]
}
