/**
 * Admin and reviewer views of a project: raters with live scores and verdicts, agreement per
 * batch, collusion groups, triggers and promoted names (from the audit), progress, the review
 * queue (paused raters, to reinstate or exclude), the judgments themselves and their export as
 * keel judgments JSONL.
 */
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { judgmentToJson } from "../../io/formats/judgments.js";
import {
  listMembers,
  resetQuizAttempts,
  reviewEvents,
  setMemberStatus,
  skipCounts,
} from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import { Id, js, LIMIT, ProjectParams, responses } from "../http/schema.js";
import { releaseHeld } from "../tasks/leases.js";
import { projectFor } from "./access.js";

const Num = z.number().nullable();

const RaterRow = z.object({
  user_id: z.string(),
  login: z.string(),
  display_name: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  judgments: z.number(),
  skipped: z.number(),
  gold_seen: z.number(),
  gold_correct: z.number(),
  gold_accuracy: Num,
  reliability: Num,
  agreement: Num,
  position_bias: Num,
  median_latency_ms: Num,
  flagged: z.number(),
  suspicion: Num,
  verdict: z.string(),
  verdict_source: z.string(),
  reasons: z.array(z.string()),
  checked_by: z.array(z.string()).nullable(),
});

const BatchRow = z.object({
  batch: z.string(),
  comparisons: z.number(),
  judgments: z.number(),
  complete: z.number(),
  krippendorff_alpha: Num,
  fleiss_kappa: Num,
});

const ReviewParams = z.strictObject({ projectId: Id, userId: Id });

