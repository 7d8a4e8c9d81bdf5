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
 *   runBatch(run)             any graph over a batch (the three above and PPO's graphs use it)
 * Gradients come back as one flat array in `params.flat`'s layout, ready for `AdamW.step`.
 * A small model runs each batch as two row shards, side by side on the calling thread and a
 * worker thread when it has two threads or more (`shards.ts`).
 * Generation lives in `generate.ts`.
 */
import type * as ort from "onnxruntime-node";
import { KeelError } from "../../core/errors.js";
import { Rng, type Seed } from "../../core/rng.js";
import type { Graph } from "../graph.js";
import { encodeModel } from "../onnx/proto.js";
import { type FloatArray, ParamStore, type WeightSource } from "../params.js";
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
import { type BatchRun, ShardedRuns } from "./shards.js";

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
   * log p(tokens[t] | tokens[<t]); entry 0 is ignored (nothing predicts the first token), and
   * so is every entry t whose token t or t − 1 is padding (mask 0).
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

/**
 * Token ids must lie in [0, V) and mask entries be 0 or 1: ONNX Runtime's Gather reads a
 * negative id as counting from the end of the table (−1 silently embeds token V − 1) and
 * fails on ids ≥ V with an error naming none of ours; a mask of 2 would shift the positions
 * and add +1e9 to attention scores. One pass over B·T integers, small next to a forward pass.
 */
function checkEntries(batch: TokenBatch, V: number): void {
  const { tokens, mask, length: T } = batch;
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i]!;
    if (id < 0 || id >= V) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `token id ${id} at row ${Math.floor(i / T)}, position ${i % T} is outside the model's vocabulary of ${V}`,
        { hint: "encode with the model's own tokenizer" },
      );
    }
    const m = mask?.[i];
    if (m !== undefined && m !== 0 && m !== 1) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `mask entry ${m} at row ${Math.floor(i / T)}, position ${i % T}: mask entries are 0 or 1`,
      );
    }
  }
}

export type HeadOutputs = Partial<Record<Head, FloatArray>>;

export interface GptOptions {
  /** Seed for initialisation. */
  readonly seed?: Seed;
  /**
   * Every parameter's values (a checkpoint's tensors, another model's weights): the model is
   * built from them instead of drawn at random, which for a model of millions of parameters
   * is most of the time a load takes. Each parameter is copied as the model is built, so no
   * one can see it before it holds its weights. Exclusive with `seed`.
   */
  readonly weights?: WeightSource;
  /** Threads for a run (ONNX Runtime intra-op threads, shared out among data-parallel shards). */
  readonly threads?: number;
  /**
   * Split batches of small models into two row shards that run side by side, the calling
   * thread and a worker thread each with its own ONNX Runtime session (default true; see
   * `dataParallelShards`). Off, a batch runs in one session (results then differ from the
   * split run's in float32 round-off).
   */
  readonly dataParallel?: boolean;
}

export class Gpt {
  readonly config: GptConfig;
  readonly params: ParamStore;
  private readonly sessions = new Map<string, Promise<Session>>();
  readonly threads: number | undefined;
  private gradBuffer: FloatArray | undefined;
  private readonly baked = new Map<
    string,
    { version: number; threads: number | undefined; session: Promise<Session> }
  >();
  private readonly encoded = new Map<string, Uint8Array>();
  private readonly shards: ShardedRuns;

  constructor(config: GptConfigInput | GptConfig, opts: GptOptions = {}) {
    this.config = parseGptConfig(config);
    this.params = new ParamStore(paramSpecs(this.config), this.config.dtype);
    if (opts.weights) {
      if (opts.seed !== undefined)
        throw new KeelError("KEEL_E_USAGE", "a GPT takes a seed or its weights, not both", {
          hint: "drop the seed: it only draws the initial weights",
        });
      this.params.assign(opts.weights);
    } else this.params.initialise(new Rng(opts.seed ?? 0).fork("gpt-init"));
    this.threads = opts.threads;
    this.shards = new ShardedRuns(this, opts.dataParallel ?? true);
  }

