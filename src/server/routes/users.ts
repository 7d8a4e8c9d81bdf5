/**
 * Users, invitations and API tokens. Admins manage raters and reviewers, owners everyone;
 * nobody grants a role above what `canGrant` allows or changes their own role. Every user
 * manages their own API tokens.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import {
  addMembers,
  createApiToken,
  createInvitation,
  createUser,
  deleteUserSessions,
  getInvitation,
  getProject,
  getUser,
  listApiTokens,
  listInvitations,
  listUsers,
  memberProjects,
  type Role,
  revokeApiToken,
  updateUser,
  withdrawInvitation,
} from "../../store/collection/index.js";
import { hashPassword } from "../auth/password.js";
import type { AuthCache } from "../auth/plugin.js";
import { canGrant, canManage } from "../auth/roles.js";
import type { ServerContext } from "../context.js";
import { Id, js, LIMIT, NoBody, Ok, responses } from "../http/schema.js";
import { releaseHeld } from "../tasks/leases.js";
import { Login, Password, RoleSchema, UserAdminOut } from "./wire.js";

const UserParams = z.strictObject({ userId: Id });

function adminView(u: {
  user_id: string;
  login: string;
  display_name: string;
  role: Role;
  disabled: boolean;
  created_at: string;
}) {
  return {
    user_id: u.user_id,
    login: u.login,
    display_name: u.display_name,
    role: u.role,
    disabled: u.disabled,
    created_at: u.created_at,
  };
}

export function userRoutes(ctx: ServerContext, cache: AuthCache) {
  const checkProjects = async (ids: readonly string[]) => {
    for (const id of ids) {
      if (!(await getProject(ctx.db, id)))
        throw new KeelError("KEEL_E_NOT_FOUND", `no project ${JSON.stringify(id)}`);
    }
  };
  return async (app: FastifyInstance) => {
    app.get(
      "/users",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "every user",
          response: responses(z.object({ users: z.array(UserAdminOut) })),
        },
      },
      async () => ({ users: (await listUsers(ctx.db)).map(adminView) }),
    );

    app.post<{
      Body: {
        login: string;
        password?: string;
        display_name?: string;
        role: Role;
        projects?: string[];
      };
    }>(
      "/users",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.small,
        schema: {
          summary: "create a user (with a password, or none to sign in only by API token)",
          body: js(
            z.strictObject({
              login: Login,
              password: Password.optional(),
              display_name: z.string().min(1).max(100).optional(),
              role: RoleSchema,
              projects: z.array(Id).max(100).optional(),
            }),
          ),
          response: responses(UserAdminOut, 201),
        },
      },
      async (req, reply) => {
        const actor = req.user!;
        if (!canGrant(actor.role, req.body.role)) {
          throw new KeelError(
            "KEEL_E_FORBIDDEN",
            `a ${actor.role} cannot create a ${req.body.role}`,
          );
        }
        await checkProjects(req.body.projects ?? []);
        const u = await createUser(
          ctx.db,
          {
            login: req.body.login,
            role: req.body.role,
            ...(req.body.display_name ? { display_name: req.body.display_name } : {}),
            password_hash: req.body.password
              ? await hashPassword(req.body.password, ctx.options.scrypt)
              : null,
          },
          ctx.now(),
        );
        for (const p of req.body.projects ?? [])
          await addMembers(ctx.db, p, [u.user_id], ctx.now());
        reply.status(201);
        return adminView(u);
      },
    );

    app.patch<{
      Params: { userId: string };
      Body: { role?: Role; disabled?: boolean; display_name?: string };
    }>(
      "/users/:userId",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "change a user's role, name, or disable them (signs them out)",
          params: js(UserParams),
          body: js(
            z.strictObject({
              role: RoleSchema.optional(),
              disabled: z.boolean().optional(),
              display_name: z.string().min(1).max(100).optional(),
            }),
          ),
          response: responses(UserAdminOut),
        },
      },
      async (req) => {
        const actor = req.user!;
        const target = await getUser(ctx.db, req.params.userId);
        if (!target)
          throw new KeelError("KEEL_E_NOT_FOUND", `no user ${JSON.stringify(req.params.userId)}`);
        if (
          target.user_id === actor.user_id &&
          (req.body.role !== undefined || req.body.disabled !== undefined)
        ) {
          throw new KeelError(
            "KEEL_E_FORBIDDEN",
            "you cannot change your own role or disable yourself",
          );
        }
        if (!canManage(actor.role, target.role)) {
          throw new KeelError("KEEL_E_FORBIDDEN", `a ${actor.role} cannot change a ${target.role}`);
        }
        if (req.body.role !== undefined && !canGrant(actor.role, req.body.role)) {
          throw new KeelError(
            "KEEL_E_FORBIDDEN",
            `a ${actor.role} cannot grant the ${req.body.role} role`,
          );
        }
        const u = await updateUser(ctx.db, target.user_id, req.body);
        if (req.body.disabled) {
          await deleteUserSessions(ctx.db, u.user_id);
          // Tasks they held go back to the other raters now, not when the leases lapse.
          const nowMs = ctx.now().getTime();
          for (const p of await memberProjects(ctx.db, u.user_id))
            await releaseHeld(ctx.leases, p, u.user_id, nowMs);
        }
        cache.dropUser(u.user_id);
        return adminView(u);
      },
    );

    const InvitationOut = z.object({
      invitation_id: z.string(),
      role: z.string(),
      project_id: z.string().nullable(),
      created_by: z.string().nullable(),
      created_at: z.string(),
      expires_at: z.string(),
      accepted_at: z.string().nullable(),
      accepted_user_id: z.string().nullable(),
    });

    app.post<{ Body: { role: Role; project_id?: string; expires_hours?: number } }>(
      "/invitations",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "invite someone: returns a one-time token (shown once) for /invite/<token>",
          body: js(
            z.strictObject({
              role: RoleSchema,
              project_id: Id.optional(),
              expires_hours: z
                .number()
                .positive()
                .max(24 * 90)
                .optional(),
            }),
          ),
          response: responses(InvitationOut.extend({ token: z.string(), path: z.string() }), 201),
        },
      },
      async (req, reply) => {
        if (!canGrant(req.user!.role, req.body.role)) {
          throw new KeelError(
            "KEEL_E_FORBIDDEN",
            `a ${req.user!.role} cannot invite a ${req.body.role}`,
          );
        }
        if (req.body.project_id) await checkProjects([req.body.project_id]);
        const ttl = (req.body.expires_hours ?? ctx.options.invitationTtlHours) * 3600_000;
        const { token, invitation } = await createInvitation(
          ctx.db,
          {
            role: req.body.role,
            project_id: req.body.project_id ?? null,
            created_by: req.user!.user_id,
          },
          ctx.now(),
          ttl,
        );
        reply.status(201);
        return { ...invitation, token, path: `/invite/${token}` };
      },
    );

    app.delete<{ Params: { invitationId: string } }>(
      "/invitations/:invitationId",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "withdraw an open invitation (by anyone who may grant its role)",
          body: js(NoBody),
          params: js(z.strictObject({ invitationId: Id })),
          response: responses(Ok),
        },
      },
      async (req) => {
        const inv = await getInvitation(ctx.db, req.params.invitationId);
        if (inv && !canGrant(req.user!.role, inv.role)) {
          throw new KeelError(
            "KEEL_E_FORBIDDEN",
            `a ${req.user!.role} cannot withdraw an invitation for a ${inv.role}`,
          );
        }
        if (!inv || !(await withdrawInvitation(ctx.db, inv.invitation_id, ctx.now()))) {
          throw new KeelError("KEEL_E_NOT_FOUND", "no open invitation with this id");
        }
        return { ok: true as const };
      },
    );

    app.get(
      "/invitations",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "invitations (without their tokens)",
          response: responses(z.object({ invitations: z.array(InvitationOut) })),
        },
      },
      async () => ({ invitations: await listInvitations(ctx.db) }),
    );

    const TokenOut = z.object({
      token_id: z.string(),
      name: z.string(),
      created_at: z.string(),
      revoked_at: z.string().nullable(),
    });

    app.get(
      "/tokens",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "your API tokens",
          response: responses(z.object({ tokens: z.array(TokenOut) })),
        },
      },
      async (req) => ({ tokens: await listApiTokens(ctx.db, req.user!.user_id) }),
    );

    app.post<{ Body: { name: string } }>(
      "/tokens",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "create an API token for yourself (shown once)",
          body: js(z.strictObject({ name: z.string().min(1).max(100) })),
          response: responses(TokenOut.extend({ token: z.string() }), 201),
        },
      },
      async (req, reply) => {
        const { token, info } = await createApiToken(
          ctx.db,
          req.user!.user_id,
          req.body.name,
          ctx.now(),
        );
        reply.status(201);
        return { ...info, token };
      },
    );

    app.delete<{ Params: { tokenId: string } }>(
      "/tokens/:tokenId",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "revoke one of your API tokens",
          body: js(NoBody),
          params: js(z.strictObject({ tokenId: Id })),
          response: responses(Ok),
        },
      },
      async (req) => {
        if (!(await revokeApiToken(ctx.db, req.user!.user_id, req.params.tokenId, ctx.now()))) {
          throw new KeelError("KEEL_E_NOT_FOUND", "you have no live token with this id");
        }
        cache.dropUser(req.user!.user_id);
        return { ok: true as const };
      },
    );
  };
}
