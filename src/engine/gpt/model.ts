/**
 * A GPT model at run time: its config, its parameters (keel-owned flat array), and one ONNX
 * Runtime session per graph kind, built on first use and reused.
 *
 * How trainers use it (every method takes a right- or left-padded `TokenBatch`):
 *   forward(batch, heads)     logits / logprobs / values / rewards
 *   lossAndGrad(batch)        SFT: masked next-token cross-entropy and its gradient, one run
 *   backward(batch, d)        gradient of Σ d_headᵀ·head for upstream gradients d computed in
 *                             TypeScript (PPO, DPO, Bradley–Terry); the session recomputes the
 *                             forward pass, so a TS-loss step costs one forward + one
 *                             forward-and-backward
 * Gradients come back as one flat array in `params.flat`'s layout, ready for `AdamW.step`.
 * Generation lives in `generate.ts`.
 */
import type * as ort from "onnxruntime-node";
import { KeelError } from "../../core/errors.js";
import { Rng, type Seed } from "../../core/rng.js";
import type { Graph } from "../graph.js";
import { type FloatArray, ParamStore } from "../params.js";
import { Session, tensor } from "../runtime.js";
import { type GptConfig, type GptConfigInput, paramSpecs, parseGptConfig } from "./config.js";
import {
  backwardGraph,
  forwardGraph,
  type GradHead,
  gradOutputName,
  type Head,
  PARAMS_LOCATION,
  prefillGraph,
  trainGraph,
} from "./graphs.js";

/** Token ids and attention mask, row-major [batch, length]. */
export interface TokenBatch {
  readonly tokens: Int32Array;
  /** 1 on real tokens, 0 on padding; all ones when omitted. */
  readonly mask?: Int32Array;
  readonly batch: number;
  readonly length: number;
}

export interface TrainBatch extends TokenBatch {
  /**
   * Weights of the next-token predictions in the loss, [batch, length]: entry t weighs
   * log p(tokens[t] | tokens[<t]); entry 0 is ignored (nothing predicts the first token).
   */
  readonly lossMask: FloatArray;
}

/** Right-pads rows into a batch (length = longest row unless given). */
export function padBatch(
  rows: readonly (readonly number[])[],
  opts: { length?: number; padId?: number } = {},
): TokenBatch {
  const length = opts.length ?? Math.max(1, ...rows.map((r) => r.length));
  const tokens = new Int32Array(rows.length * length).fill(opts.padId ?? 0);
  const mask = new Int32Array(rows.length * length);
  rows.forEach((r, i) => {
    if (r.length > length) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `row ${i} has ${r.length} tokens, more than the batch length ${length}`,
      );
    }
    tokens.set(r, i * length);
    mask.fill(1, i * length, i * length + r.length);
  });
  return { tokens, mask, batch: rows.length, length };
}

export type HeadOutputs = Partial<Record<Head, FloatArray>>;

export interface GptOptions {
  /** Seed for initialisation. */
  readonly seed?: Seed;
  /** ONNX Runtime intra-op threads. */
  readonly threads?: number;
}

export class Gpt {
  readonly config: GptConfig;
  readonly params: ParamStore;
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly threads: number | undefined;
  private gradBuffer: FloatArray | undefined;
  private readonly baked = new Map<string, { version: number; session: Promise<Session> }>();

  constructor(config: GptConfigInput | GptConfig, opts: GptOptions = {}) {
    this.config = parseGptConfig(config);
    this.params = new ParamStore(paramSpecs(this.config), this.config.dtype);
    this.params.initialise(new Rng(opts.seed ?? 0).fork("gpt-init"));
    this.threads = opts.threads;
  }

