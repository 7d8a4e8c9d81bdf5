/**
 * Group commit: judgments submitted concurrently are appended to the ledger together, in one
 * transaction, and each submitter is answered only after that transaction has committed. With
 * SQLite's synchronous=FULL every commit waits for the disk (an fsync of the WAL); sharing one
 * commit among all the submissions that arrived meanwhile is what lets durable throughput
 * exceed 1 / fsync-time. (The technique is as old as database logs: DeWitt et al. 1984,
 * "Implementation techniques for main memory database systems", SIGMOD, doi:10.1145/602259.602261.)
 *
 * Batching is natural, not timed: the first submission after a quiet spell is flushed on the
 * next turn of the event loop; submissions that arrive while a commit runs form the next batch.
 * So one lone submission pays one commit, and under load a batch holds whatever arrived during
 * the previous commit (at most `maxBatch`). A batch that fails as a whole is retried one
 * judgment at a time, so one bad judgment cannot fail its neighbours. One such judgment is that
 * of a task the rater skipped meanwhile, through another process: the store refuses it in the
 * append's transaction (migration 0003), and its submitter is answered "skipped".
 *
 * A submission may carry its `Stake`: the rater's standing and the comparison's overlap are
 * then checked again inside the committing transaction (admit.ts), and a judgment that fails
 * them is answered "refused" and not appended. The route checked them on arrival, but a pause,
 * a disabled account or a lowered overlap committed while the judgment waited for its batch
 * would otherwise not stop it.
 */
import type { Judgment } from "../../core/types.js";
import { refusedOutcome } from "../../store/collection/index.js";
import type { Refusal, Stake } from "./admit.js";
import type { LedgerAppend } from "./append.js";

export type CommitOutcome =
  | { readonly status: "appended"; readonly seq: number; readonly hash: string }
  | { readonly status: "duplicate" }
  /** The rater has skipped the task: a task is judged or skipped, not both. */
  | { readonly status: "skipped" }
  /** The checks at commit refused it (admit.ts): nothing was appended. */
  | { readonly status: "refused"; readonly reason: Refusal };

interface Pending {
  readonly judgment: Judgment;
  readonly stake: Stake | undefined;
  readonly resolve: (o: CommitOutcome) => void;
  readonly reject: (e: unknown) => void;
}

export interface CommitStats {
  readonly commits: number;
  readonly judgments: number;
  readonly maxBatch: number;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private running = false;
  private scheduled = false;
  private idle: (() => void)[] = [];
  private commits = 0;
  private judgments = 0;
  private largest = 0;

  constructor(
    private readonly ledger: LedgerAppend,
    private readonly opts: {
      readonly maxBatch?: number;
      /** Called after each commit with the judgments it made durable (not the duplicates). */
      readonly onCommitted?: (appended: readonly Judgment[]) => void;
    } = {},
  ) {}

  /**
   * Resolves once the judgment is durable in the ledger (or found to be a duplicate, or refused
   * by the checks of its `stake` at commit).
   */
  submit(judgment: Judgment, stake?: Stake): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ judgment, stake, resolve, reject });
      this.schedule();
    });
  }

  get stats(): CommitStats {
    return { commits: this.commits, judgments: this.judgments, maxBatch: this.largest };
  }

  /** Waits until every submitted judgment has been committed or refused. */
  drain(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
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
    const max = this.opts.maxBatch ?? 1024;
    const batch = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
    this.queue = this.queue.length <= max ? [] : this.queue.slice(max);
    try {
      await this.commit(batch);
    } catch {
      for (const p of batch) {
        try {
          await this.commit([p]);
        } catch (e) {
          if (refusedOutcome(e) === "skipped") p.resolve({ status: "skipped" });
          else p.reject(e);
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const f of this.idle.splice(0)) f();
    }
  }

  /** One transaction; answers every submitter in `batch` once it has committed. */
  private async commit(batch: readonly Pending[]): Promise<void> {
    const stakes = batch.some((p) => p.stake) ? batch.map((p) => p.stake) : undefined;
    const r = await this.ledger.append(
      batch.map((p) => p.judgment),
      stakes,
    );
    const dup = new Set(r.duplicates);
    const refused = new Map(r.refused);
    const appended: Judgment[] = [];
    let k = 0;
    this.commits++;
    this.largest = Math.max(this.largest, batch.length);
    for (const [i, p] of batch.entries()) {
      const reason = refused.get(i);
      if (reason !== undefined) {
        p.resolve({ status: "refused", reason });
        continue;
      }
      if (dup.has(i)) {
        p.resolve({ status: "duplicate" });
        continue;
      }
      const row = r.rows[k++]!;
      appended.push(p.judgment);
      p.resolve({ status: "appended", seq: row.seq, hash: row.hash });
    }
    this.judgments += appended.length;
    if (appended.length > 0) this.opts.onCommitted?.(appended);
  }
}
