/**
 * Reservation leases: a rater who is served a task holds it for `lease_seconds`; while the
 * lease is live it counts toward the comparison's overlap, so no more raters are handed the
 * comparison than it needs. An expired lease stops counting; its holder may still submit if the
 * slot can be taken again (`acquire` with the same task id), otherwise they fetch another task.
 *
 * The leases live behind `LeaseStore`, so that several server processes can share them (a
 * Redis implementation: a hash per lease with PEXPIRE, a sorted set per comparison scored by
 * expiry, and `acquire` as one Lua script). `MemoryLeaseStore` is the single-process one.
 */
import type { ShownOrder } from "../../core/types.js";

export interface Lease {
  /** Opaque id shown to the rater (see task-id.ts). */
  readonly taskId: string;
  readonly projectId: string;
  readonly comparisonId: string;
  readonly userId: string;
  readonly shownOrder: ShownOrder;
  /** When the rater was first served this task (ms since epoch); latency is measured from it. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface LeaseStore {
  /**
   * Takes (or renews) the lease unless the comparison already has `limit` other live leases.
   * Atomic: two processes racing for the last slot cannot both win.
   */
  acquire(lease: Lease, limit: number, nowMs: number): Promise<Lease | undefined>;
  get(taskId: string): Promise<Lease | undefined>;
  /** Forgets the lease at once (one its holder never saw: see reclaim.ts). */
  release(taskId: string): Promise<void>;
  /**
   * Ends a lease now without finishing it: it stops counting toward the overlap at once, and,
   * like a lease that lapsed by itself, is remembered (with its project and holder) for the
   * grace period. So its holder who submits it is answered by their standing in its project,
   * and a reinstated holder may take it again while its slot is free.
   */
  lapse(taskId: string, nowMs: number): Promise<void>;
  /**
   * Ends a lease whose task is done: it stops counting toward the overlap at once but is
   * remembered for the grace period, so a repeated submission is told it is a duplicate.
   */
  finish(taskId: string, nowMs: number): Promise<void>;
  /** Live leases on a comparison. */
  liveCount(projectId: string, comparisonId: string, nowMs: number): Promise<number>;
  /**
   * The same, answered at once by a store that holds its leases in this process. A serve that
   * checks with it and then calls `acquire` yields to no other request in between, so the check
   * is still true when the lease is taken.
   */
  liveCountNow?(projectId: string, comparisonId: string, nowMs: number): number;
  /** Live leases held by a user in a project. */
  heldBy(projectId: string, userId: string, nowMs: number): Promise<Lease[]>;
  close(): Promise<void>;
}

/**
 * Optional capability of a lease store that several server processes share (the Redis one):
 * it also keeps each comparison's judgment count, so the overlap holds across processes. With
 * it, `acquire`'s `limit` is the comparison's whole overlap and the store refuses when live
 * leases plus recorded judgments reach it, in the same atomic step; and a finished task's
 * lease is never taken again (another process's rater state may not know it is done).
 */
export interface SharedJudgmentCounts {
  /** Records a committed judgment (called before `finish`, so the slot never looks free). */
  countJudgment(projectId: string, comparisonId: string): Promise<void>;
  /**
   * Raises each recorded count to at least the given one (the ledger's, at project load and
   * whenever the store lost them) and marks the project's counts as seeded.
   */
  seedJudgments(projectId: string, counts: ReadonlyMap<string, number>): Promise<void>;
  /** Every process's judgment counts of a project's comparisons. */
  judgmentCounts(projectId: string): Promise<Map<string, number>>;
  /** Live leases and recorded judgments of one comparison. */
  occupancy(
    projectId: string,
    comparisonId: string,
    nowMs: number,
  ): Promise<{ live: number; judged: number }>;
  /**
   * Takes the first of `candidates` (one rater's leases, in serving order) whose comparison has
   * room (live leases + judgments < `overlap`), atomically, in one round trip; also returns
   * each candidate's recorded judgment count, so the caller learns what other processes did.
   * `unseeded`: the store holds no counts for the project (never seeded, or lost since); it
   * took nothing, and wants `seedJudgments` with the ledger's counts before it is asked again.
   */
  acquireFirst(
    candidates: readonly Lease[],
    overlap: number,
    nowMs: number,
  ): Promise<{ lease: Lease | undefined; judged: readonly number[]; unseeded?: true }>;
  /**
   * What `acquireFirst` would answer now, taking nothing: the candidate it would take (not
   * held by anyone for it) and the judgment counts. For a serve that only asks which task the
   * rater is owed (see reclaim.ts); another process may take the slot before it is acquired.
   */
  firstOpen(
    candidates: readonly Lease[],
    overlap: number,
    nowMs: number,
  ): Promise<{ lease: Lease | undefined; judged: readonly number[]; unseeded?: true }>;
}

