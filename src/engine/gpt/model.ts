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
 * worker thread when it has two threads or more (`dataParallelShards`, `replicas.ts`).
 * Generation lives in `generate.ts`.
 */
import type * as ort from "onnxruntime-node";
import { KeelError } from "../../core/errors.js";
import { Rng, type Seed } from "../../core/rng.js";
import type { DType, Graph } from "../graph.js";
import { encodeModel } from "../onnx/proto.js";
import { type FloatArray, ParamStore, type WeightSource } from "../params.js";
import { Replicas, type WireTensor } from "../replicas.js";
import { defaultThreads, Session, tensor } from "../runtime.js";
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

/** A graph run over a batch, possibly split by rows across data-parallel replicas. */
export interface BatchRun {
  /** Session cache key of the graph. */
  readonly key: string;
  readonly build: () => Graph;
  readonly batch: TokenBatch;
  /** More inputs with a leading batch axis, each [B, …] row-major. */
  readonly rowInputs?: Record<
    string,
    {
      readonly data: FloatArray | Int32Array;
      readonly dtype: DType;
      readonly dims: readonly number[];
    }
  >;
  /** Outputs with a leading batch axis ([B, …]), returned with every row. */
  readonly rows?: readonly string[];
  /** Scalar outputs, returned as Σ_shards weight·value. */
  readonly scalars?: readonly string[];
  /** Write the gradient (Σ_shards weight·gradient; params layout) into this buffer. */
  readonly gradInto?: FloatArray;
  /** A shard's weight from its rows (default 1: gradients and scalars are sums). */
  readonly weight?: (start: number, rows: number) => number;
}

/**
 * Replicas pay for models up to this size: (a) of the engine benchmark (0.44M parameters)
 * trains ~20% faster with two single-threaded replicas than with one two-thread session,
 * (b) (3.2M) ~3% (docs/engine.md); bigger models gain nothing and pay 4 floats of copies and
 * buffers per parameter.
 */
const DATA_PARALLEL_MAX_PARAMS = 2_000_000;
/** Fewest tokens per shard: below this a run is too short to split. */
const DATA_PARALLEL_MIN_TOKENS = 256;
/** Shards per batch: two, whatever the machine (see `Gpt.dataParallelShards`). */
const DATA_PARALLEL_SHARDS = 2;

/** Contiguous row ranges [start, rows] of `k` near-equal shards of `n` rows. */
export function shardRows(n: number, k: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0, start = 0; i < k; i++) {
    const rows = Math.floor(n / k) + (i < n % k ? 1 : 0);
    out.push([start, rows]);
    start += rows;
  }
  return out;
}

