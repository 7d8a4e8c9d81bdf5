/**
 * Projects: create, list, read and change settings, add items, manage members. A rater sees
 * only the projects they belong to and only what they need (name, guidelines, their own
 * status) — never overlap, gold rate or any item's gold answer.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import type { Comparison } from "../../core/types.js";
import {
  addItems,
  addMembers,
  createProject,
  getUser,
  listItems,
  listMembers,
  listProjects,
  memberProjects,
  type Project,
  updateProject,
} from "../../store/collection/index.js";
import { atLeast } from "../auth/roles.js";
import type { ServerContext } from "../context.js";
import { Id, js, LIMIT, ProjectParams, responses } from "../http/schema.js";
import type { ProjectQueue, RaterState } from "../tasks/queue.js";
import { memberState, projectFor } from "./access.js";
import { ItemIn, ProjectCreateIn, ProjectOut, ProjectSettingsIn, RaterProjectOut } from "./wire.js";

type Settings = z.infer<typeof ProjectSettingsIn>;

/** Staff get the settings; members (raters) their own state; nobody both. */
const ProjectView = z.object({
  project_id: z.string(),
  name: z.string(),
  guidelines: z.string(),
  settings: ProjectOut.optional(),
  me: RaterProjectOut.shape.me.optional(),
});

function raterView(q: ProjectQueue, s: RaterState) {
  const p = q.project;
  return {
    project_id: p.project_id,
    name: p.name,
    guidelines: p.guidelines,
    me: {
      status: s.member.status,
      guidelines_acknowledged: s.member.guidelines_ack_at !== null,
      quiz_required: q.quiz.length > 0,
      quiz_passed: s.member.quiz_passed_at !== null,
      quiz_attempts_left: Math.max(0, p.quiz_max_attempts - s.member.quiz_attempts),
    },
  };
}

export function projectRoutes(ctx: ServerContext) {
  return async (app: FastifyInstance) => {
    app.get(
      "/projects",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "projects you can see (staff: all; raters: their own)",
          response: responses(
            z.object({ projects: z.array(z.object({ project_id: z.string(), name: z.string() })) }),
          ),
        },
      },
      async (req) => {
        const all = await listProjects(ctx.db);
        if (atLeast(req.user!.role, "reviewer")) return { projects: all };
        const mine = new Set(await memberProjects(ctx.db, req.user!.user_id));
        return { projects: all.filter((p) => mine.has(p.project_id)) };
      },
    );

    app.post<{ Body: z.infer<typeof ProjectCreateIn> }>(
      "/projects",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.settings,
        schema: {
          summary: "create a project",
          body: js(ProjectCreateIn),
          response: responses(ProjectOut, 201),
        },
      },
      async (req, reply) => {
        const p = await createProject(ctx.db, req.body, ctx.now());
        reply.status(201);
        return p;
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "a project: full settings for staff, guidelines and own status for members",
          params: js(ProjectParams),
          response: responses(ProjectView),
        },
      },
      async (req) => {
        if (atLeast(req.user!.role, "reviewer")) {
          const p = (await projectFor(ctx, req, req.params.projectId)).project;
          return { project_id: p.project_id, name: p.name, guidelines: p.guidelines, settings: p };
        }
        const { q, s } = await memberState(ctx, req, req.params.projectId);
        return raterView(q, s);
      },
    );

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/me",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "your own view of a project you belong to",
          params: js(ProjectParams),
          response: responses(RaterProjectOut),
        },
      },
      async (req) => {
        const { q, s } = await memberState(ctx, req, req.params.projectId);
        return raterView(q, s);
      },
    );

    app.patch<{ Params: { projectId: string }; Body: Settings }>(
      "/projects/:projectId",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.settings,
        schema: {
          summary: "change a project's settings",
          params: js(ProjectParams),
          body: js(ProjectSettingsIn),
          response: responses(ProjectOut),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        const p: Project = await updateProject(ctx.db, req.params.projectId, req.body);
        q.project = p;
        ctx.scores.invalidate(p.project_id);
        return p;
      },
    );

    app.post<{ Params: { projectId: string }; Body: { items: z.infer<typeof ItemIn>[] } }>(
      "/projects/:projectId/items",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.items,
        schema: {
          summary: "add comparisons to a project (task or quiz items, in batches)",
          params: js(ProjectParams),
          body: js(z.strictObject({ items: z.array(ItemIn).min(1).max(10_000) })),
          response: responses(z.object({ added: z.number(), existing: z.number() })),
        },
      },
      async (req) => {
        const q = await projectFor(ctx, req, req.params.projectId);
        const r = await addItems(
          ctx.db,
          req.params.projectId,
          req.body.items.map((i) => {
            const comparison: Comparison = {
              comparison_id: i.comparison_id,
              prompt: i.prompt,
              response_a: i.response_a,
              response_b: i.response_b,
              ...(i.gold ? { gold: i.gold } : {}),
            };
            return { comparison, kind: i.kind, batch: i.batch };
          }),
        );
        for (const it of await listItems(ctx.db, req.params.projectId)) q.addItem(it);
        ctx.scores.invalidate(req.params.projectId);
        return r;
      },
    );

    const MemberOut = z.object({
      user_id: z.string(),
      login: z.string(),
      display_name: z.string(),
      role: z.string(),
      status: z.string(),
      status_reason: z.string().nullable(),
      status_at: z.string(),
      guidelines_ack_at: z.string().nullable(),
      quiz_passed_at: z.string().nullable(),
      quiz_attempts: z.number(),
    });

    app.get<{ Params: { projectId: string } }>(
      "/projects/:projectId/members",
      {
        config: { access: "reviewer" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "members of a project",
          params: js(ProjectParams),
          response: responses(z.object({ members: z.array(MemberOut) })),
        },
      },
      async (req) => {
        await projectFor(ctx, req, req.params.projectId);
        return { members: await listMembers(ctx.db, req.params.projectId) };
      },
    );

    app.post<{ Params: { projectId: string }; Body: { user_ids: string[] } }>(
      "/projects/:projectId/members",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.small,
        schema: {
          summary: "add users to a project",
          params: js(ProjectParams),
          body: js(z.strictObject({ user_ids: z.array(Id).min(1).max(1000) })),
          response: responses(z.object({ added: z.number() })),
        },
      },
      async (req) => {
        await projectFor(ctx, req, req.params.projectId);
        for (const id of req.body.user_ids) {
          if (!(await getUser(ctx.db, id)))
            throw new KeelError("KEEL_E_NOT_FOUND", `no user ${JSON.stringify(id)}`);
        }
        return {
          added: await addMembers(ctx.db, req.params.projectId, req.body.user_ids, ctx.now()),
        };
      },
    );
  };
}
