/**
 * The graphs a GPT runs, all built from `layers.ts` and differentiated by `autodiff.ts`:
 *
 *   forward   tokens, mask → any of logits [B, T, V], logprobs [B, T], values [B, T], rewards [B]
 *   train     tokens, mask, loss_mask → loss (masked mean next-token cross-entropy) and grads
 *   backward  tokens, mask, d_<head> → grads of Σ_heads d_headᵀ · head (upstream gradients
 *             from a loss computed elsewhere, e.g. PPO or DPO in TypeScript)
 *   prefill   forward plus every layer's k, v [B, H, T, D] to seed a KV cache
 *   decode    one token per row against a KV cache of capacity S (see layers.attentionStep)
 * Parameters are graph inputs fed from keel's arrays, except in `standalone` graphs (export),
 * where they are initializers and only standard ONNX ops appear. Gradients are outputs
 * `grad:<param>` (see gradOutputs).
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
  readonly param: L.Params;
  readonly params: T[];
}

function declare(name: string, store: ParamStore, standalone = false): Declared {
  const b = new GraphBuilder(name, { portable: standalone });
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
  return { b, param: (n) => byName.get(n)!, params };
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

function heads(
  b: GraphBuilder,
  param: L.Params,
  h: T,
  bt: T,
  tokens: T,
  mask: T,
  want: readonly Head[],
) {
  const out: Partial<Record<Head, T>> = {};
  let logits: T | undefined;
  if (want.includes("logits") || want.includes("logprobs")) logits = L.lmHead(b, param, h);
  if (want.includes("logits")) out.logits = b.reshape(logits!, b.concat([bt, b.ints([-1])], 0)); // [B, T, V]
  if (want.includes("logprobs")) out.logprobs = L.tokenLogprobs(b, logits!, tokens, bt);
  if (want.includes("values")) out.values = L.valueHead(b, param, h, bt);
  if (want.includes("rewards")) out.rewards = L.rewardHead(b, param, h, mask, bt);
  return out;
}

/** Inference graph; `standalone` embeds the weights and takes int64 input_ids/attention_mask. */
export function forwardGraph(
  c: GptConfig,
  store: ParamStore,
  want: readonly Head[],
  standalone = false,
) {
  const { b, param } = declare("gpt_forward", store, standalone);
  const { tokens, mask } = tokenInputs(b, standalone);
  const { h, bt } = L.trunk(b, c, param, tokens, mask);
  const out = heads(b, param, h, bt, tokens, mask, want);
  for (const k of want) b.output(out[k]!, k);
  return b.graph;
}

/**
 * One output `grad:<name>` per parameter that receives a gradient. The model binds each to
 * its slice of one flat buffer (ONNX Runtime fills preallocated outputs in place), which
 * gives a flat gradient without a Concat copy; parameters without an output get zeros.
 */
function gradOutputs(
  b: GraphBuilder,
  params: readonly T[],
  grads: Map<string, T | undefined>,
): void {
  for (const p of params) {
    const g = grads.get(p.name);
    if (g) b.output(g, gradOutputName(p.name));
  }
}

export const gradOutputName = (param: string) => `grad:${param}`;

/** Forward + masked next-token cross-entropy + backward, in one graph (see L.nextTokenLoss). */
export function trainGraph(c: GptConfig, store: ParamStore) {
  const { b, param, params } = declare("gpt_train", store);
  const { tokens, mask } = tokenInputs(b);
  const lossMask = b.input("loss_mask", store.dtype, ["B", "T"]);
  const { h } = L.trunk(b, c, param, tokens, mask);
  const logits = L.lmHead(b, param, h); // [N, V]
  const { loss, dLogits } = L.nextTokenLoss(b, logits, tokens, mask, lossMask);
  // the backward pass starts at the logits, from the loss's closed-form gradient
  const grads = gradients(b, [{ of: logits, grad: dLogits }], params);
  b.output(loss, "loss");
  gradOutputs(b, params, grads);
  return b.graph;
}