  /** The encoded graph of a kind, built once. */
  graphBytes(key: string, build: () => Graph): Uint8Array {
    let b = this.encoded.get(key);
    if (!b) {
      b = encodeModel(build());
      this.encoded.set(key, b);
    }
    return b;
  }

  /** The session for a graph kind, built once (per thread count). */
  session(key: string, build: () => Graph, threads = this.threads): Promise<Session> {
    const k = threads === this.threads ? key : `${key}@${threads}`;
    let s = this.sessions.get(k);
    if (!s) {
      s = Session.fromBytes(this.graphBytes(key, build), threads === undefined ? {} : { threads });
      this.sessions.set(k, s);
    }
    return s;
  }

  /** How many row shards a batch runs in (`ShardedRuns.count`). */
  dataParallelShards(batch: { readonly batch: number; readonly length: number }): number {
    return this.shards.count(batch);
  }

  /** Runs a graph over a batch, in one session or in row shards (`ShardedRuns.run`). */
  async runBatch(r: BatchRun): Promise<Record<string, FloatArray>> {
    this.checkBatch(r.batch);
    return this.shards.run(r);
  }

  /**
   * A session whose graph embeds the current weights (see `decodeGraph`), rebuilt — and the
   * previous one released — whenever `params.version` or the thread count has moved since it
   * was built. A session that failed to build is not kept: the next call tries again.
   */
  async bakedSession(key: string, build: () => Graph, threads = this.threads): Promise<Session> {
    const hit = this.baked.get(key);
    if (hit && hit.version === this.params.version && hit.threads === threads) return hit.session;
    if (hit) {
      this.baked.delete(key);
      await disposeQuietly(hit.session);
    }
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
    const entry = { version: this.params.version, threads, session };
    this.baked.set(key, entry);
    session.catch(() => {
      if (this.baked.get(key) === entry) this.baked.delete(key);
    });
    return session;
  }

  feeds(batch: TokenBatch): Record<string, ort.Tensor> {
    const { batch: B, length: T } = batch;
    this.checkBatch(batch);
    const mask = batch.mask ?? new Int32Array(B * T).fill(1);
    return {
      ...this.params.tensors(),
      tokens: tensor("int32", batch.tokens, [B, T]),
      mask: tensor("int32", mask, [B, T]),
    };
  }

