/**
 * Health. `GET /healthz` is for load balancers and anyone else: 200 `{"status": "ok"}` when the
 * server is up and its store answers a query, 503 otherwise; it says nothing more, because a
 * public caller has no use for the store's kind or the ledger's length (before 2026-12-07 it
 * showed both, and so told anyone how many judgments were being collected, and how fast).
 * `GET /api/health` gives admins the details: the store's dialect, the ledger's last sequence
 * number and the group commit's totals.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ServerContext } from "../context.js";
import { LIMIT, responses } from "./schema.js";

export function healthRoutes(ctx: ServerContext) {
  return async (app: FastifyInstance) => {
    app.get(
      "/healthz",
      {
        config: { access: "public" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "liveness and store reachability (no details: see /api/health)",
          response: responses(z.strictObject({ status: z.literal("ok") })),
        },
      },
      async () => {
        await ctx.store.ledgerHead();
        return { status: "ok" as const };
      },
    );

    app.get(
      "/api/health",
      {
        config: { access: "admin" },
        bodyLimit: LIMIT.tiny,
        schema: {
          summary: "the server's health with details: store, ledger head, group commit totals",
          response: responses(
            z.object({
              status: z.literal("ok"),
              store: z.string(),
              ledger_seq: z.number(),
              commits: z.object({
                commits: z.number(),
                judgments: z.number(),
                maxBatch: z.number(),
              }),
            }),
          ),
        },
      },
      async () => {
        const head = await ctx.store.ledgerHead();
        return {
          status: "ok" as const,
          store: ctx.store.dialectName,
          ledger_seq: head.seq,
          commits: ctx.committer.stats,
        };
      },
    );
  };
}