export class Gpt {
  readonly config: GptConfig;
  readonly params: ParamStore;
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly threads: number | undefined;
  private gradBuffer: FloatArray | undefined;
  private readonly baked = new Map<string, { version: number; session: Promise<Session> }>();
  private readonly dataParallel: boolean;
  private readonly graphBytes = new Map<string, Uint8Array>();
  private replicas: Replicas | undefined;
  /** Gradients of shards after the first when they run on the calling thread. */
  private readonly shardGrads: FloatArray[] = [];

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
    this.dataParallel = opts.dataParallel ?? true;
  }

  /** The encoded graph of a kind, built once. */
  private bytes(key: string, build: () => Graph): Uint8Array {
    let b = this.graphBytes.get(key);
    if (!b) {
      b = encodeModel(build());
      this.graphBytes.set(key, b);
    }
    return b;
  }

  /** The session for a graph kind, built once (per thread count). */
  session(key: string, build: () => Graph, threads = this.threads): Promise<Session> {
    const k = threads === this.threads ? key : `${key}@${threads}`;
    let s = this.sessions.get(k);
    if (!s) {
      s = Session.fromBytes(this.bytes(key, build), threads === undefined ? {} : { threads });
      this.sessions.set(k, s);
    }
    return s;
  }

  /**
   * How many row shards a batch runs in: 2 when data parallelism is on, the model is float32
   * and small (≤ 2M parameters) and each shard keeps ≥ 256 tokens; else 1. It depends on the
   * model and the batch only, never on the machine's cores, so results do too (a run sums the
   * same shards' gradients in the same order whether they ran side by side or one by one).
   */
  dataParallelShards(batch: { readonly batch: number; readonly length: number }): number {
    if (!this.dataParallel || this.params.dtype !== "float32") return 1;
    if (this.params.size > DATA_PARALLEL_MAX_PARAMS) return 1;
    const fit = Math.floor((batch.batch * batch.length) / DATA_PARALLEL_MIN_TOKENS);
    return Math.max(1, Math.min(DATA_PARALLEL_SHARDS, batch.batch, fit));
  }

  /**
   * Runs a graph over a batch: in one session, or in row shards (`dataParallelShards`). With
   * two or more threads the shards run at the same time, the first on the calling thread and
   * the others on worker-thread replicas, the threads shared out among them; with one thread
   * they run one after the other. Row outputs come back whole, scalars and gradients summed
   * with the shards' weights.
   */
  async runBatch(r: BatchRun): Promise<Record<string, FloatArray>> {
    this.checkBatch(r.batch);
    const B = r.batch.batch;
    const T = r.batch.length;
    const K = this.dataParallelShards(r.batch);
    const threads = this.threads ?? defaultThreads();
    const concurrent = K > 1 && threads > 1;
    const shardThreads = K > 1 ? Math.max(1, Math.floor(threads / K)) : this.threads;
    // every shard feeds a mask (the graphs take one)
    const batch = { ...r.batch, mask: r.batch.mask ?? new Int32Array(B * T).fill(1) };
    const fetch = [...(r.rows ?? []), ...(r.scalars ?? [])];
    const grad = r.gradInto !== undefined;
    const shards = shardRows(B, K);
    const shardBatch = ([start, rows]: [number, number]): TokenBatch => ({
      tokens: batch.tokens.subarray(start * T, (start + rows) * T),
      mask: batch.mask.subarray(start * T, (start + rows) * T),
      batch: rows,
      length: T,
    });
    const shardInputs = ([start, rows]: [number, number]) => {
      const out: Record<string, WireTensor> = {};
      for (const [name, x] of Object.entries(r.rowInputs ?? {})) {
        const per = x.dims.slice(1).reduce((a, d) => a * d, 1);
        if (x.data.length !== B * per)
          throw new KeelError(
            "KEEL_E_SHAPE",
            `${name} has ${x.data.length} entries, expected [${[B, ...x.dims.slice(1)].join(", ")}]`,
          );
        out[name] = {
          dtype: x.dtype as WireTensor["dtype"],
          data: x.data.subarray(start * per, (start + rows) * per),
          dims: [rows, ...x.dims.slice(1)],
        };
      }
      return out;
    };
    const runHere = async (shard: [number, number], into: FloatArray | undefined) => {
      const s = await this.session(r.key, r.build, shardThreads);
      const feeds = this.feeds(shardBatch(shard));
      for (const [name, t] of Object.entries(shardInputs(shard)))
        feeds[name] = tensor(t.dtype, t.data, t.dims);
      const outs: Record<string, ort.Tensor | null> = {};
      for (const k of fetch) outs[k] = null;
      if (into) Object.assign(outs, this.gradOutputs(s, into));
      const o = await s.runInto(feeds, outs);
      return Object.fromEntries(fetch.map((k) => [k, o[k]!.data as FloatArray]));
    };
    const outputs: Record<string, FloatArray>[] = [];
    /** Gradients of shards 1…K−1 (shard 0's is written into r.gradInto). */
    const grads: FloatArray[] = [];
    if (concurrent) {
      const bytes = this.bytes(r.key, r.build);
      this.replicas ??= new Replicas(this.params, gradOutputName(""));
      const reps = this.replicas;
      reps.publish();
      const pending = shards.slice(1).map((sh, i) => {
        const feeds = shardInputs(sh);
        const sb = shardBatch(sh);
        feeds.tokens = { dtype: "int32", data: sb.tokens, dims: [sh[1], T] };
        feeds.mask = { dtype: "int32", data: sb.mask!, dims: [sh[1], T] };
        // copies: a transferred buffer must hold only this shard
        const sent: Record<string, WireTensor> = {};
        for (const [k, t] of Object.entries(feeds)) sent[k] = { ...t, data: t.data.slice() };
        return reps.run(i, r.key, bytes, shardThreads ?? 1, sent, fetch, grad);
      });
      try {
        outputs.push(await runHere(shards[0]!, r.gradInto));
      } finally {
        // a failed run must not leave replica runs unobserved
        await Promise.allSettled(pending);
      }
      for (const [i, o] of (await Promise.all(pending)).entries()) {
        outputs.push(Object.fromEntries(fetch.map((k) => [k, o[k]!.data as FloatArray])));
        if (grad) grads.push(reps.grad(i));
      }
    } else {
      for (const [i, sh] of shards.entries()) {
        let into = r.gradInto;
        if (grad && i > 0) {
          this.shardGrads[i - 1] ??= this.params.zerosLike();
          into = this.shardGrads[i - 1]!;
          grads.push(into);
        }
        outputs.push(await runHere(sh, into));
      }
    }
    if (K === 1) return outputs[0]!;
    const weights = shards.map(([start, rows]) => (r.weight ? r.weight(start, rows) : 1));
    const res: Record<string, FloatArray> = {};
    for (const k of r.rows ?? []) {
      const first = outputs[0]![k]!;
      const per = first.length / shards[0]![1];
      const all = new (first.constructor as Float32ArrayConstructor)(B * per);
      outputs.forEach((o, i) => {
        all.set(o[k]!, shards[i]![0] * per);
      });
      res[k] = all;
    }
    for (const k of r.scalars ?? []) {
      let v = 0;
      outputs.forEach((o, i) => {
        v += weights[i]! * Number(o[k]![0]);
      });
      res[k] = Float64Array.of(v);
    }
    if (r.gradInto) combineGradients(r.gradInto, weights, grads);
    return res;
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
  }

  async forward(batch: TokenBatch, heads: readonly Head[]): Promise<HeadOutputs> {
    const want = [...new Set(heads)].sort();
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
  private gradOutputs(s: Session, into: FloatArray): Record<string, ort.Tensor | null> {
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

  /** SFT: loss = −Σ_{t≥1} lossMask·logprobs / max(Σ_{t≥1} lossMask, 1) and its gradient, in one run. */
  async lossAndGrad(batch: TrainBatch): Promise<{ loss: number; grad: FloatArray }> {
    const T = batch.length;
    // A shard's graph divides by its own count; weighting by count/total gives the whole
    // batch's loss and gradient.
    const count = (start: number, rows: number) => {
      let n = 0;
      for (let r = start; r < start + rows; r++)
        for (let t = 1; t < T; t++) n += batch.lossMask[r * T + t]!;
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
      dataParallel: this.dataParallel,
      weights: (s) => this.params.view(s.name),
    });
  }

  /** Releases every ONNX Runtime session and stops the data-parallel replicas. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values(), ...[...this.baked.values()].map((b) => b.session)];
    this.sessions.clear();
    this.baked.clear();
    this.graphBytes.clear();
    for (const s of all) await (await s).dispose();
    await this.replicas?.dispose();
    this.replicas = undefined;
  }
}

/** into ← w₀·into + Σ_i w_{i+1}·grads[i]: the shards' gradients summed, in shard order. */
function combineGradients(
  into: FloatArray,
  w: readonly number[],
  grads: readonly FloatArray[],
): void {
  const w0 = w[0]!;
  if (w0 !== 1) for (let j = 0; j < into.length; j++) into[j] = into[j]! * w0;
  for (const [i, g] of grads.entries()) {
    const wi = w[i + 1]!;
    if (wi === 1) for (let j = 0; j < into.length; j++) into[j] = into[j]! + g[j]!;
    else for (let j = 0; j < into.length; j++) into[j] = into[j]! + wi * g[j]!;
  }
}
