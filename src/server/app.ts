/**
 * The keel collection server: a Fastify app whose every feature is a plugin — security
 * headers, errors, authentication and rate limits, sessions, users, projects, the task flow,
 * the admin views, health, the OpenAPI description, and the static web app. Every route
 * declares its access, a JSON schema and a body limit; adding one without them fails at start.
 *
 * `buildApp` wires the services (leases, rate limits, group commit, queues, scores) around an
 * open store; `app.close()` drains pending commits and releases them (the store is the
 * caller's to close).
 */
import { randomBytes } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type RouteOptions,
} from "fastify";
import { collectionDb, deleteExpiredSessions, settingOrInit } from "../store/collection/index.js";
import type { FeedbackStore } from "../store/store.js";
import { AuthCache, authPlugin } from "./auth/plugin.js";
import type { ServerContext } from "./context.js";
import {
  clientError,
  nearestProxyOnly,
  registerClosing,
  requestTimeouts,
} from "./http/connections.js";
import { errorHandler, registerErrors } from "./http/errors.js";
import { healthRoutes } from "./http/health.js";
import { logWhenSent, OneLinePerRequest, requestForLog } from "./http/log.js";
import { allowedMethods, keelMethodNotAllowed } from "./http/methods.js";
import { collectRoutes, openApiDocument } from "./http/openapi.js";
import { LIMIT } from "./http/schema.js";
import { registerSecurityHeaders, setSecurityHeaders } from "./http/security.js";
import { registerStringCheck } from "./http/strings.js";
import { MemoryRateLimitStore, type RateLimitStore } from "./limits/rate-limit.js";
import { resolveOptions, type ServerOptions } from "./options.js";
import { adminRoutes } from "./routes/admin.js";
import { projectRoutes } from "./routes/projects.js";
import { sessionRoutes } from "./routes/session.js";
import { staticRoutes } from "./routes/static.js";
import { taskRoutes } from "./routes/tasks.js";
import { userRoutes } from "./routes/users.js";
import { ScoreBoard } from "./scores/board.js";
import { pauseExcluded } from "./scores/pause.js";
import { type LedgerAppend, StoreAppend, WorkerAppend } from "./tasks/append.js";
import { GroupCommitter } from "./tasks/commit.js";
import { type LeaseStore, MemoryLeaseStore } from "./tasks/leases.js";
import { QueueRegistry } from "./tasks/registry.js";
import { TaskIds } from "./tasks/task-id.js";

export interface BuildOptions extends ServerOptions {
  /** Shared lease store (default: in this process's memory). */
  readonly leases?: LeaseStore;
  /** Shared rate-limit counters (default: in this process's memory). */
  readonly limits?: RateLimitStore;
  /** Clock (tests move it forward to expire leases). */
  readonly now?: () => Date;
  /** Log destination for pino (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
  /** How long a client may take to send a request (tests shorten it; see http/connections). */
  readonly requestTimeoutMs?: number;
}

export interface KeelApp {
  readonly app: FastifyInstance;
  readonly ctx: ServerContext;
}

/** Checks the route contract: access, schema and body limit on every route. */
function routeContract(r: RouteOptions): void {
  const schema = r.schema as { hide?: boolean } | undefined;
  if (schema?.hide) {
    // The static web app's file routes (added by @fastify/static).
    r.config = { ...(r.config as object), access: "public" } as RouteOptions["config"];
    r.bodyLimit ??= LIMIT.tiny;
    return;
  }
  const what = `route ${String(r.method)} ${r.url}`;
  if ((r.config as { access?: string } | undefined)?.access === undefined)
    throw new Error(`${what} declares no access`);
  if (r.schema === undefined) throw new Error(`${what} has no schema`);
  if (r.bodyLimit === undefined) throw new Error(`${what} has no body limit`);
  const methods = Array.isArray(r.method) ? r.method : [r.method];
  if (methods.some((m) => m !== "GET" && m !== "HEAD") && r.schema.body === undefined)
    throw new Error(`${what} has no body schema (NoBody when it takes none)`);
}

