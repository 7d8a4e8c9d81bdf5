/**
 * Where the group committer's transactions run. `StoreAppend` appends through the open store
 * in this thread (PostgreSQL: the I/O is asynchronous anyway). `WorkerAppend` runs the appends
 * of a SQLite file store in a worker thread with its own connection: with synchronous=FULL each
 * COMMIT blocks its thread for an fsync, and better-sqlite3 is synchronous, so on the main
 * thread every commit would stall all HTTP traffic; in the worker, the main thread goes on
 * answering requests (and gathering the next batch) while the disk syncs.
 */
import type { Worker } from "node:worker_threads";
import { type KeelErrorData, reviveKeelError } from "../../core/errors.js";
import type { Judgment } from "../../core/types.js";
import { startModuleWorker } from "../../core/worker.js";
import type { FeedbackStore } from "../../store/store.js";
import { admitJudgments, type Refusal, type Stake } from "./admit.js";

export interface AppendResult {
  /** seq and hash of each appended judgment, in batch order (duplicates and refusals left out). */
  readonly rows: readonly { readonly seq: number; readonly hash: string }[];
  /** Batch indices (0-based) of judgments that duplicated a stored (comparison, rater) pair. */
  readonly duplicates: readonly number[];
  /** Judgments the checks at commit refused (see admit.ts), by batch index; none appended. */
  readonly refused: readonly (readonly [number, Refusal])[];
}

export interface LedgerAppend {
  /** `stakes[i]`, when given, is checked in the transaction before judgment i is appended. */
  append(
    judgments: readonly Judgment[],
    stakes?: readonly (Stake | undefined)[],
  ): Promise<AppendResult>;
  close(): Promise<void>;
}

export class StoreAppend implements LedgerAppend {
  constructor(private readonly store: FeedbackStore) {}

  async append(
    judgments: readonly Judgment[],
    stakes?: readonly (Stake | undefined)[],
  ): Promise<AppendResult> {
    let refused = new Map<number, Refusal>();
    const lock = this.store.dialectName === "postgres";
    const r = await this.store.appendJudgments(
      judgments,
      stakes?.some((s) => s !== undefined)
        ? {
            admit: async (tx) => {
              refused = await admitJudgments(tx, stakes, lock);
              return new Set(refused.keys());
            },
          }
        : {},
    );
    return {
      rows: r.rows.map((x) => ({ seq: x.seq, hash: x.hash })),
      duplicates: r.duplicates.map((d) => (d.where.line ?? 0) - 1),
      refused: [...refused],
    };
  }

  async close(): Promise<void> {}
}

export type WorkerRequest = {
  id: number;
  judgments: readonly Judgment[];
  stakes?: readonly (Stake | undefined)[];
};
export type WorkerReply =
  | { id: number; ok: true; result: AppendResult }
  | {
      id: number;
      ok: false;
      error: { message: string; code?: string; keel?: KeelErrorData };
    }
  | { id: -1; ok: true; ready: true };

function startWorker(path: string): Worker {
  return startModuleWorker(import.meta.url, "append-worker", { workerData: { path } });
}

/** How soon after a start a dead worker may be started again (a store that fails to open). */
const RESTART_INTERVAL_MS = 2000;

export interface WorkerAppendOptions {
  /** Called with the reason when a dead worker is replaced (the server logs it). */
  readonly onRestart?: (reason: Error) => void;
  /** Least time between two starts (default RESTART_INTERVAL_MS). */
  readonly restartIntervalMs?: number;
}

/**
 * A worker that dies (an uncaught error, a native crash, the thread terminated) takes the
 * batch in flight with it: its submitters are answered with the error, and SQLite's
 * transaction either committed that batch or left no trace of it. The next append starts a new
 * worker on the same file instead of failing every later judgment until the server is
 * restarted; starts are spaced by RESTART_INTERVAL_MS, so a store that cannot be opened is not
 * reopened on every request (those appends fail with the error that stopped it).
 */
export class WorkerAppend implements LedgerAppend {
  private worker!: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (r: AppendResult) => void; reject: (e: Error) => void }
  >();
  private next = 0;
  /** Why the current worker stopped, while it is not replaced. */
  private failure: Error | undefined;
  private closed = false;
  private startedAt = 0;
  private starting: Promise<void> | undefined;
  /** Whether the current worker's thread has ended. */
  private exited = false;
  /** Workers started after the first. */
  restarts = 0;

  private constructor(
    private readonly path: string,
    private readonly opts: WorkerAppendOptions,
  ) {}

  /** Starts the worker and waits until its store is open. */
  static async start(path: string, opts: WorkerAppendOptions = {}): Promise<WorkerAppend> {
    const w = new WorkerAppend(path, opts);
    await w.spawn();
    return w;
  }

  /** Starts a worker; resolves when its store is open, rejects if it dies first. */
  private spawn(): Promise<void> {
    this.startedAt = Date.now();
    this.failure = undefined;
    this.exited = false;
    const worker = startWorker(this.path);
    this.worker = worker;
    return new Promise<void>((ready, fail) => {
      worker.on("message", (m: WorkerReply) => {
        if (m.id === -1) return ready();
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve((m as { result: AppendResult }).result);
        else if (m.error.keel) p.reject(reviveKeelError(m.error.keel));
        else {
          const e = new Error(m.error.message) as Error & { code?: string };
          if (m.error.code) e.code = m.error.code;
          p.reject(e);
        }
      });
      const die = (e: Error) => {
        if (this.worker !== worker) return;
        this.failure ??= e;
        fail(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      worker.on("error", die);
      worker.on("exit", (code) => {
        if (this.worker === worker) this.exited = true;
        die(new Error(`the ledger append worker exited (code ${code})`));
      });
    });
  }

  /** A new worker in place of a dead one, unless one was started too recently. */
  private revive(reason: Error): Promise<void> {
    if (this.starting) return this.starting;
    const interval = this.opts.restartIntervalMs ?? RESTART_INTERVAL_MS;
    if (Date.now() - this.startedAt < interval) return Promise.reject(reason);
    this.restarts++;
    this.opts.onRestart?.(reason);
    this.starting = this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async append(
    judgments: readonly Judgment[],
    stakes?: readonly (Stake | undefined)[],
  ): Promise<AppendResult> {
    if (this.closed) throw new Error("the ledger append worker is closed");
    if (this.starting) await this.starting;
    else if (this.failure) await this.revive(this.failure);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({
        id,
        judgments,
        ...(stakes ? { stakes } : {}),
      } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    this.failure ??= new Error("the ledger append worker is closed");
    const worker = this.worker;
    if (this.exited) return;
    worker.postMessage("close");
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void worker.terminate().then(() => resolve()), 5000);
      worker.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** For tests: ends the worker thread as a crash would. */
  kill(): Promise<number> {
    return this.worker.terminate();
  }
}
