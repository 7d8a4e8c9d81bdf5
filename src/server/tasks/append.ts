/**
 * Where the group committer's transactions run. `StoreAppend` appends through the open store
 * in this thread (PostgreSQL: the I/O is asynchronous anyway). `WorkerAppend` runs the appends
 * of a SQLite file store in a worker thread with its own connection: with synchronous=FULL each
 * COMMIT blocks its thread for an fsync, and better-sqlite3 is synchronous, so on the main
 * thread every commit would stall all HTTP traffic; in the worker, the main thread goes on
 * answering requests (and gathering the next batch) while the disk syncs.
 */
import type { Worker } from "node:worker_threads";
import type { Judgment } from "../../core/types.js";
import { startModuleWorker } from "../../core/worker.js";
import type { FeedbackStore } from "../../store/store.js";

export interface AppendResult {
  /** seq and hash of each appended judgment, in batch order (duplicates left out). */
  readonly rows: readonly { readonly seq: number; readonly hash: string }[];
  /** Batch indices (0-based) of judgments that duplicated a stored (comparison, rater) pair. */
  readonly duplicates: readonly number[];
}

export interface LedgerAppend {
  append(judgments: readonly Judgment[]): Promise<AppendResult>;
  close(): Promise<void>;
}

export class StoreAppend implements LedgerAppend {
  constructor(private readonly store: FeedbackStore) {}

  async append(judgments: readonly Judgment[]): Promise<AppendResult> {
    const r = await this.store.appendJudgments(judgments);
    return {
      rows: r.rows.map((x) => ({ seq: x.seq, hash: x.hash })),
      duplicates: r.duplicates.map((d) => (d.where.line ?? 0) - 1),
    };
  }

  async close(): Promise<void> {}
}

export type WorkerRequest = { id: number; judgments: readonly Judgment[] };
export type WorkerReply =
  | { id: number; ok: true; result: AppendResult }
  | { id: number; ok: false; error: { message: string; code?: string } }
  | { id: -1; ok: true; ready: true };

function startWorker(path: string): Worker {
  return startModuleWorker(import.meta.url, "append-worker", { workerData: { path } });
}

export class WorkerAppend implements LedgerAppend {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (r: AppendResult) => void; reject: (e: Error) => void }
  >();
  private next = 0;
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  private constructor(path: string) {
    this.worker = startWorker(path);
    let ready!: () => void;
    let fail!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      ready = res;
      fail = rej;
    });
    this.worker.on("message", (m: WorkerReply) => {
      if (m.id === -1) return ready();
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve((m as { result: AppendResult }).result);
      else {
        const e = new Error(m.error.message) as Error & { code?: string };
        if (m.error.code) e.code = m.error.code;
        p.reject(e);
      }
    });
    const die = (e: Error) => {
      this.failure ??= e;
      fail(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", die);
    this.worker.on("exit", (code) =>
      die(new Error(`the ledger append worker exited (code ${code})`)),
    );
  }

  /** Starts the worker and waits until its store is open. */
  static async start(path: string): Promise<WorkerAppend> {
    const w = new WorkerAppend(path);
    await w.ready;
    return w;
  }

  append(judgments: readonly Judgment[]): Promise<AppendResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, judgments } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error("the ledger append worker is closed");
    this.worker.postMessage("close");
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5000);
      this.worker.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
