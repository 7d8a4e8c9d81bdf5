/**
 * One project's judgment counts kept in a lease store that several server processes share
 * (`SharedJudgmentCounts`), as a queue of this process uses them: serving over that store a
 * window of candidates at a time, recording this process's judgments there, rebuilding the
 * counts from the ledger when the store lost them or a count of ours could not be written, and
 * taking in what the other processes counted (`saw`, never lowering a count).
 */
import { type CollectionDb, judgedCounts } from "../../store/collection/index.js";
import type { Lease, LeaseStore, SharedJudgmentCounts } from "./leases.js";

/** Candidates sent to a shared lease store per round trip. */
const SHARED_WINDOW = 64;

export class SharedCounts {
  /** A committed judgment's shared count failed: rebuild the counts before the next serve. */
  private owed = false;
  private reseeding: Promise<void> | undefined;

  constructor(
    private readonly store: LeaseStore & SharedJudgmentCounts,
    private readonly db: CollectionDb,
    private readonly projectId: string,
    /** Takes in a count seen in the store (every process's judgments). */
    private readonly saw: (comparisonId: string, n: number) => void,
  ) {}

  /** Seeds the store's counts with the ledger's (at project load). */
  seed(counts: ReadonlyMap<string, number>): Promise<void> {
    return this.store.seedJudgments(this.projectId, counts);
  }

  /**
   * The first of `candidates` (one rater's leases, in serving order) with room, taken when
   * `take`; without it, the one that would be taken now, with nothing taken. The candidates go
   * to the store a window at a time; it decides in one atomic step and reports every
   * candidate's judgment count, so this process's counts (and the raters' cursors) catch up
   * with the other processes'.
   */
  async first(
    candidates: Iterable<Lease>,
    limit: number,
    nowMs: number,
    take: boolean,
  ): Promise<Lease | undefined> {
    const ask = (w: readonly Lease[]) =>
      take ? this.store.acquireFirst(w, limit, nowMs) : this.store.firstOpen(w, limit, nowMs);
    const it = candidates[Symbol.iterator]();
    for (let done = false; !done; ) {
      const window: Lease[] = [];
      while (window.length < SHARED_WINDOW) {
        const n = it.next();
        if (n.done) {
          done = true;
          break;
        }
        window.push(n.value);
      }
      if (window.length === 0) break;
      if (this.owed) await this.reseed();
      let r = await ask(window);
      if (r.unseeded) {
        await this.reseed();
        r = await ask(window);
      }
      window.forEach((l, k) => {
        this.saw(l.comparisonId, r.judged[k] ?? 0);
      });
      if (r.lease) return r.lease;
    }
    return undefined;
  }

  /** Records a committed judgment in the store (before its lease is finished). */
  async count(comparisonId: string): Promise<void> {
    try {
      await this.store.countJudgment(this.projectId, comparisonId);
    } catch (e) {
      // The judgment is in the ledger; the next serve rebuilds the shared counts from it.
      this.owed = true;
      throw e;
    }
  }

  /** Takes in every process's counts (for the progress view). */
  async refresh(): Promise<void> {
    for (const [id, n] of await this.store.judgmentCounts(this.projectId)) this.saw(id, n);
  }

  /**
   * Rebuilds the store's counts from the ledger (never lowering them): when the store lost
   * them (a Redis restarted without its data), or a count of this process's could not be
   * written after its judgment was committed. Concurrent serves share one rebuild.
   */
  private reseed(): Promise<void> {
    this.reseeding ??= (async () => {
      // Cleared first: a count failing while the ledger is read owes another rebuild.
      this.owed = false;
      try {
        const counts = await judgedCounts(this.db, this.projectId);
        for (const [id, n] of counts) this.saw(id, n);
        await this.store.seedJudgments(this.projectId, counts);
      } catch (e) {
        this.owed = true;
        throw e;
      } finally {
        this.reseeding = undefined;
      }
    })();
    return this.reseeding;
  }
}
