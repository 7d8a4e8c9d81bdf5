/**
 * Authentication and access control, for every route, before its body is even parsed
 * (an `onRequest` hook):
 *
 * 1. per-address rate limit;
 * 2. credentials: `Authorization: Bearer keel_…` (an API token) or the `keel_session` cookie
 *    (httpOnly, SameSite=Strict, Secure behind HTTPS); both are looked up by their SHA-256 and
 *    cached for `authCacheMs` (so revocation reaches other processes within that time; in this
 *    process it is immediate);
 * 3. the route's `access` (every route must declare one — enforced when routes are added);
 * 4. CSRF: a state-changing request authenticated by the cookie must carry the session's CSRF
 *    token in `X-CSRF-Token` (synchroniser token; the token is handed out at login and in
 *    `GET /api/me`, never in a cookie the browser sends on its own). Bearer-token requests carry
 *    no ambient credential and need none; nor do public routes (signing in, accepting an
 *    invitation), which act on no session's authority: a browser whose cookie names another
 *    user's session (signed in in another tab) must still be able to sign in;
 * 5. per-user rate limit.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { KeelError } from "../../core/errors.js";
import { findApiToken, findSession, getUser, secretHash } from "../../store/collection/index.js";
import type { AuthUser, ServerContext } from "../context.js";
import { atLeast } from "./roles.js";

export const SESSION_COOKIE = "keel_session";

interface Cached {
  readonly user: AuthUser | null;
  /** The user a refused token belongs to (a disabled user's), so that enabling them drops it. */
  readonly owner?: string;
  readonly csrf: string | null;
  readonly expiresAt: number;
  readonly at: number;
}

/** The most credentials `AuthCache` holds (sessions, tokens, and tokens found unknown). */
export const AUTH_CACHE_MAX = 50_000;

/**
 * The in-process credential cache; entries are dropped on logout, revocation or user change.
 * At most `max` are kept, in the order they were last used: a new one past the cap drops the
 * least recently used. (Until 2026-12-07 the cap cleared the whole map, so a flood of made-up
 * bearer tokens, each cached as unknown, sent every signed-in user back to the database once
 * every 50,000 requests.)
 */
export class AuthCache {
  /** Least recently used first (a Map iterates in insertion order). */
  private readonly map = new Map<string, Cached>();
  constructor(
    private readonly ttlMs: number,
    readonly max = AUTH_CACHE_MAX,
  ) {}
  get(key: string, nowMs: number): Cached | undefined {
    const c = this.map.get(key);
    if (!c) return undefined;
    this.map.delete(key);
    if (nowMs - c.at < this.ttlMs && nowMs < c.expiresAt) {
      this.map.set(key, c);
      return c;
    }
    return undefined;
  }
  set(key: string, c: Cached): void {
    if (this.ttlMs === 0) return;
    this.map.delete(key);
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, c);
  }
  get size(): number {
    return this.map.size;
  }
  dropUser(userId: string): void {
    for (const [k, c] of this.map)
      if (c.user?.user_id === userId || c.owner === userId) this.map.delete(k);
  }
  dropKey(key: string): void {
    this.map.delete(key);
  }
  /** Forgets a session at once (signed out, or replaced by a new sign-in in that browser). */
  dropSession(token: string): void {
    this.map.delete(`s:${secretHash(token)}`);
  }
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function resolve(
  ctx: ServerContext,
  cache: AuthCache,
  req: FastifyRequest,
  nowMs: number,
): Promise<{ user: AuthUser | null; csrf: string | null; kind: "session" | "token" | null }> {
  const header = req.headers.authorization;
  // Another scheme (a reverse proxy's Basic auth, say) is not keel's: the request goes on as if
  // it carried none. The scheme's name is case-insensitive (RFC 9110).
  if (header !== undefined && /^bearer(\s|$)/i.test(header)) {
    const m = /^bearer +(keel_[A-Za-z0-9_-]{20,100})$/i.exec(header);
    if (!m)
      throw new KeelError(
        "KEEL_E_UNAUTHORIZED",
        "malformed Authorization header: expected `Bearer keel_…`",
      );
    const key = `t:${secretHash(m[1]!)}`;
    let c = cache.get(key, nowMs);
    if (!c) {
      const t = await findApiToken(ctx.db, m[1]!);
      const u = t && t.revoked_at === null ? await getUser(ctx.db, t.user_id) : undefined;
      c = {
        user: u && !u.disabled ? pick(u) : null,
        ...(u?.disabled ? { owner: u.user_id } : {}),
        csrf: null,
        expiresAt: Infinity,
        at: nowMs,
      };
      cache.set(key, c);
    }
    if (!c.user) throw new KeelError("KEEL_E_UNAUTHORIZED", "unknown or revoked API token");
    return { user: c.user, csrf: null, kind: "token" };
  }
  const token = req.cookies[SESSION_COOKIE];
  if (token === undefined || token === "") return { user: null, csrf: null, kind: null };
  req.sessionToken = token;
  const key = `s:${secretHash(token)}`;
  let c = cache.get(key, nowMs);
  if (!c) {
    const s = await findSession(ctx.db, token);
    const exp = s ? Date.parse(s.expires_at) : 0;
    const u = s && exp > nowMs ? await getUser(ctx.db, s.user_id) : undefined;
    c = {
      user: u && !u.disabled ? pick(u) : null,
      csrf: s?.csrf_token ?? null,
      expiresAt: exp,
      at: nowMs,
    };
    if (c.user) cache.set(key, c);
  }
  if (!c.user) return { user: null, csrf: null, kind: null };
  return { user: c.user, csrf: c.csrf, kind: "session" };
}

