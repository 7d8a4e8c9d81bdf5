/**
 * How many requests a model server (serve-model, serve-rm) admits at once. A request holds its
 * slot from its first byte, before its body is read, until its response ends or its client
 * leaves, so the cap bounds request bodies being received as well as work in progress: at most
 * `max` × the body limit of memory in bodies, whatever the clients do.
 */
import type { onRequestAsyncHookHandler } from "fastify";
import { KeelError } from "../../core/errors.js";

export type Admission =
  | { readonly ok: true; readonly leave: () => void }
  | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * At most `max` requests admitted at once. A refused caller is told to come back after about
 * one typical request's duration (an exponential moving average of admitted requests, α = 0.2),
 * between 1 and 60 seconds: that is when the oldest admitted request is likely to be done.
 */
export class PendingLimit {
  private admitted = 0;
  private meanMs: number | undefined;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new KeelError("KEEL_E_CONFIG", `max pending must be a positive integer, got ${max}`);
  }

  get pending(): number {
    return this.admitted;
  }

  enter(nowMs: () => number = Date.now): Admission {
    if (this.admitted >= this.max) {
      const s = Math.ceil((this.meanMs ?? 1000) / 1000);
      return { ok: false, retryAfterSeconds: Math.min(60, Math.max(1, s)) };
    }
    this.admitted++;
    const start = nowMs();
    let left = false;
    return {
      ok: true,
      leave: () => {
        if (left) return;
        left = true;
        this.admitted--;
        const ms = nowMs() - start;
        this.meanMs = this.meanMs === undefined ? ms : 0.8 * this.meanMs + 0.2 * ms;
      },
    };
  }
}

/**
 * A route's onRequest hook that admits its request into `limit`, or refuses it at once — before
 * its body is read — with `refusal` (given the seconds to wait) and a Retry-After header. The
 * slot is freed when the response ends or the client leaves.
 */
export function admitInto(
  limit: PendingLimit,
  refusal: (retryAfterSeconds: number) => KeelError,
): onRequestAsyncHookHandler {
  return async (_req, reply) => {
    const a = limit.enter();
    if (!a.ok) {
      reply.header("retry-after", String(a.retryAfterSeconds));
      throw refusal(a.retryAfterSeconds);
    }
    reply.raw.once("close", a.leave);
  };
}
