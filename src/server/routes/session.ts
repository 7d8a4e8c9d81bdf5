/**
 * Signing in and out: `POST /api/session` (login and password; sets the session cookie and
 * returns the CSRF token), `DELETE /api/session`, `GET /api/me`, `POST /api/me/password`, and
 * accepting an invitation (`GET|POST /api/invitations/:token…`), which creates the account.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import {
  addMembers,
  type CollectionDb,
  createSession,
  createUser,
  deleteExpiredSessions,
  deleteSession,
  deleteUserSessions,
  findInvitation,
  getProject,
  getUser,
  getUserByLogin,
  markInvitationAccepted,
  type Role,
  secretHash,
  type User,
  updateUser,
  writeTransaction,
} from "../../store/collection/index.js";
import { dummyHash, hashPassword, verifyPassword } from "../auth/password.js";
import { type AuthCache, clientKey, rateLimited, SESSION_COOKIE } from "../auth/plugin.js";
import { canGrant } from "../auth/roles.js";
import type { ServerContext } from "../context.js";
import { js, LIMIT, NoBody, Ok, responses } from "../http/schema.js";
import { Login, Password, SessionOut } from "./wire.js";

const InvitationParams = z.strictObject({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });

export function sessionRoutes(ctx: ServerContext, cache: AuthCache) {
  let dummy: Promise<string> | undefined;
  const loginLimit = async (key: string, reply: FastifyReply) => {
    const d = await ctx.limits.hit(key, ctx.options.rateLimits.login, ctx.now().getTime());
    if (!d.allowed) throw rateLimited(reply, d.retryAfterMs, "attempts");
  };

  const startSession = async (req: FastifyRequest, reply: FastifyReply, u: User) => {
    const ttl = ctx.options.sessionTtlHours * 3600_000;
    // Each sign-in tidies the user's own expired sessions, or they would pile up for good.
    await deleteExpiredSessions(ctx.db, ctx.now(), u.user_id);
    // The session this browser sent (this user's or another's) is replaced by the new cookie:
    // it ends here, rather than staying valid, unreachable, until it expires.
    if (req.sessionToken) {
      await deleteSession(ctx.db, req.sessionToken);
      cache.dropSession(req.sessionToken);
    }
    const s = await createSession(ctx.db, u.user_id, ctx.now(), ttl);
    reply.setCookie(SESSION_COOKIE, s.token, {
      httpOnly: true,
      sameSite: "strict",
      // Behind a TLS-terminating proxy (--trust-proxy), the browser's connection is https even
      // though the proxy's to keel is not: X-Forwarded-Proto, which Fastify reads only then.
      secure: ctx.options.secureCookies || req.protocol === "https",
      path: "/",
      maxAge: Math.floor(ttl / 1000),
    });
    return {
      user: { user_id: u.user_id, login: u.login, display_name: u.display_name, role: u.role },
      csrf_token: s.csrf,
    };
  };

  return async (app: FastifyInstance) => {
    app.post<{ Body: { login: string; password: string } }>(
      "/session",
      {
        config: { access: "public" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "sign in with login and password",
          body: js(
            z.strictObject({
              login: z.string().min(1).max(64),
              password: z.string().min(1).max(256),
            }),
          ),
          response: responses(SessionOut),
        },
      },
      async (req, reply) => {
        await loginLimit(`login:${clientKey(req)}`, reply);
        await loginLimit(`login:user:${req.body.login}`, reply);
        const u = await getUserByLogin(ctx.db, req.body.login);
        let ok = false;
        if (u?.password_hash && !u.disabled)
          ok = await verifyPassword(req.body.password, u.password_hash);
        else {
          // Same work for an unknown login, so response time does not tell logins apart.
          dummy ??= dummyHash(ctx.options.scrypt);
          await verifyPassword(req.body.password, await dummy);
        }
        if (!ok || !u) throw new KeelError("KEEL_E_UNAUTHORIZED", "wrong login or password");
        return startSession(req, reply, u);
      },
    );

    app.delete(
      "/session",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: { summary: "sign out", body: js(NoBody), response: responses(Ok) },
      },
      async (req, reply) => {
        if (req.sessionToken) {
          await deleteSession(ctx.db, req.sessionToken);
          cache.dropUser(req.user!.user_id);
        }
        reply.clearCookie(SESSION_COOKIE, { path: "/" });
        return { ok: true as const };
      },
    );

    app.get(
      "/me",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "the signed-in user and the CSRF token",
          response: responses(SessionOut),
        },
      },
      async (req) => {
        let csrf: string | null = null;
        if (req.authKind === "session" && req.sessionToken) {
          const s = await ctx.db
            .selectFrom("sessions")
            .select("csrf_token")
            .where("user_id", "=", req.user!.user_id)
            .where("token_hash", "=", secretHash(req.sessionToken))
            .executeTakeFirst();
          csrf = s?.csrf_token ?? null;
        }
        return { user: req.user!, csrf_token: csrf };
      },
    );

    app.post<{ Body: { current_password: string; new_password: string } }>(
      "/me/password",
      {
        config: { access: "user" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "change your password (signs out every session)",
          body: js(
            z.strictObject({
              current_password: z.string().min(1).max(256),
              new_password: Password,
            }),
          ),
          response: responses(Ok),
        },
      },
      async (req, reply) => {
        await loginLimit(`login:user:${req.user!.login}`, reply);
        const u = await getUserByLogin(ctx.db, req.user!.login);
        if (
          !u?.password_hash ||
          !(await verifyPassword(req.body.current_password, u.password_hash))
        ) {
          throw new KeelError("KEEL_E_UNAUTHORIZED", "the current password is wrong");
        }
        await updateUser(ctx.db, u.user_id, {
          password_hash: await hashPassword(req.body.new_password, ctx.options.scrypt),
        });
        await deleteUserSessions(ctx.db, u.user_id);
        cache.dropUser(u.user_id);
        reply.clearCookie(SESSION_COOKIE, { path: "/" });
        return { ok: true as const };
      },
    );

    app.get<{ Params: { token: string } }>(
      "/invitations/:token",
      {
        config: { access: "public" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "what an invitation is for",
          params: js(InvitationParams),
          response: responses(
            z.object({
              role: z.string(),
              project_name: z.string().nullable(),
              expires_at: z.string(),
            }),
          ),
        },
      },
      async (req, reply) => {
        await loginLimit(`login:${clientKey(req)}`, reply);
        const inv = await openInvitation(ctx, req.params.token);
        const p = inv.project_id ? await getProject(ctx.db, inv.project_id) : undefined;
        return { role: inv.role, project_name: p?.name ?? null, expires_at: inv.expires_at };
      },
    );

    app.post<{
      Params: { token: string };
      Body: { login: string; password: string; display_name?: string };
    }>(
      "/invitations/:token/accept",
      {
        config: { access: "public" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "create your account from an invitation and sign in",
          params: js(InvitationParams),
          body: js(
            z.strictObject({
              login: Login,
              password: Password,
              display_name: z.string().min(1).max(100).optional(),
            }),
          ),
          response: responses(SessionOut),
        },
      },
      async (req, reply) => {
        await loginLimit(`login:${clientKey(req)}`, reply);
        const inv = await openInvitation(ctx, req.params.token);
        const hash = await hashPassword(req.body.password, ctx.options.scrypt);
        const now = ctx.now();
        const u = await writeTransaction(ctx.db, async (trx) => {
          // Checked again where it is used up: hashing the password takes a while, and the
          // invitation may have been withdrawn, expired, or lost its sender's rights meanwhile.
          await openInvitation(ctx, req.params.token, trx, now);
          const user = await createUser(
            trx,
            {
              login: req.body.login,
              role: inv.role,
              password_hash: hash,
              ...(req.body.display_name ? { display_name: req.body.display_name } : {}),
            },
            now,
          );
          if (!(await markInvitationAccepted(trx, inv.invitation_id, user.user_id, now))) {
            throw new KeelError("KEEL_E_CONFLICT", "this invitation has just been used");
          }
          if (inv.project_id) await addMembers(trx, inv.project_id, [user.user_id], now);
          return user;
        });
        return startSession(req, reply, u);
      },
    );
  };
}

/**
 * An invitation that is unused, unexpired, and still backed by its sender: one whose sender was
 * disabled, or can no longer grant its role, is void (those from the CLI have no sender).
 */
async function openInvitation(
  ctx: ServerContext,
  token: string,
  db: CollectionDb = ctx.db,
  now: Date = ctx.now(),
) {
  const inv = await findInvitation(db, token);
  const open =
    inv !== undefined &&
    inv.accepted_at === null &&
    Date.parse(inv.expires_at) > now.getTime() &&
    (inv.created_by === null || (await senderMayGrant(db, inv.created_by, inv.role)));
  if (!open) {
    throw new KeelError(
      "KEEL_E_NOT_FOUND",
      "no open invitation with this link (used, expired, withdrawn or wrong)",
    );
  }
  return inv;
}

async function senderMayGrant(db: CollectionDb, userId: string, role: Role): Promise<boolean> {
  const u = await getUser(db, userId);
  return u !== undefined && !u.disabled && canGrant(u.role, role);
}
