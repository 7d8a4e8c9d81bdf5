/** `keel serve`: the rater and admin web app and its API over a feedback store. */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { addDbOption, numberArg, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

function rate(flag: string) {
  return (v: string): number => {
    const n = numberArg(v);
    if (!Number.isFinite(n) || n < 0) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a number ≥ 0 (requests per second; 0 = no limit), got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
}

export interface ServeFlags {
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
      )
      // Read when the command runs, not as the option's default: the help would print it, and
      // a Redis URL may hold a password.
      .hook("preAction", (c) => {
        const env = process.env.KEEL_REDIS;
        if (env !== undefined && env !== "" && c.getOptionValueSource("redis") === undefined)
          c.setOptionValueWithSource("redis", env, "env");
      })
      .option("--redis-prefix <prefix>", "prefix of every Redis key", "keel:")
      .addHelpText(
        "after",
        "\nExamples:\n  keel init && keel users add admin --role owner --password-stdin && keel serve\n" +
          "  keel serve --db postgres://keel@db/keel --host 0.0.0.0 --port 8080 --secure-cookies --trust-proxy\n" +
          "  keel serve --db postgres://keel@db/keel --redis redis://cache:6379 --port 8081   # one of several",
      );
    addDbOption(cmd).action(async (o: ServeFlags) => {
      const { runServe } = await import("../actions/serve.js");
      await runServe(o);
    });
  },
};
