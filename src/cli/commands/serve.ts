/** `keel serve`: the rater and admin web app and its API over a feedback store. */
import type { Command } from "commander";
import { KeelError } from "../../core/errors.js";
import { PROXY_LIST_MESSAGE, validProxyList } from "../../core/proxy-list.js";
import { addDbOption, numberArg, oneOf, positiveInt } from "../common.js";
import type { CommandModule } from "../registry.js";

/**
 * The servers' log levels (pino's; logLevel in src/server/options.ts), restated so that defining
 * the commands loads no server code. Checked here, a mistyped level is a usage error that names
 * the flag, before the store or a model is opened; past here it was a configuration or internal
 * error. test/cli/serve-options.test.ts checks the list against the server's.
 */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--log-level`, as keel serve, serve-model and serve-rm take it. */
export function logLevelOption(cmd: Command): Command {
  return cmd.option(
    "--log-level <level>",
    "fatal, error, warn, info, debug, trace or silent",
    oneOf("--log-level", LOG_LEVELS),
    "info",
  );
}

/** How long a server waits for open connections after Ctrl-C or SIGTERM (all three servers). */
export function shutdownTimeoutOption(cmd: Command): Command {
  return cmd.option(
    "--shutdown-timeout <seconds>",
    "on Ctrl-C or SIGTERM, wait this long for open connections, then cut them",
    timerSeconds("--shutdown-timeout"),
    10,
  );
}

/** A day: Node fires a timer longer than 2^31 − 1 ms (24.8 days) at once, a 1 ms loop. */
const MAX_TIMER_S = 86_400;

/**
 * A duration in seconds that becomes a timer: at least a millisecond (less rounds to 0 ms) and
 * at most a day; with `zeroMeans`, 0 is allowed and means what it says.
 */
export function timerSeconds(flag: string, zeroMeans?: string): (v: string) => number {
  return (v) => {
    const n = numberArg(v);
    if (Number.isFinite(n) && ((n === 0 && zeroMeans) || (n >= 0.001 && n <= MAX_TIMER_S)))
      return n;
    throw new KeelError(
      "KEEL_E_USAGE",
      `${flag} must be a number of seconds from 0.001 to ${MAX_TIMER_S}${zeroMeans ? ` (or 0 = ${zeroMeans})` : ""}, got ${JSON.stringify(v)}`,
    );
  };
}

/** The most judgments per group commit the server takes (maxBatch in src/server/options.ts). */
const MAX_BATCH = 100_000;

/** The largest per-second rate a flag takes; 0 (no limit) is the way to lift a limit. */
const MAX_RATE = 1_000_000;

function rate(flag: string) {
  return (v: string): number => {
    const n = numberArg(v);
    // The burst is a whole multiple of the rate: past a million a second it stops being one.
    if (!Number.isFinite(n) || n < 0 || n > MAX_RATE) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `${flag} must be a number from 0 to ${MAX_RATE} (requests per second; 0 = no limit), got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
}

function maxBatch(v: string): number {
  const n = positiveInt("--max-batch")(v);
  if (n > MAX_BATCH)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--max-batch must be at most ${MAX_BATCH}, got ${JSON.stringify(v)}`,
    );
  return n;
}

/** `--trust-proxy [addresses]`: the proxies' addresses, checked before anything opens. */
function trustProxyArg(v: string): string {
  if (!validProxyList(v))
    throw new KeelError("KEEL_E_USAGE", `${PROXY_LIST_MESSAGE}, got ${JSON.stringify(v)}`);
  return v;
}

/** `--port`: 0 (any free port) to 65535. */
export function portArg(v: string): number {
  const n = numberArg(v);
  if (n > 65_535)
    throw new KeelError("KEEL_E_USAGE", `--port must be at most 65535, got ${JSON.stringify(v)}`);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new KeelError(
      "KEEL_E_USAGE",
      `--port must be an integer from 0 to 65535, got ${JSON.stringify(v)}`,
    );
  return n;
}

export interface ServeFlags {
  db: string;
  port: number;
  host: string;
  web?: string | false;
  logLevel: LogLevel;
  secureCookies?: boolean;
  trustProxy?: boolean | string;
  rateIp?: number;
  rateUser?: number;
  maxBatch?: number;
  auditInterval?: number;
  redis?: string;
  redisPrefix: string;
  shutdownTimeout: number;
}

export const serveCommand: CommandModule = {
  name: "serve",
  register(program: Command) {
    const cmd = program
      .command("serve")
      .description("serve the rater and admin web app and its API (Ctrl-C stops it cleanly)")
      .option("--port <n>", "TCP port (0 = any free port)", portArg, 8080)
      .option("--host <address>", "address to listen on", "127.0.0.1")
      .option("--web <dir>", "built web app to serve (default: this package's web/dist)")
      .option("--no-web", "serve the API only");
    logLevelOption(cmd)
      .option("--secure-cookies", "mark cookies Secure (when clients reach keel over HTTPS)")
      .option(
        "--trust-proxy [addresses]",
        "behind a reverse proxy: a client's address is the one the proxy adds to X-Forwarded-For (per-address limits); with ADDRESSES (IPs, CIDR ranges, loopback; comma-separated), every hop through those proxies",
        trustProxyArg,
      )
      .option(
        "--rate-ip <n>",
        "requests per second per client address (0 = no limit; default: 50)",
        rate("--rate-ip"),
      )
      .option(
        "--rate-user <n>",
        "requests per second per user (0 = no limit; default: 20)",
        rate("--rate-user"),
      )
      .option(
        "--max-batch <n>",
        `most judgments per group commit, up to ${MAX_BATCH} (default: 1024)`,
        maxBatch,
      )
      .option(
        "--audit-interval <seconds>",
        "audit active projects this often and pause raters it excludes (0 = never; default: 30)",
        timerSeconds("--audit-interval", "never"),
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
      .option("--redis-prefix <prefix>", "prefix of every Redis key", "keel:");
    shutdownTimeoutOption(cmd).addHelpText(
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