function pick(u: AuthUser): AuthUser {
  return { user_id: u.user_id, login: u.login, display_name: u.display_name, role: u.role };
}

export function clientKey(req: FastifyRequest): string {
  return `ip:${req.ip}`;
}

async function limit(
  ctx: ServerContext,
  reply: FastifyReply,
  key: string,
  rule: { rate: number; burst: number },
  nowMs: number,
): Promise<void> {
  const d = await ctx.limits.hit(key, rule, nowMs);
  if (!d.allowed) throw rateLimited(reply, d.retryAfterMs, "requests");
}

/** The 429 of a rate limit: Retry-After and the message in the same whole seconds. */
export function rateLimited(reply: FastifyReply, retryAfterMs: number, what: string): KeelError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  reply.header("retry-after", String(seconds));
  return new KeelError("KEEL_E_RATE_LIMITED", `too many ${what}; retry in ${seconds} s`);
}

export function authPlugin(ctx: ServerContext, cache: AuthCache) {
  const plugin = async (app: FastifyInstance) => {
    app.decorateRequest("user", null);
    app.decorateRequest("authKind", null);
    app.decorateRequest("sessionToken", null);
    app.addHook("onRequest", async (req, reply) => {
      const nowMs = ctx.now().getTime();
      const rules = ctx.options.rateLimits;
      await limit(ctx, reply, clientKey(req), rules.ip, nowMs);
      const access = req.routeOptions.config.access ?? "public";
      const r = await resolve(ctx, cache, req, nowMs);
      req.user = r.user;
      req.authKind = r.kind;
      if (access !== "public") {
        if (!r.user)
          throw new KeelError("KEEL_E_UNAUTHORIZED", "sign in first (session cookie or API token)");
        if (access !== "user" && !atLeast(r.user.role, access)) {
          throw new KeelError("KEEL_E_FORBIDDEN", `this needs the ${access} role or higher`);
        }
      }
      if (r.kind === "session" && access !== "public" && !SAFE.has(req.method)) {
        const sent = req.headers["x-csrf-token"];
        if (typeof sent !== "string" || !r.csrf || !sameSecret(sent, r.csrf)) {
          throw new KeelError("KEEL_E_FORBIDDEN", "missing or wrong X-CSRF-Token header", {
            hint: "send the csrf_token from the login response (or GET /api/me) in X-CSRF-Token",
          });
        }
      }
      if (r.user) await limit(ctx, reply, `user:${r.user.user_id}`, rules.user, nowMs);
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for("skip-override")] = true;
  return plugin;
}