export function sharesJudgments(s: LeaseStore): s is LeaseStore & SharedJudgmentCounts {
  return typeof (s as Partial<SharedJudgmentCounts>).countJudgment === "function";
}

/**
 * Gives up every live lease a user holds in a project, when they stop taking part (paused,
 * excluded, disabled): refused at submission from then on, the lease would otherwise keep its
 * comparison's slot from other raters until it lapsed (`lease_seconds`, up to a day).
 *
 * Lapsed, not finished: a shared store never re-serves a finished task, and a reinstated rater
 * must be able to get it back. Lapsed, not forgotten: the task id must still name its project
 * and holder, so that a submission of it is answered by the holder's standing there (403,
 * paused or no longer taking part). Forgotten, the id named nothing, and a rater still active in
 * another project was answered 404, as for an id they were never given: a task id does not say
 * which project it is of. The memory is bounded as every lapsed lease's is: one record per lease
 * served, kept the store's grace period (an hour by default) after it ends, then dropped; a
 * submission after that is answered as for a lease forgotten after lapsing (see reclaim.ts).
 */
export async function releaseHeld(
  leases: LeaseStore,
  projectId: string,
  userId: string,
  nowMs: number,
): Promise<void> {
  for (const l of await leases.heldBy(projectId, userId, nowMs))
    await leases.lapse(l.taskId, nowMs);
}

export class MemoryLeaseStore implements LeaseStore {
  private readonly byTask = new Map<string, Lease>();
  private readonly byComparison = new Map<string, Set<string>>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  /** Expired leases are kept `graceMs` (so their holder can still submit), then forgotten. */
  constructor(private readonly graceMs = 3_600_000) {
    this.timer = setInterval(() => this.sweep(Date.now()), 60_000);
    this.timer.unref();
  }

  async acquire(lease: Lease, limit: number, nowMs: number): Promise<Lease | undefined> {
    const ck = `${lease.projectId}\u0000${lease.comparisonId}`;
    const current = this.byTask.get(lease.taskId);
    const held = current !== undefined && current.expiresAt > nowMs;
    if (!held && this.liveCountSync(ck, nowMs) >= limit) return undefined;
    const next: Lease = current ? { ...lease, issuedAt: current.issuedAt } : lease;
    this.byTask.set(lease.taskId, next);
    addTo(this.byComparison, ck, lease.taskId);
    addTo(this.byUser, `${lease.projectId}\u0000${lease.userId}`, lease.taskId);
    return next;
  }

  async get(taskId: string): Promise<Lease | undefined> {
    return this.byTask.get(taskId);
  }

  async release(taskId: string): Promise<void> {
    const l = this.byTask.get(taskId);
    if (!l) return;
    this.byTask.delete(taskId);
    removeFrom(this.byComparison, `${l.projectId}\u0000${l.comparisonId}`, taskId);
    removeFrom(this.byUser, `${l.projectId}\u0000${l.userId}`, taskId);
  }

  /** In memory a finished lease is a lapsed one: nothing re-serves a task its rater is done with. */
  async finish(taskId: string, nowMs: number): Promise<void> {
    await this.lapse(taskId, nowMs);
  }

  async lapse(taskId: string, nowMs: number): Promise<void> {
    const l = this.byTask.get(taskId);
    if (!l) return;
    this.byTask.set(taskId, { ...l, expiresAt: Math.min(l.expiresAt, nowMs) });
    // Out of the indexes at once (they are scanned on every serve); kept by id for the grace period.
    removeFrom(this.byComparison, `${l.projectId}\u0000${l.comparisonId}`, taskId);
    removeFrom(this.byUser, `${l.projectId}\u0000${l.userId}`, taskId);
  }

  async liveCount(projectId: string, comparisonId: string, nowMs: number): Promise<number> {
    return this.liveCountSync(`${projectId}\u0000${comparisonId}`, nowMs);
  }

  liveCountNow(projectId: string, comparisonId: string, nowMs: number): number {
    return this.liveCountSync(`${projectId}\u0000${comparisonId}`, nowMs);
  }

  liveCountSync(key: string, nowMs: number): number {
    const ids = this.byComparison.get(key);
    if (!ids) return 0;
    let n = 0;
    for (const id of ids) if ((this.byTask.get(id)?.expiresAt ?? 0) > nowMs) n++;
    return n;
  }

  async heldBy(projectId: string, userId: string, nowMs: number): Promise<Lease[]> {
    const ids = this.byUser.get(`${projectId}\u0000${userId}`);
    const out: Lease[] = [];
    if (ids) {
      for (const id of ids) {
        const l = this.byTask.get(id);
        if (l && l.expiresAt > nowMs) out.push(l);
      }
    }
    return out;
  }

  sweep(nowMs: number): void {
    for (const [id, l] of this.byTask)
      if (l.expiresAt + this.graceMs < nowMs) void this.release(id);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) {
    s = new Set();
    m.set(k, s);
  }
  s.add(v);
}

function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