  private checkBatch(batch: TokenBatch): void {
    const { batch: B, length: T } = batch;
    if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(T) && T >= 1)) {
      throw new KeelError(
        "KEEL_E_SHAPE",
        `a batch needs at least one row of one token, not [${B}, ${T}]`,
      );
    }
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
    if (batch.mask && batch.mask.length !== B * T) {
      throw new KeelError("KEEL_E_SHAPE", `mask has ${batch.mask.length} entries for [${B}, ${T}]`);
    }
    checkEntries(batch, this.config.vocab);
  }

  async forward(batch: TokenBatch, heads: readonly Head[]): Promise<HeadOutputs> {
    const want = [...new Set(heads)].sort();
    if (want.length === 0) throw new KeelError("KEEL_E_USAGE", "forward needs at least one head");
    return this.runBatch({
      key: `forward:${want.join(",")}`,
      build: () => forwardGraph(this.config, this.params, want),
      batch,
      rows: want,
    });
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
  gradOutputs(s: Session, into: FloatArray): Record<string, ort.Tensor | null> {
    const outs: Record<string, ort.Tensor | null> = {};
    for (const spec of this.params.specs) {
      const [o, n] = this.params.range(spec.name);
      const view = into.subarray(o, o + n);
      const name = gradOutputName(spec.name);
      if (s.outputNames.includes(name)) outs[name] = tensor(this.params.dtype, view, spec.shape);
      else view.fill(0);
    }
    return outs;
  }

  /**
   * SFT: loss = −Σ_{t≥1} w·logprobs / max(Σ_{t≥1} w, 1) and its gradient, in one run, with
   * w_t = lossMask[t] where tokens t − 1 and t are both real (mask 1), else 0: padding is
   * never a target nor a context, whatever lossMask holds there.
   */
  async lossAndGrad(batch: TrainBatch): Promise<{ loss: number; grad: FloatArray }> {
    const T = batch.length;
    const mask = batch.mask;
    // An ignored entry is multiplied by 0 in the graph, and 0·NaN is NaN: one NaN anywhere made
    // the loss and every gradient NaN.
    const bad = batch.lossMask.findIndex((w) => !Number.isFinite(w));
    if (bad >= 0)
      throw new KeelError(
        "KEEL_E_NUMERIC",
        `loss mask entry ${batch.lossMask[bad]} at row ${Math.floor(bad / T)}, position ${bad % T}: every entry must be finite, ignored ones too`,
      );
    // A shard's graph divides by its own count (layers.nextTokenLoss); weighting by
    // count/total gives the whole batch's loss and gradient.
    const count = (start: number, rows: number) => {
      let n = 0;
      for (let r = start; r < start + rows; r++)
        for (let t = r * T + 1; t < (r + 1) * T; t++)
          if (!mask || (mask[t - 1] === 1 && mask[t] === 1)) n += batch.lossMask[t]!;
      return Math.max(n, 1);
    };
    const total = count(0, batch.batch);
    this.gradBuffer ??= this.params.zerosLike();
    const out = await this.runBatch({
      key: "train",
      build: () => trainGraph(this.config, this.params),
      batch,
      rowInputs: {
        loss_mask: { data: batch.lossMask, dtype: this.params.dtype, dims: [batch.batch, T] },
      },
      scalars: ["loss"],
      gradInto: this.gradBuffer,
      weight: (start, rows) => count(start, rows) / total,
    });
    return { loss: out.loss![0]!, grad: this.gradBuffer };
  }

  /** Gradient of Σ_heads Σ d_head ⊙ head with respect to every parameter (flat layout). */
  async backward(batch: TokenBatch, d: Partial<Record<GradHead, FloatArray>>): Promise<FloatArray> {
    const want = (Object.keys(d) as GradHead[]).filter((k) => d[k] !== undefined).sort();
    if (want.length === 0)
      throw new KeelError("KEEL_E_USAGE", "backward needs at least one upstream gradient");
    const rowInputs: NonNullable<BatchRun["rowInputs"]> = {};
    for (const k of want) {
      const dims = k === "rewards" ? [batch.batch] : [batch.batch, batch.length];
      rowInputs[`d_${k}`] = { data: d[k]!, dtype: this.params.dtype, dims };
    }
    this.gradBuffer ??= this.params.zerosLike();
    await this.runBatch({
      key: `backward:${want.join(",")}`,
      build: () => backwardGraph(this.config, this.params, want),
      batch,
      rowInputs,
      gradInto: this.gradBuffer,
    });
    return this.gradBuffer;
  }

  /** Logits and every layer's k, v for a prompt batch (seeds the KV cache). */
  async prefill(batch: TokenBatch): Promise<Record<string, ort.Tensor>> {
    const s = await this.session("prefill", () => prefillGraph(this.config, this.params));
    return s.run(this.feeds(batch));
  }

  /** A new model with the same config and a copy of the weights (e.g. a frozen reference). */
  clone(opts: { threads?: number } = {}): Gpt {
    const threads = opts.threads ?? this.threads;
    return new Gpt(this.config, {
      ...(threads === undefined ? {} : { threads }),
      dataParallel: this.shards.dataParallel,
      weights: (s) => this.params.view(s.name),
    });
  }

  /** Releases every ONNX Runtime session and stops the data-parallel replicas. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values(), ...[...this.baked.values()].map((b) => b.session)];
    this.sessions.clear();
    this.baked.clear();
    this.encoded.clear();
    for (const s of all) await disposeQuietly(s);
    await this.shards.dispose();
  }
}

/** Releases a session; one that never got built has nothing to release. */
async function disposeQuietly(session: Promise<Session>): Promise<void> {
  let built: Session;
  try {
    built = await session;
  } catch {
    return;
  }
  await built.dispose();
}