export function adminRoutes(ctx: ServerContext) {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/raters",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "raters with live reliability, gold accuracy, suspicion and verdict",
          params: js(ProjectParams),
          response: responses(z.object({ raters: z.array(RaterRow) })),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        const scores = await ctx.scores.scores(q, ctx.now().getTime());
        const byId = new Map(scores.raters.map((r) => [r.rater_id, r]));
        const skipped = new Map<string, number>();
        for (const s of await skipCounts(ctx.db, q.project.project_id))
          skipped.set(s.user_id, (skipped.get(s.user_id) ?? 0) + s.n);
        const members = await listMembers(ctx.db, q.project.project_id);
        return {
          raters: members.map((m) => {
            const r = byId.get(m.user_id);
            return {
              user_id: m.user_id,
              login: m.login,
              display_name: m.display_name,
              status: m.status,
              status_reason: m.status_reason,
              judgments: r?.judgments ?? 0,
              skipped: skipped.get(m.user_id) ?? 0,
              gold_seen: r?.gold_seen ?? 0,
              gold_correct: r?.gold_correct ?? 0,
              gold_accuracy: r?.gold_accuracy ?? null,
              reliability: r?.reliability ?? null,
              agreement: r?.agreement ?? null,
              position_bias: r?.position_bias ?? null,
              median_latency_ms: r?.median_latency_ms ?? null,
              flagged: r?.flagged ?? 0,
              suspicion: r?.suspicion ?? null,
              verdict: m.status === "excluded" ? "excluded" : (r?.verdict ?? "trusted"),
              verdict_source: r?.verdict_source ?? "policy",
              reasons: r?.reasons ?? [],
              checked_by: r?.checked_by ?? null,
            };
          }),
        };
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/agreement",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "inter-rater agreement per batch",
          params: js(ProjectParams),
          response: responses(z.object({ batches: z.array(BatchRow) })),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        return { batches: (await ctx.scores.scores(q, ctx.now().getTime())).batches };
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/groups",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "collusion groups, trigger patterns and promoted names found by the audit",
          params: js(ProjectParams),
          response: responses(
            z.object({
              source: z.enum(["audit", "unavailable"]),
              groups: z.array(
                z.object({ rater_ids: z.array(z.string()), score: Num, reason: z.string() }),
              ),
              triggers: z.array(z.object({ pattern: z.string(), score: Num, support: z.number() })),
              promotions: z.array(
                z.object({
                  pattern: z.string(),
                  score: Num,
                  support: z.number(),
                  raters: z.number(),
                }),
              ),
            }),
          ),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        return ctx.scores.groups(q, ctx.now().getTime());
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/progress",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "how far the project is",
          params: js(ProjectParams),
          response: responses(
            z.object({
              tasks: z.number(),
              gold: z.number(),
              quiz: z.number(),
              complete: z.number(),
              judgments: z.number(),
              needed: z.number(),
              raters: z.object({ active: z.number(), paused: z.number(), excluded: z.number() }),
            }),
          ),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        await q.refreshJudged();
        let judgments = 0;
        for (const n of q.judged.values()) judgments += n;
        const members = await listMembers(ctx.db, q.project.project_id);
        const count = (s: string) =>
          members.filter((m) => m.status === s && m.role === "rater").length;
        return {
          tasks: q.tasks.length,
          gold: q.gold.length,
          quiz: q.quiz.length,
          complete: q.completeCount(),
          judgments,
          needed: q.tasks.length * q.project.overlap,
          raters: { active: count("active"), paused: count("paused"), excluded: count("excluded") },
        };
      },
    );

    const Event = z.object({
      action: z.string(),
      actor_id: z.string().nullable(),
      reason: z.string(),
      created_at: z.string(),
    });

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/reviews",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "the review queue: paused raters and why",
          params: js(ProjectParams),
          response: responses(
            z.object({
              queue: z.array(
                z.object({
                  user_id: z.string(),
                  login: z.string(),
                  status_reason: z.string().nullable(),
                  status_at: z.string(),
                  events: z.array(Event),
                }),
              ),
            }),
          ),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        const members = (await listMembers(ctx.db, q.project.project_id)).filter(
          (m) => m.status === "paused",
        );
        const queue = [];
        for (const m of members) {
          queue.push({
            user_id: m.user_id,
            login: m.login,
            status_reason: m.status_reason,
            status_at: m.status_at,
            events: await reviewEvents(ctx.db, q.project.project_id, m.user_id),
          });
        }
        return { queue };
      },
    );

    app.post<{
      Params: { projectId: string; userId: string };
      Body: { action: "reinstate" | "exclude" | "pause"; reason: string };
    }>(
      "/projects/:projectId/members/:userId/review",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.small,
        schema: {
          summary: "decide on a rater: reinstate, exclude, or pause for review",
          params: js(ReviewParams),
          body: js(
            z.strictObject({
              action: z.enum(["reinstate", "exclude", "pause"]),
              reason: z.string().min(1).max(1000),
            }),
          ),
          response: responses(z.object({ status: z.string() })),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        if (req.params.userId === req.user!.user_id)
          throw new KeelError("KEEL_E_FORBIDDEN", "you cannot review yourself");
        const a = req.body.action;
        const status = a === "reinstate" ? "active" : a === "exclude" ? "excluded" : "paused";
        const from =
          a === "reinstate"
            ? (["paused", "excluded"] as const)
            : a === "exclude"
              ? (["active", "paused"] as const)
              : (["active"] as const);
        const m = await setMemberStatus(
          ctx.db,
          {
            project_id: q.project.project_id,
            user_id: req.params.userId,
            status,
            action: a,
            actor_id: req.user!.user_id,
            reason: req.body.reason,
            from,
          },
          ctx.now(),
        );
        if (!m)
          throw new KeelError(
            "KEEL_E_CONFLICT",
            `this member cannot be ${a}d from their current status (or is not a member)`,
          );
        if (a === "reinstate")
          await resetQuizAttempts(ctx.db, q.project.project_id, req.params.userId);
        else
          await releaseHeld(
            ctx.leases,
            q.project.project_id,
            req.params.userId,
            ctx.now().getTime(),
          );
        q.forget(req.params.userId);
        ctx.scores.invalidate(q.project.project_id);
        return { status: m.status };
      },
    );

    const Query = z.strictObject({
      after_seq: z
        .string()
        .regex(/^\d{1,15}$/)
        .optional(),
      limit: z
        .string()
        .regex(/^[1-9]\d{0,4}$/, "a whole number from 1 to 99999 (pages hold at most 5000)")
        .optional(),
    });

    app.get<{ Params: { projectId: string }; Querystring: z.infer<typeof Query> }>(
      "/projects/:projectId/judgments",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary:
            "the project's judgments in ledger order (gold answers included), a page at a time",
          params: js(ProjectParams),
          querystring: js(Query),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        const limit = Math.min(5000, Number(req.query.limit ?? 1000));
        const out: unknown[] = [];
        for await (const e of ctx.store.judgments({
          afterSeq: Number(req.query.after_seq ?? 0),
          pageSize: 1000,
        })) {
          if (!q.items.has(e.comparison_id)) continue;
          out.push({ seq: e.seq, ...judgmentToJson(e), recorded_at: e.recorded_at, hash: e.hash });
          if (out.length >= limit) break;
        }
        return { judgments: out };
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/export",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "export the project's judgments as keel judgments JSONL",
          params: js(ProjectParams),
        },
      },
      async (req, reply) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        const store = ctx.store;
        async function* lines() {
          for await (const e of store.judgments()) {
            if (q.items.has(e.comparison_id)) yield `${JSON.stringify(judgmentToJson(e))}\n`;
          }
        }
        reply.header("content-type", "application/x-ndjson; charset=utf-8");
        reply.header(
          "content-disposition",
          `attachment; filename="${q.project.project_id}-judgments.jsonl"`,
        );
        return reply.send(Readable.from(lines()));
      },
    );
  };
}
