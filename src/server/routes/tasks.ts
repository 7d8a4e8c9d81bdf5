/**
 * The rater's task flow: acknowledge the guidelines, take the onboarding quiz (gold items kept
 * apart from the mixed-in ones), then ask for a task, judge it (or skip it with a reason), and
 * see their progress and their own judgments. Tasks are named by opaque ids and show their
 * responses as left/right in a per-rater random order; the server maps the rater's side back
 * to the stored a/b and records the order shown (`shown_order`) in the ledger.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { ackGuidelines, recordSkip, setMemberStatus } from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import { js, LIMIT, NoBody, Ok, ProjectParams, responses } from "../http/schema.js";
import type { Refusal } from "../tasks/admit.js";
import { type Lease, releaseHeld, sharesJudgments } from "../tasks/leases.js";
import type { ProjectQueue, RaterState } from "../tasks/queue.js";
import { reclaim } from "../tasks/reclaim.js";
import { memberState, notTakingPart, requireReady } from "./access.js";
import { quizRoutes } from "./quiz.js";
import { toSide, toStored } from "./sides.js";
import { Flag, JudgmentIn, ProgressOut, Side, SkipIn, TaskOut, TaskParams } from "./wire.js";

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

export function taskRoutes(ctx: ServerContext) {
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
   * A judgment the checks at commit refused (see tasks/admit.ts): the rater stopped taking part
   * while it waited for its commit, or the comparison got all its judgments. It is answered as
   * it would have been on arrival; the lease goes, and a rater's cached state is reloaded.
   */
  const refusedAtCommit = async (q: ProjectQueue, lease: Lease, why: Refusal): Promise<never> => {
    await ctx.leases.release(lease.taskId);
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
    if (!l || l.userId !== userId) {
      throw new KeelError("KEEL_E_NOT_FOUND", "no task with this id is reserved for you", {
        where: { field: "taskId" },
      });
    }
    const q = await ctx.queues.get(l.projectId);
    const s = await q.rater(userId);
    if (!s) throw new KeelError("KEEL_E_NOT_FOUND", "no task with this id is reserved for you");
    requireReady(q, s);
    if (s.done.has(l.comparisonId)) {
      throw new KeelError("KEEL_E_DUPLICATE", "you have already judged or skipped this task");
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
    // The overlap was lowered while the task was out: it may already have the judgments it now
    // needs, and one more would go past the overlap. The lease goes, or it would be served again.
    const it = q.items.get(l.comparisonId);
    if (it?.kind === "task" && q.capacity(it) <= 0) {
      await ctx.leases.release(l.taskId);
      throw comparisonFull(q);
    }
    return { q, s, lease, reclaimed };
  };

  const NextOut = z.object({ task: TaskOut.nullable(), progress: ProgressOut });

  return async (app: FastifyInstance) => {
    await app.register(quizRoutes(ctx));

    app.post<{ Params: { projectId: string } }>(
      "/projects/:projectId/guidelines/ack",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "acknowledge that you have read the guidelines",
          body: js(NoBody),
          params: js(ProjectParams),
          response: responses(Ok),
        },
      },
      async (req) => {
        const { s } = await memberState(ctx, req, req.params.projectId);
        const now = ctx.now();
        await ackGuidelines(ctx.db, req.params.projectId, req.user!.user_id, now);
        s.member = {
          ...s.member,
          guidelines_ack_at: s.member.guidelines_ack_at ?? now.toISOString(),
        };
        return { ok: true as const };
      },
    );

    app.post<{ Params: { projectId: string } }>(
      "/projects/:projectId/tasks/next",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "reserve your next task (the same one again while its lease is live)",
          body: js(NoBody),
          params: js(ProjectParams),
          response: responses(NextOut),
        },
      },
      async (req) => {
        const { q, s } = await memberState(ctx, req, req.params.projectId);
        requireReady(q, s);
        const l = await q.next(req.user!.user_id, s, ctx.now().getTime());
        const skipped = await skippedCount(q, req.user!.user_id);
        return { task: l ? await serve(q, l) : null, progress: progress(q, s, skipped) };
      },
    );

    app.post<{ Params: { taskId: string }; Body: z.infer<typeof JudgmentIn> }>(
      "/tasks/:taskId/judgment",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.small,
        schema: {
          summary:
            "judge a task reserved for you; answered once the judgment is durable in the ledger",
          params: js(TaskParams),
          body: js(JudgmentIn),
          response: responses(
            z.object({
              receipt: z.object({ seq: z.number(), hash: z.string() }),
              status: z.enum(["active", "paused", "excluded"]),
              progress: ProgressOut,
              next: TaskOut.nullable().optional(),
            }),
          ),
        },
      },
      async (req) => {
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
          req.body.flags && req.body.flags.length > 0
            ? [...new Set(req.body.flags)].sort()
            : undefined;
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
        const afterCommit = async <T>(
          what: string,
          fn: () => Promise<T>,
        ): Promise<T | undefined> => {
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
      },
    );

    app.post<{ Params: { taskId: string }; Body: z.infer<typeof SkipIn> }>(
      "/tasks/:taskId/skip",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.small,
        schema: {
          summary: "set a task reserved for you aside, with a reason",
          params: js(TaskParams),
          body: js(SkipIn),
          response: responses(z.object({ progress: ProgressOut })),
        },
      },
      async (req) => {
        const user = req.user!;
        const { q, s, lease } = await leaseOf(req.params.taskId, user.user_id);
        const key = claim(lease.projectId, user.user_id, lease.comparisonId);
        try {
          const recorded = await recordSkip(
            ctx.db,
            {
              project_id: lease.projectId,
              user_id: user.user_id,
              comparison_id: lease.comparisonId,
              reason: req.body.reason,
              note: req.body.note ?? null,
            },
            ctx.now(),
          );
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
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/progress/me",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "your progress in a project",
          params: js(ProjectParams),
          response: responses(ProgressOut),
        },
      },
      async (req) => {
        const { q, s } = await memberState(ctx, req, req.params.projectId);
        return progress(q, s, await skippedCount(q, req.user!.user_id));
      },
    );

    const MineOut = z.object({
      judgments: z.array(
        z.object({
          task_id: z.string(),
          choice: Side,
          created_at: z.string().nullable(),
          rationale: z.string().nullable(),
          flags: z.array(Flag.or(z.string())),
        }),
      ),
    });

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/judgments/me",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "your own judgments in a project (as you saw them)",
          params: js(ProjectParams),
          response: responses(MineOut),
        },
      },
      async (req) => {
        const { q } = await memberState(ctx, req, req.params.projectId);
        const uid = req.user!.user_id;
        const pid = q.project.project_id;
        const rows = await ctx.db
          .selectFrom("judgments as j")
          .innerJoin("project_items as i", "i.comparison_id", "j.comparison_id")
          .select([
            "j.comparison_id",
            "j.choice",
            "j.shown_order",
            "j.created_at",
            "j.rationale",
            "j.flags",
          ])
          .where("i.project_id", "=", pid)
          .where("j.rater_id", "=", uid)
          .orderBy("j.seq")
          .execute();
        return {
          judgments: rows.map((r) => ({
            task_id: ctx.ids.taskId(pid, uid, r.comparison_id),
            choice: toSide(r.choice, r.shown_order ?? "ab"),
            created_at: r.created_at,
            rationale: r.rationale,
            flags: r.flags ? (JSON.parse(r.flags) as string[]) : [],
          })),
        };
      },
    );
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
      reason: `gold accuracy ${s.goldCorrect}/${s.goldSeen} = ${(acc * 100).toFixed(0)}% is below the project's ${(p.pause_gold_accuracy * 100).toFixed(0)}%`,
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
