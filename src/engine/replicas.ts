/**
 * Data-parallel replicas of a model's graphs on worker threads. A batch is split into row
 * shards; the calling thread runs the first shard in its own single-threaded session and each
 * worker one more, at the same time, and the shards' gradients are added up (weighted where the
 * loss normalises per shard). On this machine's two cores ONNX Runtime's own intra-op threading
 * speeds a small model's training step up by only ~1.3× over one thread, while two
 * single-threaded sessions on half batches run side by side at full speed (docs/engine.md).
 *
 * Memory traffic per run: the parameters are copied into shared memory (onnxruntime-node
 * rejects SharedArrayBuffer-backed tensors, so a worker copies them again into its own arrays),
 * and each worker's gradient comes back through its shared slot; a few floats per parameter,
 * which is why only small models use replicas (`Gpt`'s threshold).
 */
import type { Worker } from "node:worker_threads";
import { KeelError, type KeelErrorData, reviveKeelError } from "../core/errors.js";
import { startModuleWorker } from "../core/worker.js";
import type { FloatArray, ParamStore } from "./params.js";

export type WireDType = "float32" | "float64" | "int32";

/** A tensor crossing to or from a worker (its data is copied or transferred). */
export interface WireTensor {
  readonly dtype: WireDType;
  readonly data: Float32Array | Float64Array | Int32Array;
  readonly dims: readonly number[];
}

export interface ReplicaWorkerData {
  readonly specs: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly offset: number;
    readonly length: number;
  }[];
  /** The parameters, published by the parent before every run. */
  readonly params: SharedArrayBuffer;
  /** This worker's gradient slot, params layout. */
  readonly grad: SharedArrayBuffer;
  /** Gradient outputs are named `<gradPrefix><param>`. */
  readonly gradPrefix: string;
}

export type ReplicaRequest =
  | {
      readonly type: "graph";
      readonly key: string;
      readonly bytes: Uint8Array;
      /** ONNX Runtime intra-op threads of the replica's session. */
      readonly threads: number;
    }
  | { readonly type: "drop"; readonly key: string }
  | {
      readonly type: "run";
      readonly id: number;
      readonly key: string;
      readonly feeds: Record<string, WireTensor>;
      /** Outputs to send back. */
      readonly fetch: readonly string[];
      /** Compute every gradient output into the shared slot. */
      readonly grad: boolean;
    };

export type ReplicaReply =
  | {
      readonly type: "done";
      readonly id: number;
      readonly outputs: Record<string, WireTensor>;
    }
  | { readonly type: "error"; readonly id: number; readonly error: KeelErrorData };

interface Pending {
  readonly resolve: (o: Record<string, WireTensor>) => void;
  readonly reject: (e: Error) => void;
}

class Replica {
  readonly worker: Worker;
  readonly grad: Float32Array;
  readonly graphs = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private failed: Error | undefined;

  constructor(store: ParamStore, params: SharedArrayBuffer, gradPrefix: string) {
    const grad = new SharedArrayBuffer(store.size * 4);
    this.grad = new Float32Array(grad);
    const data: ReplicaWorkerData = {
      specs: store.specs.map((s) => {
        const [offset, length] = store.range(s.name);
        return { name: s.name, shape: s.shape, offset, length };
      }),
      params,
      grad,
      gradPrefix,
    };
    this.worker = startModuleWorker(import.meta.url, "replica-worker", { workerData: data });
    this.worker.unref(); // an idle replica never keeps the process alive
    this.worker.on("message", (m: ReplicaReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.type === "done") p.resolve(m.outputs);
      else p.reject(reviveKeelError(m.error));
    });
    const fail = (e: Error) => {
      this.failed = new KeelError(
        "KEEL_E_INTERNAL",
        `a data-parallel replica stopped: ${e.message}`,
        {
          cause: e,
        },
      );
      for (const p of this.pending.values()) p.reject(this.failed);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => {
      if (this.pending.size > 0 || code !== 0) fail(new Error(`worker exited with code ${code}`));
    });
  }

  run(
    id: number,
    key: string,
    feeds: Record<string, WireTensor>,
    fetch: readonly string[],
    grad: boolean,
  ) {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<Record<string, WireTensor>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const req: ReplicaRequest = { type: "run", id, key, feeds, fetch, grad };
      this.worker.postMessage(
        req,
        Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer),
      );
    });
  }
}

/** Worker-thread replicas of one model (`ParamStore`), created on first use. */
export class Replicas {
  private readonly params: Float32Array;
  private readonly replicas: Replica[] = [];
  private nextId = 0;

  constructor(
    private readonly store: ParamStore,
    private readonly gradPrefix: string,
  ) {
    if (store.dtype !== "float32")
      throw new KeelError("KEEL_E_UNSUPPORTED", "data-parallel replicas run float32 models only");
    this.params = new Float32Array(new SharedArrayBuffer(store.size * 4));
  }

  /** Replica i (0-based), started if it does not run yet. */
  private replica(i: number): Replica {
    while (this.replicas.length <= i)
      this.replicas.push(
        new Replica(this.store, this.params.buffer as SharedArrayBuffer, this.gradPrefix),
      );
    return this.replicas[i]!;
  }

  /** Copies the current parameters where the replicas read them. */
  publish(): void {
    this.params.set(this.store.flat as Float32Array);
  }

  /**
   * Runs graph `key` (its ONNX bytes: sent once per replica and thread count) on replica i
   * with the given non-parameter feeds; resolves with the fetched outputs. The feeds' buffers
   * are transferred: pass copies.
   */
  run(
    i: number,
    key: string,
    bytes: Uint8Array,
    threads: number,
    feeds: Record<string, WireTensor>,
    fetch: readonly string[],
    grad: boolean,
  ): Promise<Record<string, WireTensor>> {
    const r = this.replica(i);
    // one session per graph and thread count
    const sessionKey = `${key}@${threads}`;
    if (!r.graphs.has(sessionKey)) {
      r.worker.postMessage({
        type: "graph",
        key: sessionKey,
        bytes,
        threads,
      } satisfies ReplicaRequest);
      r.graphs.add(sessionKey);
    }
    return r.run(this.nextId++, sessionKey, feeds, fetch, grad);
  }

  /** Replica i's gradient of its last run with `grad` (params layout). */
  grad(i: number): FloatArray {
    return this.replica(i).grad;
  }

  async dispose(): Promise<void> {
    const all = this.replicas.splice(0);
    await Promise.all(all.map((r) => r.worker.terminate()));
  }
}