/** Forward + backward from upstream gradients `d_<head>` for the given heads. */
export function backwardGraph(c: GptConfig, store: ParamStore, want: readonly GradHead[]) {
  const { b, param, params } = declare("gpt_backward", store);
  const { tokens, mask } = tokenInputs(b);
  const { h, bt } = L.trunk(b, c, param, tokens, mask);
  const others = want.filter((k) => k !== "logprobs");
  const out = heads(b, param, h, bt, tokens, mask, others);
  const seeds = others.map((k) => ({
    of: out[k]!,
    grad: b.input(`d_${k}`, store.dtype, out[k]!.shape),
  }));
  if (want.includes("logprobs")) {
    // seeded at the logits with the closed-form gradient (L.tokenLogprobsGrad)
    const logits = L.lmHead(b, param, h); // [N, V]
    const d = b.input("d_logprobs", store.dtype, ["B", "T"]);
    seeds.push({ of: logits, grad: L.tokenLogprobsGrad(b, logits, tokens, d) });
  }
  const grads = gradients(b, seeds, params);
  gradOutputs(b, params, grads);
  return b.graph;
}

/** Logits [B, T, V] plus k_i, v_i [B, H, T, D] for every layer i. */
export function prefillGraph(c: GptConfig, store: ParamStore) {
  const { b, param } = declare("gpt_prefill", store);
  const { tokens, mask } = tokenInputs(b);
  const { h, ks, vs, bt } = L.trunk(b, c, param, tokens, mask);
  b.output(b.reshape(L.lmHead(b, param, h), b.concat([bt, b.ints([-1])], 0)), "logits"); // [B, T, V]
  for (let i = 0; i < c.layers; i++) {
    b.output(ks[i]!, `k_${i}`);
    b.output(vs[i]!, `v_${i}`);
  }
  return b.graph;
}

/**
 * One decoding step: token, position [B] int32; key_bias [B, S]; past_kt_i [B, H, D, S] and
 * past_v_i [B, H, S, D] → logits [B, V] and the new entries k_i, v_i [B, H, 1, D].
 * With `baked`, the weights are initializers referring to the ParamStore's memory (external
 * data named "keel.params"), so ONNX Runtime pre-packs them once; a step at batch 16 runs
 * ~1.5–2× faster than with weights fed as inputs. The session must then be rebuilt when the
 * weights change (see ParamStore.version).
 */
export function decodeGraph(c: GptConfig, store: ParamStore, capacity: number, baked = false) {
  const b = new GraphBuilder("gpt_decode");
  const byName = new Map<string, T>();
  for (const s of store.specs) {
    const [offset, n] = store.range(s.name);
    const bytes = store.dtype === "float64" ? 8 : 4;
    byName.set(
      s.name,
      baked
        ? b.initializer(s.name, {
            dtype: store.dtype,
            dims: s.shape,
            data: new Float32Array(0),
            external: { location: PARAMS_LOCATION, offset: offset * bytes, length: n * bytes },
          })
        : b.input(s.name, store.dtype, s.shape),
    );
  }
  const param: L.Params = (n) => byName.get(n)!;
  const lin = L.linear(b, param);
  const D = c.dModel / c.heads;
  const token = b.input("token", "int32", ["B"]);
  const position = b.input("position", "int32", ["B"]);
  const keyBias = b.unsqueeze(b.input("key_bias", store.dtype, ["B", capacity]), [1, 2]); // [B, 1, 1, S]
  let x = L.embed(b, param, token, position); // [B, C]
  for (let i = 0; i < c.layers; i++) {
    const pk = b.input(`past_kt_${i}`, store.dtype, ["B", c.heads, D, capacity]);
    const pv = b.input(`past_v_${i}`, store.dtype, ["B", c.heads, capacity, D]);
    const r = L.block(b, c, param, lin, i, x, (p, h) =>
      L.attentionStep(b, c, lin, p, h, pk, pv, keyBias, { k: `k_${i}`, v: `v_${i}` }),
    );
    x = r.x;
    b.output(r.k, `k_${i}`);
    b.output(r.v, `v_${i}`);
  }
  const h = L.layerNorm(b, param, "ln_f", x, c.lnEps); // [B, C]
  b.output(b.gemm(h, param("wte"), undefined, { transB: true }), "logits"); // [B, V]
  return b.graph;
}

/** The external-data name under which baked graphs find the ParamStore's bytes. */
export const PARAMS_LOCATION = "keel.params";
