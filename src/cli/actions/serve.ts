/** `keel serve`'s action: open the store, build the Fastify app, listen until Ctrl-C. */

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KeelError } from "../../core/errors.js";
import { buildApp } from "../../server/app.js";
import { redact, redisServices } from "../../server/redis/index.js";
import { openStore } from "../../store/store.js";
import type { ServeFlags } from "../commands/serve.js";
import { printLine, warn } from "../output.js";
import { closeWithin, listenOrExplain, untilSignal } from "./serving.js";

/** web/dist of this package: three levels up from src/cli/actions and dist/cli/actions alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../../../web/dist", import.meta.url));

/**
 * A SQLite store other users of the machine can read gives them the password hashes and the
 * secret that tells gold items apart (`keel init` makes new ones owner-only; older ones are not).
 */
function warnIfShared(store: { dialectName: string; location: string }): void {
  if (store.dialectName !== "sqlite" || store.location === ":memory:") return;
  const mode = statSync(store.location).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  warn(
    `warning: ${store.location} is readable by other users of this machine (mode ${mode.toString(8)}), and it holds password hashes and the server's secret: chmod 600 ${store.location}`,
  );
}

export async function runServe(o: ServeFlags): Promise<void> {
  let webRoot: string | null = null;
  if (o.web !== false) {
    webRoot = o.web ?? DEFAULT_WEB_ROOT;
    // Checked before the store opens and the app starts its ledger worker: the app found a
    // missing index.html only once that worker ran, and the failed start left it running (the
    // process did not end after printing the error).
    const index = join(webRoot, "index.html");
    if (!existsSync(index)) {
      throw new KeelError(
        "KEEL_E_FILE",
        existsSync(webRoot)
          ? `the web app is not built: ${index} is missing`
          : `no built web app at ${webRoot}`,
        { hint: "run `npm run build`, pass --web <dir>, or serve the API only with --no-web" },
      );
    }
  }
  // Like every command but init, serve opens an existing store: a mistyped --db would
  // otherwise serve a new, empty one that nobody can sign in to.
  const store = await openStore(o.db);
  warnIfShared(store);
  const r = {
    ip: { rate: 50, burst: 200 },
    user: { rate: 20, burst: 100 },
    login: { rate: 0.2, burst: 10 },
  };
  if (o.rateIp !== undefined)
    r.ip = { rate: o.rateIp, burst: Math.max(1, Math.ceil(o.rateIp * 4)) };
  if (o.rateUser !== undefined)
    r.user = { rate: o.rateUser, burst: Math.max(1, Math.ceil(o.rateUser * 5)) };
  if (o.redis && store.dialectName !== "postgres") {
    await store.close();
    throw new KeelError(
      "KEEL_E_USAGE",
      "--redis shares state between processes: use it with a PostgreSQL --db",
      {
        hint: "several processes need one PostgreSQL store; a SQLite file serves one process",
      },
    );
  }
  let keel: Awaited<ReturnType<typeof buildApp>>;
  let shared: Awaited<ReturnType<typeof redisServices>> | undefined;
  try {
    shared = o.redis ? await redisServices({ url: o.redis, prefix: o.redisPrefix }) : undefined;
    keel = await buildApp(store, {
      ...(shared ? { leases: shared.leases, limits: shared.limits } : {}),
      webRoot,
      logLevel: o.logLevel as never,
      secureCookies: o.secureCookies ?? false,
      trustProxy: o.trustProxy ?? false,
      rateLimits: r,
      ...(o.maxBatch !== undefined ? { maxBatch: o.maxBatch } : {}),
      ...(o.auditInterval !== undefined
        ? { auditIntervalMs: Math.round(o.auditInterval * 1000) }
        : {}),
    });
  } catch (e) {
    // The app closes the Redis services it was given; one that was never built cannot, and its
    // open connection would keep the process running after the error.
    await shared?.leases.close().catch(() => undefined);
    await shared?.limits.close().catch(() => undefined);
    await store.close();
    throw e;
  }
  const { app } = keel;
  const address = await listenOrExplain(app, { port: o.port, host: o.host }, async () => {
    await app.close();
    await store.close();
  });
  printLine(
    `keel serving ${store.location} (${store.dialectName}${o.redis ? `, shared through ${redact(o.redis)}` : ""}) on ${address}`,
  );
  await untilSignal();
  await closeWithin(app, Math.round(o.shutdownTimeout * 1000));
  await store.close();
  printLine("keel stopped");
}
