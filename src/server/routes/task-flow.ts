/**
 * What the rater's task routes share in this process: the task being judged or skipped (a
 * second claim at the same time is a 409), the skip counts, the caller's live lease of a task
 * id, and the answers to a task lost to another outcome or refused at commit.
 */
import { KeelError } from "../../core/errors.js";
import { setMemberStatus } from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import { percentBelow } from "../scores/live.js";
import type { Refusal } from "../tasks/admit.js";
import { type Lease, releaseHeld, sharesJudgments } from "../tasks/leases.js";
import type { ProjectQueue, RaterState } from "../tasks/queue.js";
import { reclaim } from "../tasks/reclaim.js";
import { notTakingPart, requireReady, standingRefusal } from "./access.js";

function comparisonFull(q: ProjectQueue): KeelError {
  return new KeelError(
    "KEEL_E_CONFLICT",
    `this comparison has all the judgments it needs (the project's overlap is now ${q.project.overlap})`,
    { hint: "ask for the next task" },
  );
}

export function progress(q: ProjectQueue, s: RaterState, skipped: number) {
  return { judged: s.done.size - skipped, skipped, total: q.tasks.length + q.gold.length };
}

/** A lease this close to lapsing is extended before its judgment is committed. */
export const RENEW_WITHIN_MS = 10_000;

export type TaskFlow = ReturnType<typeof taskFlow>;