export async function buildApp(store: FeedbackStore, raw: BuildOptions = {}): Promise<KeelApp> {
  const { leases, limits, now, logStream, requestTimeoutMs, ...rest } = raw;
  const options = resolveOptions(rest);
  const db = collectionDb(store);
  const secret = await settingOrInit(db, "task_secret", () =>
    randomBytes(32).toString("base64url"),
  );
  const ids = new TaskIds(Buffer.from(secret, "base64url"));
  const leaseStore = leases ?? new MemoryLeaseStore();
  const clock = now ?? (() => new Date());
  const queues = new QueueRegistry(db, leaseStore, ids, () => clock().getTime());
  // The log is made with the app, below; a worker that dies before then is still restarted.
  let workerDied: ((reason: Error) => void) | undefined;
  const ledger: LedgerAppend =
    store.dialectName === "sqlite" && store.location !== ":memory:" && options.appendWorker
      ? await WorkerAppend.start(store.location, { onRestart: (e) => workerDied?.(e) })
      : new StoreAppend(store);
  // Everything after the worker started is undone if any of it fails: a worker left running
  // holds the store open and keeps the process alive after the error is printed.
  try {
    const ctx: ServerContext = {
      store,
      db,
      options,
      leases: leaseStore,
      limits: limits ?? new MemoryRateLimitStore(),
      ids,
      committer: new GroupCommitter(ledger, { maxBatch: options.maxBatch }),
      queues,
      scores: new ScoreBoard(store, db, options.scoresCacheMs, options.auditPolicy),
      now: clock,
    };

    const app = Fastify({
      logger: {
        level: options.logLevel,
        redact: ["req.headers.authorization", "req.headers.cookie", 'res.headers["set-cookie"]'],
        serializers: { req: requestForLog },
        ...(logStream ? { stream: logStream } : {}),
      } as never,
      logController: new OneLinePerRequest(),
      ...requestTimeouts(requestTimeoutMs),
      clientErrorHandler: clientError,
      bodyLimit: LIMIT.small,
      // Path parameters are ids of at most 128 characters (Fastify's default cap is 100, which
      // made projects with longer ids unreachable); longer ones fail as the ids' schemas say.
      routerOptions: { maxParamLength: 256 },
      // A malformed or over-long URL is answered in keel's error shape, not Fastify's.
      // (Fastify answers these before routing, so the security-header hook does not run.)
      frameworkErrors: (error, req, reply) => {
        logWhenSent(req, reply);
        setSecurityHeaders(req, reply);
        errorHandler(error as FastifyError, req, reply);
      },
      trustProxy: options.trustProxy === true ? nearestProxyOnly : options.trustProxy || false,
      ajv: {
        customOptions: {
          removeAdditional: false,
          coerceTypes: false,
          useDefaults: true,
          allErrors: false,
        },
      },
      // Answered by registerClosing instead, in keel's error shape.
      return503OnClosing: false,
    });
    workerDied = (e) =>
      app.log.error({ err: e }, "the ledger append worker died; starting another");
    app.addHook("onRoute", routeContract);
    const ops = collectRoutes(app);
    registerErrors(app);
    registerClosing(app);
    registerSecurityHeaders(app);
    registerStringCheck(app);
    await app.register(fastifyCookie);
    const cache = new AuthCache(options.authCacheMs);
    await app.register(authPlugin(ctx, cache));
    await app.register(healthRoutes(ctx));
    app.get(
      "/openapi.json",
      {
        config: { access: "public", hidden: true },
        bodyLimit: LIMIT.tiny,
        schema: { hide: false },
      },
      async () => openApiDocument(ops),
    );
    await app.register(
      async (api) => {
        await api.register(sessionRoutes(ctx, cache));
        await api.register(userRoutes(ctx, cache));
        await api.register(projectRoutes(ctx));
        await api.register(taskRoutes(ctx));
        await api.register(adminRoutes(ctx));
      },
      { prefix: "/api" },
    );
    if (options.webRoot !== null) await app.register(staticRoutes(options.webRoot));
    else {
      app.setNotFoundHandler(async (req, reply) => {
        const allowed = allowedMethods(app, req);
        if (allowed.length > 0) {
          return reply.send(keelMethodNotAllowed(req, reply, allowed));
        }
        return reply.status(404).send({
          error: {
            code: "KEEL_E_NOT_FOUND",
            message: `no route ${req.method} ${req.url.split("?")[0]}`,
          },
        });
      });
    }
    const sweeps = [
      periodic(options.auditIntervalMs, app.log, "audit sweep failed", async () => {
        for (const q of await ctx.queues.loaded()) {
          const paused = await pauseExcluded(ctx, q);
          if (paused.length > 0)
            app.log.warn({ project: q.project.project_id, paused }, "audit paused raters");
        }
      }),
      periodic(options.sessionSweepMs, app.log, "expired-session sweep failed", () =>
        deleteExpiredSessions(ctx.db, ctx.now()),
      ),
    ];
    app.addHook("onClose", async () => {
      for (const t of sweeps) if (t) clearInterval(t);
      await ctx.committer.drain();
      app.log.info({ commits: ctx.committer.stats }, "group commit totals");
      await ledger.close();
      await ctx.leases.close();
      await ctx.limits.close();
    });
    return { app, ctx };
  } catch (e) {
    await ledger.close().catch(() => {});
    throw e;
  }
}

/**
 * `run` every `ms` (never at 0), one run at a time (a run that outlasts the interval skips the
 * next tick), its failure logged as `failed`; the timer does not keep the process alive.
 */
function periodic(
  ms: number,
  log: FastifyBaseLogger,
  failed: string,
  run: () => Promise<unknown>,
): NodeJS.Timeout | undefined {
  if (ms <= 0) return undefined;
  let running = false;
  const t = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await run();
    } catch (e) {
      log.error({ err: e }, failed);
    } finally {
      running = false;
    }
  }, ms);
  t.unref();
  return t;
}
