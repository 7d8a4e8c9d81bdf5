/**
 * Server options, validated once at the boundary (zod, unknown keys rejected) and frozen.
 */

import { z } from "zod";
import { KeelError } from "../core/errors.js";
import { zodIssueMessage } from "../core/issue-messages.js";
import { PROXY_LIST_MESSAGE, validProxyList } from "../core/proxy-list.js";
import { MAX_TIMER_MS } from "../providers/http/retry.js";

/** Milliseconds a timer can wait: Node runs a longer setInterval every millisecond instead. */
const TimerMs = z.number().int().nonnegative().max(MAX_TIMER_MS);

const Rule = z.strictObject({
  rate: z.number().nonnegative(),
  burst: z.number().int().positive(),
});

export const ServerOptionsSchema = z.strictObject({
  /** Cookies get the Secure attribute (set behind HTTPS). */
  secureCookies: z.boolean().default(false),
  sessionTtlHours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(12),
  invitationTtlHours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(72),
  rateLimits: z
    .strictObject({
      /** Every request, per client address. */
      ip: Rule.default({ rate: 50, burst: 200 }),
      /** Every authenticated request, per user. */
      user: Rule.default({ rate: 20, burst: 100 }),
      /** Login and invitation attempts, per address and login. */
      login: Rule.default({ rate: 0.2, burst: 10 }),
    })
    .default({
      ip: { rate: 50, burst: 200 },
      user: { rate: 20, burst: 100 },
      login: { rate: 0.2, burst: 10 },
    }),
  scrypt: z
    .strictObject({
      log2N: z.number().int().min(10).max(20),
      r: z.number().int().min(1).max(32),
      p: z.number().int().min(1).max(16),
    })
    .default({ log2N: 15, r: 8, p: 1 }),
  /** Folder of the built web app (index.html and assets); null serves the API only. */
  webRoot: z.string().nullable().default(null),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Most judgments in one group commit. */
  maxBatch: z.number().int().positive().max(100_000).default(1024),
  /** Append judgments to a SQLite file store from a worker thread (see tasks/append.ts). */
  appendWorker: z.boolean().default(true),
  /**
   * Trust X-Forwarded-For from a reverse proxy in front (for per-address limits): `true`, the
   * peer in front only; or the proxies' addresses (IPs, CIDR ranges, `loopback`, `linklocal`,
   * `uniquelocal`, comma-separated), every hop through them (a CDN, then a load balancer).
   */
  trustProxy: z
    .union([z.boolean(), z.string().refine(validProxyList, PROXY_LIST_MESSAGE)])
    .default(false),
  /** How long an authenticated session or token is cached in memory before re-reading (ms). */
  authCacheMs: TimerMs.default(5000),
  /**
   * Delete expired sessions this often (ms; 0 = never). A user's own are also deleted when they
   * sign in; without the sweep, those of a user who never came back stayed in the database.
   */
  sessionSweepMs: TimerMs.default(3_600_000),
  /** Audit each active project this often and pause raters it excludes (ms; 0 = never). */
  auditIntervalMs: TimerMs.default(30_000),
  /** The defenses' policy for live scores and auto-pause. */
  auditPolicy: z.enum(["strict", "balanced", "permissive"]).default("balanced"),
  /** Re-run the live scores at most this often (ms). */
  scoresCacheMs: TimerMs.default(2000),
});

export type ServerOptions = z.input<typeof ServerOptionsSchema>;
export type ResolvedOptions = Readonly<z.output<typeof ServerOptionsSchema>>;

export function resolveOptions(raw: ServerOptions = {}): ResolvedOptions {
  const r = ServerOptionsSchema.safeParse(raw);
  if (!r.success) {
    const { field, message } = zodIssueMessage(r.error);
    throw new KeelError("KEEL_E_CONFIG", `server option ${field}: ${message}`);
  }
  return Object.freeze(r.data);
}
