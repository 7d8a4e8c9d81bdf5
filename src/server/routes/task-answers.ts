/**
 * A rater's judgment of a task reserved for them (answered once it is durable in the ledger),
 * and their skip of one; the routes are registered in tasks.ts.
 */
import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import type { ServerContext } from "../context.js";
import { recordSkipAdmitted } from "../tasks/skip.js";
import { toStored } from "./sides.js";
import { autoPause, progress, type TaskFlow } from "./task-flow.js";
import type { JudgmentIn, SkipIn } from "./wire.js";

export type JudgmentRequest = FastifyRequest<{
  Params: { taskId: string };
  Body: z.infer<typeof JudgmentIn>;
}>;
export type SkipRequest = FastifyRequest<{
  Params: { taskId: string };
  Body: z.infer<typeof SkipIn>;
}>;

export async function judgeTask(ctx: ServerContext, flow: TaskFlow, req: JudgmentRequest) {
  const { inflight, claim, lost, refusedAtCommit, serve, skippedCount, leaseOf } = flow;
  const user = req.user!;
  const { q, s, lease, reclaimed } = await leaseOf(req.params.taskId, user.user_id);
  const key = claim(lease.projectId, user.user_id, lease.comparisonId);
  const now = ctx.now();
  const t = await q.textsOf(lease.comparisonId).catch((e) => {
    inflight.delete(key);
    throw e;
  });
  const choice = toStored(req.body.choice, lease.shownOrder);
  const flags =
    req.body.flags && req.body.flags.length > 0 ? [...new Set(req.body.flags)].sort() : undefined;
  let outcome: Awaited<ReturnType<typeof ctx.committer.submit>>;
  try {
    const it = q.items.get(lease.comparisonId);
    const stake = {
      project_id: lease.projectId,
      user_id: user.user_id,
      comparison_id: lease.comparisonId,
      capped: it?.kind === "task" && it.gold === null,
    };
    outcome = await ctx.committer.submit(
      {
        comparison_id: lease.comparisonId,
        prompt: t.prompt,
        response_a: t.response_a,
        response_b: t.response_b,
        rater_id: user.user_id,
        choice,
        created_at: now.toISOString(),
        ...(reclaimed ? {} : { latency_ms: Math.max(0, now.getTime() - lease.issuedAt) }),
        shown_order: lease.shownOrder,
        ...(req.body.rationale ? { rationale: req.body.rationale } : {}),
        ...(flags ? { flags } : {}),
      },
      stake,
    );
  } finally {
    inflight.delete(key);
  }
  if (outcome.status === "refused") return refusedAtCommit(q, lease, outcome.reason);
  if (outcome.status !== "appended") {
    s.done.add(lease.comparisonId);
    return lost(
      lease,
      outcome.status === "duplicate"
        ? "you have already judged this task"
        : "you have already skipped this task; a task is judged or skipped, not both",
    );
  }
  // The judgment is committed: from here on a failure (the lease store, Redis, going away)
  // must not answer it as failed — a retry would only be told it was judged already. The
  // shared counts are rebuilt from the ledger (judgedBy), the lease lapses by itself, and
  // a next task that cannot be fetched is left out for the client to ask for.
  const afterCommit = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (e) {
      req.log.warn({ err: e }, `${what} failed after judgment #${outcome.seq} was committed`);
      return undefined;
    }
  };
  await afterCommit("counting the judgment", () => q.judgedBy(s, lease.comparisonId));
  await afterCommit("finishing the lease", () =>
    ctx.leases.finish(lease.taskId, ctx.now().getTime()),
  );
  q.recordJudgment(s, lease.comparisonId, choice);
  await afterCommit("the gold auto-pause", () => autoPause(ctx, q, s));
  const skipped = await skippedCount(q, user.user_id);
  let next: Awaited<ReturnType<typeof serve>> | null | undefined;
  if (req.body.next) {
    next = await afterCommit("serving the next task", async () => {
      const l =
        s.member.status === "active"
          ? await q.next(user.user_id, s, ctx.now().getTime())
          : undefined;
      return l ? await serve(q, l) : null;
    });
  }
  return {
    receipt: { seq: outcome.seq, hash: outcome.hash },
    status: s.member.status,
    progress: progress(q, s, skipped),
    ...(next !== undefined ? { next } : {}),
  };
}

export async function skipTask(ctx: ServerContext, flow: TaskFlow, req: SkipRequest) {
  const { inflight, claim, lost, refusedAtCommit, skips, skipKey, skippedCount, leaseOf } = flow;
  const user = req.user!;
  const { q, s, lease } = await leaseOf(req.params.taskId, user.user_id);
  const key = claim(lease.projectId, user.user_id, lease.comparisonId);
  try {
    const recorded = await recordSkipAdmitted(
      ctx.db,
      {
        project_id: lease.projectId,
        user_id: user.user_id,
        comparison_id: lease.comparisonId,
        reason: req.body.reason,
        note: req.body.note ?? null,
      },
      ctx.now(),
      ctx.store.dialectName === "postgres",
    );
    if (recorded !== "recorded" && recorded !== "repeated" && recorded !== "judged")
      return await refusedAtCommit(q, lease, recorded);
    s.done.add(lease.comparisonId);
    if (recorded === "judged") {
      return await lost(
        lease,
        "you have already judged this task; a task is judged or skipped, not both",
      );
    }
    const fresh = recorded === "recorded";
    const skipped = await skippedCount(q, user.user_id);
    if (fresh) skips.set(skipKey(q, user.user_id), skipped + 1);
    await ctx.leases.finish(lease.taskId, ctx.now().getTime());
    return { progress: progress(q, s, skipped + (fresh ? 1 : 0)) };
  } finally {
    inflight.delete(key);
  }
}
