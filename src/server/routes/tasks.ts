/**
 * The rater's task flow: acknowledge the guidelines, take the onboarding quiz (gold items kept
 * apart from the mixed-in ones), then ask for a task, judge it (or skip it with a reason), and
 * see their progress and their own judgments. Tasks are named by opaque ids and show their
 * responses as left/right in a per-rater random order; the server maps the rater's side back
 * to the stored a/b and records the order shown (`shown_order`) in the ledger.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ackGuidelines } from "../../store/collection/index.js";
import type { ServerContext } from "../context.js";
import { js, LIMIT, NoBody, Ok, ProjectParams, responses } from "../http/schema.js";
import { memberState, requireReady } from "./access.js";
import { quizRoutes } from "./quiz.js";
import { toSide } from "./sides.js";
import { judgeTask, skipTask } from "./task-answers.js";
import { progress, taskFlow } from "./task-flow.js";
import { Flag, JudgmentIn, ProgressOut, Side, SkipIn, TaskOut, TaskParams } from "./wire.js";

export { autoPause, progress, RENEW_WITHIN_MS } from "./task-flow.js";

export function taskRoutes(ctx: ServerContext) {
  const flow = taskFlow(ctx);
  const { serve, skippedCount } = flow;

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
      (req) => judgeTask(ctx, flow, req),
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
      (req) => skipTask(ctx, flow, req),
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
