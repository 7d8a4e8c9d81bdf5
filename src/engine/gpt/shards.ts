/**
 * Data parallelism for a GPT: a graph run over a batch (`BatchRun`) goes in one session or in
 * row shards, the first on the calling thread and the others on worker-thread replicas
 * (`replicas.ts`) when there are threads to share, their row outputs joined and their scalars
 * and gradients summed with the shards' weights. `Gpt.runBatch` is the way in; the model lends
 * its sessions and feeds through `ShardHost`.
 */
import type * as ort from "onnxruntime-node";
import { KeelError } from "../../core/errors.js";
import type { DType, Graph } from "../graph.js";
import type { FloatArray, ParamStore } from "../params.js";
import { Replicas, type WireTensor } from "../replicas.js";
import { defaultThreads, type Session, tensor } from "../runtime.js";
import { gradOutputName } from "./graphs.js";
import type { TokenBatch } from "./model.js";

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

/** What a sharded run needs of its model. */
export interface ShardHost {
  readonly params: ParamStore;
  /** The model's thread count (undefined: ONNX Runtime's default). */
  readonly threads: number | undefined;
  session(key: string, build: () => Graph, threads?: number): Promise<Session>;
  /** The encoded graph of a kind, built once (what replicas load). */
  graphBytes(key: string, build: () => Graph): Uint8Array;
  feeds(batch: TokenBatch): Record<string, ort.Tensor>;
  /** Binds each gradient output of `s` to its parameter's slice of `into`. */
  gradOutputs(s: Session, into: FloatArray): Record<string, ort.Tensor | null>;
}

/** A model's sharded runs, with the replicas and gradient buffers they keep between runs. */
export class ShardedRuns {
  private replicas: Replicas | undefined;
  /** Gradients of shards after the first when they run on the calling thread. */
  private readonly shardGrads: FloatArray[] = [];

  constructor(
    private readonly host: ShardHost,
    readonly dataParallel: boolean,
  ) {}

  /**
   * How many row shards a batch runs in: 2 when data parallelism is on, the model is float32
   * and small (≤ 2M parameters) and each shard keeps ≥ 256 tokens; else 1. It depends on the
   * model and the batch only, never on the machine's cores, so results do too (a run sums the
   * same shards' gradients in the same order whether they ran side by side or one by one).
   */
  count(batch: { readonly batch: number; readonly length: number }): number {
    const params = this.host.params;
    if (!this.dataParallel || params.dtype !== "float32") return 1;
    if (params.size > DATA_PARALLEL_MAX_PARAMS) return 1;
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
  async run(r: BatchRun): Promise<Record<string, FloatArray>> {
    const h = this.host;
    const B = r.batch.batch;
    const T = r.batch.length;
    const K = this.count(r.batch);
    const threads = h.threads ?? defaultThreads();
    const concurrent = K > 1 && threads > 1;
    const shardThreads = K > 1 ? Math.max(1, Math.floor(threads / K)) : h.threads;
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
          data: inDtype(x.data.subarray(start * per, (start + rows) * per), x.dtype),
          dims: [rows, ...x.dims.slice(1)],
        };
      }
      return out;
    };
    const runHere = async (shard: [number, number], into: FloatArray | undefined) => {
      const s = await h.session(r.key, r.build, shardThreads);
      const feeds = h.feeds(shardBatch(shard));
      for (const [name, t] of Object.entries(shardInputs(shard)))
        feeds[name] = tensor(t.dtype, t.data, t.dims);
      const outs: Record<string, ort.Tensor | null> = {};
      for (const k of fetch) outs[k] = null;
      if (into) Object.assign(outs, h.gradOutputs(s, into));
      const o = await s.runInto(feeds, outs);
      return Object.fromEntries(fetch.map((k) => [k, o[k]!.data as FloatArray]));
    };
    const outputs: Record<string, FloatArray>[] = [];
    /** Gradients of shards 1…K−1 (shard 0's is written into r.gradInto). */
    const grads: FloatArray[] = [];
    if (concurrent) {
      const bytes = h.graphBytes(r.key, r.build);
      this.replicas ??= new Replicas(h.params, gradOutputName(""));
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
          this.shardGrads[i - 1] ??= h.params.zerosLike();
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

  /** Stops the replicas. */
  async dispose(): Promise<void> {
    await this.replicas?.dispose();
    this.replicas = undefined;
  }
}

/**
 * `data` as the array type of `dtype`, copied only when it differs: a Float64Array loss mask
 * or upstream gradient for a float32 model (or the reverse) is converted, where ONNX Runtime
 * would throw a TypeError naming none of keel's inputs.
 */
function inDtype(data: FloatArray | Int32Array, dtype: DType): FloatArray | Int32Array {
  if (dtype === "float32" && !(data instanceof Float32Array)) return Float32Array.from(data);
  if (dtype === "float64" && !(data instanceof Float64Array)) return Float64Array.from(data);
  return data;
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