export function taskFlow(ctx: ServerContext) {
  const inflight = new Set<string>();
  /** Marks a rater's task as being judged or skipped; a second claim at the same time is a 409. */
  const claim = (projectId: string, userId: string, comparisonId: string): string => {
    const key = `${projectId}\u0000${userId}\u0000${comparisonId}`;
    if (inflight.has(key))
      throw new KeelError("KEEL_E_DUPLICATE", "a judgment or skip of this task is being recorded");
    inflight.add(key);
    return key;
  };
  /**
   * A request that lost its task to another outcome (recorded by another request or process):
   * the rater is done with the task. A shared lease is the winner's to finish (after counting
   * its judgment, so the slot never looks free); a lease held in this process only ever ends
   * here, or the rater would be served the task again until it lapsed.
   */
  const lost = async (lease: Lease, message: string): Promise<never> => {
    if (!sharesJudgments(ctx.leases)) await ctx.leases.finish(lease.taskId, ctx.now().getTime());
    throw new KeelError("KEEL_E_DUPLICATE", message);
  };
  /**
   * A judgment or skip the checks at commit refused (see tasks/admit.ts): the rater stopped
   * taking part while it waited for its commit (or in another process, unseen by this one's
   * copy of their state), or the comparison got all its judgments. It is answered as it would
   * have been on arrival; the lease lapses (it holds no slot, and a retry is answered the
   * same: see `releaseHeld`), and a rater's cached state is reloaded.
   */
  const refusedAtCommit = async (q: ProjectQueue, lease: Lease, why: Refusal): Promise<never> => {
    await ctx.leases.lapse(lease.taskId, ctx.now().getTime());
    if (why === "full") throw comparisonFull(q);
    q.forget(lease.userId);
    throw notTakingPart(why === "paused" ? "paused" : "excluded");
  };
  const skips = new Map<string, number>();
  const skipKey = (q: ProjectQueue, userId: string) => `${q.project.project_id}\u0000${userId}`;

  const serve = async (q: ProjectQueue, l: Lease) => {
    const t = await q.textsOf(l.comparisonId);
    const [left, right] =
      l.shownOrder === "ab" ? [t.response_a, t.response_b] : [t.response_b, t.response_a];
    return {
      task_id: l.taskId,
      prompt: t.prompt,
      left,
      right,
      expires_at: new Date(l.expiresAt).toISOString(),
    };
  };

  const skippedCount = async (q: ProjectQueue, userId: string) => {
    const k = skipKey(q, userId);
    let n = skips.get(k);
    if (n === undefined) {
      const r = await ctx.db
        .selectFrom("skips")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("project_id", "=", q.project.project_id)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      n = Number(r?.n ?? 0);
      skips.set(k, n);
    }
    return n;
  };

  /**
   * The caller's live lease for a task id, renewed if it lapsed and the slot is still free, or
   * if it would lapse within RENEW_WITHIN_MS: a lease that ran out while its judgment was being
   * committed would free the slot for another rater, one judgment past the overlap.
   */
  const leaseOf = async (taskId: string, userId: string) => {
    let l = await ctx.leases.get(taskId);
    // No lease at all (a restart, or one forgotten after its grace period): served again, if
    // it is still the rater's next task. Its serve time is gone, so no latency is recorded.
    const reclaimed = l === undefined;
    if (!l) l = await reclaim(ctx, taskId, userId, ctx.now().getTime());
    const notReserved = () =>
      new KeelError("KEEL_E_NOT_FOUND", "no task with this id is reserved for you", {
        where: { field: "taskId" },
      });
    if (!l || l.userId !== userId) throw (await standingRefusal(ctx, userId)) ?? notReserved();
    const q = await ctx.queues.get(l.projectId);
    const s = await q.rater(userId);
    if (!s) throw notReserved();
    requireReady(q, s);
    if (s.done.has(l.comparisonId)) {
      throw new KeelError("KEEL_E_DUPLICATE", "you have already judged or skipped this task");
    }
    // The overlap was lowered while the task was out: it may already have the judgments it now
    // needs, and one more would go past the overlap. Checked before a lapsed lease is renewed, so
    // that a retry is told the same (not that the task "went to others"). The lease lapses, or
    // it would be served again.
    const it = q.items.get(l.comparisonId);
    if (it?.kind === "task" && q.capacity(it) <= 0) {
      await ctx.leases.lapse(l.taskId, ctx.now().getTime());
      throw comparisonFull(q);
    }
    const nowMs = ctx.now().getTime();
    let lease = l;
    if (l.expiresAt <= nowMs + RENEW_WITHIN_MS) {
      const renewed = await q.renew(l, nowMs);
      if (!renewed) {
        throw new KeelError(
          "KEEL_E_CONFLICT",
          "your reservation of this task expired and it went to others",
          {
            hint: "ask for the next task",
          },
        );
      }
      lease = renewed;
    }
    return { q, s, lease, reclaimed };
  };

  return {
    inflight,
    claim,
    lost,
    refusedAtCommit,
    skips,
    skipKey,
    serve,
    skippedCount,
    leaseOf,
  };
}

/** The pause policy: too low a gold accuracy over enough gold items pauses the rater for review. */
export async function autoPause(ctx: ServerContext, q: ProjectQueue, s: RaterState): Promise<void> {
  const p = q.project;
  if (s.member.status !== "active" || s.goldSeen < p.pause_min_gold) return;
  const acc = s.goldCorrect / s.goldSeen;
  if (acc >= p.pause_gold_accuracy) return;
  const m = await setMemberStatus(
    ctx.db,
    {
      project_id: p.project_id,
      user_id: s.member.user_id,
      status: "paused",
      action: "auto_pause",
      actor_id: null,
      // decimals enough to differ: whole percents said "50% is below 50%" for 100/201
      reason: `gold accuracy ${s.goldCorrect}/${s.goldSeen} = ${percentBelow(acc, p.pause_gold_accuracy)}`,
      from: ["active"],
    },
    ctx.now(),
  );
  if (m) {
    s.member = m;
    await releaseHeld(ctx.leases, p.project_id, m.user_id, ctx.now().getTime());
  } else {
    // Not active any more in the store (another server process paused them first): this
    // process's copy of their state is stale, and would keep serving them.
    q.forget(s.member.user_id);
  }
  ctx.scores.invalidate(p.project_id);
}
