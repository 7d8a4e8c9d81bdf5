/** `GET /healthz` for load balancers: 200 when the store answers, 503 otherwise. */
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
          summary: "liveness and store reachability",
          response: responses(
            z.object({ status: z.literal("ok"), store: z.string(), ledger_seq: z.number() }),
          ),
        },
      },
      async () => {
        const head = await ctx.store.ledgerHead();
        return { status: "ok" as const, store: ctx.store.dialectName, ledger_seq: head.seq };
      },
    );
  };
}