  /** The session for a graph kind, built once. */
  session(key: string, build: () => Graph): Promise<Session> {
    let s = this.sessions.get(key);
    if (!s) {
      s = Session.create(build(), this.threads === undefined ? {} : { threads: this.threads });
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * A session whose graph embeds the current weights (see `decodeGraph`), rebuilt — and the
   * previous one released — whenever `params.version` has moved since it was built.
   */
  async bakedSession(key: string, build: () => Graph, threads = this.threads): Promise<Session> {
    const hit = this.baked.get(key);
    if (hit && hit.version === this.params.version) return hit.session;
    if (hit) await (await hit.session).dispose();
    const flat = this.params.flat;
    const session = Session.create(build(), {
      ...(threads === undefined ? {} : { threads }),
      externalData: [
        {
          path: PARAMS_LOCATION,
          data: new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength),
        },
      ],
    });
    this.baked.set(key, { version: this.params.version, session });
    return session;
  }

  feeds(batch: TokenBatch): Record<string, ort.Tensor> {
    const { batch: B, length: T } = batch;
    if (batch.tokens.length !== B * T) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `tokens has ${batch.tokens.length} entries for [${B}, ${T}]`,
      );
    }
    if (T > this.config.context) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `sequence length ${T} exceeds the model context ${this.config.context}`,
        {
          hint: "truncate the batch or train a model with a longer context",
        },
      );
    }
    const mask = batch.mask ?? new Int32Array(B * T).fill(1);
    return {
      ...this.params.tensors(),
      tokens: tensor("int32", batch.tokens, [B, T]),
      mask: tensor("int32", mask, [B, T]),
    };
  }

  async forward(batch: TokenBatch, heads: readonly Head[]): Promise<HeadOutputs> {
    const want = [...new Set(heads)].sort();
    const s = await this.session(`forward:${want.join(",")}`, () =>
      forwardGraph(this.config, this.params, want),
    );
    const out = await s.run(this.feeds(batch));
    const res: HeadOutputs = {};
    for (const h of want) res[h] = out[h]!.data as FloatArray;
    return res;
  }

  /** Per-token log-probs [B, T]: entry t = log p(tokens[t] | tokens[<t]), entry 0 = 0. */
  async logprobs(batch: TokenBatch): Promise<FloatArray> {
    return (await this.forward(batch, ["logprobs"])).logprobs!;
  }

  async values(batch: TokenBatch): Promise<FloatArray> {
    return (await this.forward(batch, ["values"])).values!;
  }

  /** Scalar reward per row [B], read at the row's last non-padding token. */
  async rewards(batch: TokenBatch): Promise<FloatArray> {
    return (await this.forward(batch, ["rewards"])).rewards!;
  }

  /**
   * Binds each `grad:<param>` output of `s` to that parameter's slice of one flat buffer (the
   * buffer `lossAndGrad` and `backward` return), and zeroes the slices of parameters the
   * graph does not differentiate. The buffer is reused by the next call: accumulate or copy
   * it before computing another gradient.
   */
  private gradOutputs(s: Session): Record<string, ort.Tensor | null> {
    this.gradBuffer ??= this.params.zerosLike();
    const outs: Record<string, ort.Tensor | null> = {};
    for (const spec of this.params.specs) {
      const [o, n] = this.params.range(spec.name);
      const view = this.gradBuffer.subarray(o, o + n);
      const name = gradOutputName(spec.name);
      if (s.outputNames.includes(name)) outs[name] = tensor(this.params.dtype, view, spec.shape);
      else view.fill(0);
    }
    return outs;
  }

  /** SFT: loss = −Σ_{t≥1} lossMask·logprobs / max(Σ_{t≥1} lossMask, 1) and its gradient, in one run. */
  async lossAndGrad(batch: TrainBatch): Promise<{ loss: number; grad: FloatArray }> {
    const s = await this.session("train", () => trainGraph(this.config, this.params));
    const feeds = this.feeds(batch);
    feeds.loss_mask = tensor(this.params.dtype, batch.lossMask, [batch.batch, batch.length]);
    const out = await s.runInto(feeds, { loss: null, ...this.gradOutputs(s) });
    return { loss: Number(out.loss!.data[0]), grad: this.gradBuffer! };
  }

  /** Gradient of Σ_heads Σ d_head ⊙ head with respect to every parameter (flat layout). */
  async backward(batch: TokenBatch, d: Partial<Record<GradHead, FloatArray>>): Promise<FloatArray> {
    const want = (Object.keys(d) as GradHead[]).filter((k) => d[k] !== undefined).sort();
    if (want.length === 0)
      throw new KeelError("KEEL_E_USAGE", "backward needs at least one upstream gradient");
    const s = await this.session(`backward:${want.join(",")}`, () =>
      backwardGraph(this.config, this.params, want),
    );
    const feeds = this.feeds(batch);
    for (const k of want) {
      const dims = k === "rewards" ? [batch.batch] : [batch.batch, batch.length];
      const v = d[k]!;
      if (v.length !== dims.reduce((a, x) => a * x, 1)) {
        throw new KeelError(
          "KEEL_E_SHAPE",
          `d_${k} has ${v.length} entries, expected [${dims.join(", ")}]`,
        );
      }
      feeds[`d_${k}`] = tensor(this.params.dtype, v, dims);
    }
    await s.runInto(feeds, this.gradOutputs(s));
    return this.gradBuffer!;
  }

  /** Logits and every layer's k, v for a prompt batch (seeds the KV cache). */
  async prefill(batch: TokenBatch): Promise<Record<string, ort.Tensor>> {
    const s = await this.session("prefill", () => prefillGraph(this.config, this.params));
    return s.run(this.feeds(batch));
  }

  /** A new model with the same config and a copy of the weights (e.g. a frozen reference). */
  clone(opts: { threads?: number } = {}): Gpt {
    const threads = opts.threads ?? this.threads;
    const m = new Gpt(this.config, threads === undefined ? {} : { threads });
    m.params.flat.set(this.params.flat);
    m.params.touch();
    return m;
  }

  /** Releases every ONNX Runtime session. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values(), ...[...this.baked.values()].map((b) => b.session)];
    this.sessions.clear();
    this.baked.clear();
    for (const s of all) await (await s).dispose();
  }
}
