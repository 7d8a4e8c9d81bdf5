/**
 * Micro-batching for the reward service: items from concurrent requests are scored together,
 * one batch at a time, at most `maxBatch` items per batch. As with the ledger's group commit,
 * batching is natural, not timed: the first items after a quiet spell go out on the next turn
 * of the event loop; whatever arrives while a batch runs forms the next one. A request larger
 * than `maxBatch` is split across batches; it is answered when all its items are scored, and
 * fails if any of its batches fails. A submission whose signal aborts (its request timed out,
 * or its client left) is rejected at once and its items that have not started leave the queue
 * unscored; those already in the running batch finish with it and their scores are dropped.
 *
 * The queue is bounded: at most `maxQueued` items wait (not yet scoring) across submissions. A
 * submission that would push the queue past that is refused whole, before any of its items are
 * queued, with a `QueueFullError` saying how long until it would likely fit (the batches that
 * must start first × a moving average of batch duration, α = 0.2, 1–60 s); submissions already
 * queued are unaffected.
 */

/** A submission refused because the queue is at its cap; nothing of it was queued. */
export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly maxQueued: number,
    readonly asked: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`${queued} items queued; ${asked} more would exceed the cap of ${maxQueued}`);
    this.name = "QueueFullError";
  }
}

interface Pending<T, R> {
  readonly items: readonly T[];
  readonly out: R[];
  done: number;
  failed: boolean;
  readonly resolve: (r: R[]) => void;
  readonly reject: (e: unknown) => void;
}

export interface BatchStats {
  readonly batches: number;
  readonly items: number;
  readonly largest: number;
  /** Items taken off the queue unscored because their submission was aborted. */
  readonly dropped: number;
  /** Items waiting for a batch now. */
  readonly queued: number;
  /** The most items that may wait at once. */
  readonly maxQueued: number;
  /** Submissions refused because the queue was at its cap. */
  readonly refused: number;
}

export class Batcher<T, R> {
  private queue: { p: Pending<T, R>; from: number }[] = [];
  private running = false;
  private scheduled = false;
  private batches = 0;
  private itemsScored = 0;
  private largest = 0;
  private dropped = 0;
  private queued = 0;
  private refused = 0;
  private meanBatchMs: number | undefined;

  constructor(
    private readonly fn: (batch: readonly T[]) => Promise<readonly R[]>,
    private readonly maxBatch: number,
    private readonly maxQueued = Number.POSITIVE_INFINITY,
  ) {}

  get stats(): BatchStats {
    return {
      batches: this.batches,
      items: this.itemsScored,
      largest: this.largest,
      dropped: this.dropped,
      queued: this.queued,
      maxQueued: this.maxQueued,
      refused: this.refused,
    };
  }

  /**
   * Scores `items`; when `signal` aborts first, rejects with its reason, and when they do not
   * fit under the queue cap, with a `QueueFullError` (see the header).
   */
  submit(items: readonly T[], signal?: AbortSignal): Promise<R[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (items.length === 0) return Promise.resolve([]);
    if (this.queued + items.length > this.maxQueued) {
      this.refused++;
      return Promise.reject(
        new QueueFullError(
          this.queued,
          this.maxQueued,
          items.length,
          this.retryAfter(items.length),
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => this.cancel(p, signal!.reason);
      const p: Pending<T, R> = {
        items,
        out: new Array(items.length),
        done: 0,
        failed: false,
        resolve: (r) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push({ p, from: 0 });
      this.queued += items.length;
      this.schedule();
    });
  }

  /** Fails `p` now and takes its unstarted items off the queue. */
  private cancel(p: Pending<T, R>, reason: unknown): void {
    if (p.failed || p.done === p.items.length) return;
    p.failed = true;
    const at = this.queue.findIndex((q) => q.p === p);
    if (at >= 0) {
      const left = p.items.length - this.queue[at]!.from;
      this.dropped += left;
      this.queued -= left;
      this.queue.splice(at, 1);
    }
    p.reject(reason);
  }

  /** Seconds until `n` more items would likely fit: the batches that must start first. */
  private retryAfter(n: number): number {
    const batchesAhead = Math.ceil((this.queued + n - this.maxQueued) / this.maxBatch);
    const s = Math.ceil((batchesAhead * (this.meanBatchMs ?? 1000)) / 1000);
    return Math.min(60, Math.max(1, s));
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const parts: { p: Pending<T, R>; from: number; n: number }[] = [];
    const batch: T[] = [];
    while (this.queue.length > 0 && batch.length < this.maxBatch) {
      const head = this.queue[0]!;
      const n = Math.min(head.p.items.length - head.from, this.maxBatch - batch.length);
      for (let i = 0; i < n; i++) batch.push(head.p.items[head.from + i]!);
      parts.push({ p: head.p, from: head.from, n });
      this.queued -= n;
      if (head.from + n >= head.p.items.length) this.queue.shift();
      else head.from += n;
    }
    const started = performance.now();
    try {
      const out = await this.fn(batch);
      if (out.length !== batch.length)
        throw new Error(`scored ${out.length} of ${batch.length} items`);
      const ms = performance.now() - started;
      this.meanBatchMs = this.meanBatchMs === undefined ? ms : 0.8 * this.meanBatchMs + 0.2 * ms;
      this.batches++;
      this.itemsScored += batch.length;
      this.largest = Math.max(this.largest, batch.length);
      let k = 0;
      for (const part of parts) {
        for (let i = 0; i < part.n; i++) part.p.out[part.from + i] = out[k++]!;
        part.p.done += part.n;
        if (part.p.done === part.p.items.length && !part.p.failed) part.p.resolve(part.p.out);
      }
    } catch (e) {
      for (const part of parts) {
        if (part.p.failed) continue;
        part.p.failed = true;
        part.p.reject(e);
        const at = this.queue.findIndex((q) => q.p === part.p);
        if (at >= 0) {
          this.queued -= part.p.items.length - this.queue[at]!.from;
          this.queue.splice(at, 1);
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
