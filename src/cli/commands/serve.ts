/** `keel serve`: the rater and admin web app and its API over a feedback store. */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { buildApp } from "../../server/app.js";
import { redact, redisServices } from "../../server/redis/index.js";
import { openStore } from "../../store/store.js";
import { addDbOption, positiveInt } from "../common.js";
import { printLine } from "../output.js";
import type { CommandModule } from "../registry.js";

/** web/dist of this package: three levels up from src/cli/commands and dist/cli/commands alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../../../web/dist", import.meta.url));

function rate(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a number ≥ 0 (requests per second; 0 = no limit), got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
}

interface ServeFlags {
  db: string;
  port: number;
  host: string;
  web?: string | false;
  logLevel: string;
  secureCookies?: boolean;
  trustProxy?: boolean;
  rateIp?: number;
  rateUser?: number;
  maxBatch?: number;
  auditInterval?: number;
  redis?: string;
  redisPrefix: string;
}

export const serveCommand: CommandModule = {
  name: "serve",
  register(program: Command) {
    const cmd = program
      .command("serve")
      .description("serve the rater and admin web app and its API (Ctrl-C stops it cleanly)")
      .option(
        "--port <n>",
        "TCP port (0 = any free port)",
        (v) => (v === "0" ? 0 : positiveInt("--port")(v)),
        8080,
      )
      .option("--host <address>", "address to listen on", "127.0.0.1")
      .option("--web <dir>", "built web app to serve (default: this package's web/dist)")
      .option("--no-web", "serve the API only")
      .option("--log-level <level>", "fatal, error, warn, info, debug, trace or silent", "info")
      .option("--secure-cookies", "mark cookies Secure (when clients reach keel over HTTPS)")
      .option("--trust-proxy", "trust X-Forwarded-For from a reverse proxy (per-address limits)")
      .option(
        "--rate-ip <n>",
        "requests per second per client address (0 = no limit)",
        rate("--rate-ip"),
      )
      .option("--rate-user <n>", "requests per second per user (0 = no limit)", rate("--rate-user"))
      .option("--max-batch <n>", "most judgments per group commit", positiveInt("--max-batch"))
      .option(
        "--audit-interval <seconds>",
        "audit active projects this often and pause raters it excludes (0 = never)",
        rate("--audit-interval"),
      )
      .option(
        "--redis <url>",
        "share leases and rate limits with other keel serve processes through Redis (env KEEL_REDIS)",
        process.env.KEEL_REDIS,
      )
      .option("--redis-prefix <prefix>", "prefix of every Redis key", "keel:")
      .addHelpText(
        "after",
        "\nExamples:\n  keel init && keel users add admin --role owner --password-stdin && keel serve\n" +
          "  keel serve --db postgres://keel@db/keel --host 0.0.0.0 --port 8080 --secure-cookies --trust-proxy\n" +
          "  keel serve --db postgres://keel@db/keel --redis redis://cache:6379 --port 8081   # one of several",
      );
    addDbOption(cmd).action(async (o: ServeFlags) => {
      let webRoot: string | null = null;
      if (o.web !== false) {
        webRoot = o.web ?? DEFAULT_WEB_ROOT;
        if (!existsSync(webRoot)) {
          throw new KeelError("KEEL_E_FILE", `no built web app at ${webRoot}`, {
            hint: "run `npm run build`, pass --web <dir>, or serve the API only with --no-web",
          });
        }
      }
      const store = await openStore(o.db, { create: true });
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
      try {
        const shared = o.redis
          ? await redisServices({ url: o.redis, prefix: o.redisPrefix })
          : undefined;
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
        await store.close();
        throw e;
      }
      const { app } = keel;
      const address = await app.listen({ port: o.port, host: o.host });
      printLine(
        `keel serving ${store.location} (${store.dialectName}${o.redis ? `, shared through ${redact(o.redis)}` : ""}) on ${address}`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await app.close();
      await store.close();
      printLine("keel stopped");
    });
  },
};
