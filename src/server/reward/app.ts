/**
 * `keel serve-rm`: a reward service speaking OpenRLHF's remote reward-model protocol (its
 * `--remote_rm_url`; request and answer as in OpenRLHF 0.8.5's `openrlhf/utils/remote_rm_utils.py`
 * and `openrlhf/cli/serve_rm.py`):
 *
 *   POST /get_reward  {"query": [str], "prompts": [str], "labels": [str|null]?}
 *     → 200 {"rewards": [float], "scores": [float], "extra_logs": {name: [float]}}
 *
 * A query is the prompt followed by the response, as the trainer decoded it; the response is
 * what follows the prompt (after stripping the `strip` strings, e.g. pad and end-of-text
 * tokens, from both ends of query and prompt). Items of concurrent requests are scored in
 * shared batches (batcher.ts) by the combined scorer (scorer.ts). `extra_logs` carries each
 * part per item (`reward_model`, `cost`, `unsafe`; 0 for an item not scored) and `failed`, the
 * same keys in every answer, an empty request's included (at most MAX_PART_NAMES of them: a
 * reward model's extra that first appears past that is left out).
 *
 * Failures: without `failClosed`, a request any of whose items cannot be scored (unsplittable
 * query, a model error, the timeout) is answered with an error status, which OpenRLHF retries
 * and then stops the run on. With `failClosed`, those items get the floor reward instead and
 * `failed` = 1, so training goes on but never credits a response nobody could check. There is
 * no fail-open mode. A request that times out, or whose client leaves, takes its items that have
 * not started scoring off the batcher's queue: they are never scored.
 *
 * Bounded queue: at most `maxQueuedItems` items wait for a batch across all requests (default
 * four of the largest requests). A request that would pass that is refused before any of its
 * items are queued, with 503 and Retry-After; OpenRLHF's client retries any error status after
 * 1 s, up to five attempts. Requests already queued are unaffected. A request larger than the
 * cap itself gets 413: waiting would never make it fit.
 *
 * Bounded requests: at most `maxPending` requests are admitted at once, each from its first
 * byte (its body still arriving counts) until its answer is sent or its client leaves; one
 * more is refused before its body is read, also with 503 and Retry-After. That bounds the
 * memory held in request bodies to `maxPending` × the body limit, whatever clients send; and a
 * request must arrive whole within the request timeout (120 s, else 408), so that stalled
 * uploads cannot hold those places for ever.
 *
 * Every answer outside a route (a body that is not JSON: 415, a malformed URL, the shutdown,
 * a request too slow or not HTTP) is in keel's error shape, as `keel serve` answers it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { ERROR_CATALOGUE, KeelError } from "../../core/errors.js";
import { zodIssueMessage } from "../../core/issue-messages.js";
import {
  DEFAULT_MAX_ITEMS,
  DEFAULT_MAX_QUEUED_ITEMS,
  DEFAULT_RM_BODY_LIMIT,
  DEFAULT_RM_MAX_PENDING,
} from "../../core/serving-limits.js";
import { MAX_TIMER_MS } from "../../providers/http/retry.js";
import { asKeelError, type RewardItem } from "../../providers/types.js";
import { clientError, registerClosing, requestTimeouts } from "../http/connections.js";
import { jsonBodiesOnly, tooLargeMessage, unsupportedMediaType } from "../http/errors.js";
import { allowedMethods, keelMethodNotAllowed } from "../http/methods.js";
import { admitInto, PendingLimit } from "../limits/pending.js";
import { Batcher, QueueFullError } from "./batcher.js";
import type { CombinedScorer, ScoredItem } from "./scorer.js";

export interface RewardAppOptions {
  readonly scorer: CombinedScorer;
  /** The most items scored in one batch (default 64). */
  readonly maxBatch?: number;
  /** Unscorable items get `floor` instead of failing the request. */
  readonly failClosed?: boolean;
  readonly floor: number;
  /** Per request (default 120 s). */
  readonly timeoutMs?: number;
  /** Strings stripped from both ends of every query and prompt (pad / eos tokens). */
  readonly strip?: readonly string[];
  readonly apiKey?: string;
  /** The most queries in one request (default 8192). */
  readonly maxItems?: number;
  /** The most items waiting for a batch across requests (default 32768); more get 503. */
  readonly maxQueuedItems?: number;
  /** The most requests admitted at once, bodies still arriving included (default 32). */
  readonly maxPending?: number;
  readonly logLevel?: string;
  readonly logStream?: NodeJS.WritableStream;
  /** The largest request body in bytes (default 64 MiB). */
  readonly bodyLimit?: number;
  /** How long a client may take to send a whole request (default 120 s; tests shorten it). */
  readonly requestTimeoutMs?: number;
}

export const RewardRequest = z.strictObject({
  query: z.array(z.string()),
  prompts: z.array(z.string()),
  labels: z.array(z.string().nullable()).nullish(),
});

/** `text` with the strip strings removed from both ends, repeatedly. */
export function stripEnds(text: string, strip: readonly string[]): string {
  let t = text;
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of strip) {
      if (s === "") continue;
      while (t.startsWith(s)) {
        t = t.slice(s.length);
        changed = true;
      }
      while (t.endsWith(s)) {
        t = t.slice(0, -s.length);
        changed = true;
      }
    }
  }
  return t;
}

/** The response inside a query: what follows the prompt (undefined when the prompt is absent). */
export function splitQuery(
  query: string,
  prompt: string,
  strip: readonly string[],
): string | undefined {
  const q = stripEnds(query, strip);
  const p = stripEnds(prompt, strip);
  if (q.startsWith(p)) return q.slice(p.length);
  const at = q.indexOf(p);
  return at < 0 ? undefined : q.slice(at + p.length);
}

/**
 * A signal that aborts after `ms` or when the client goes away before its answer is sent, with
 * the reason as a catalogue error; `done()` disarms it. The batcher drops the request's
 * unstarted items on abort, so nobody's time is spent scoring an answer nobody will read.
 */
function requestSignal(reply: FastifyReply, ms: number): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const t = setTimeout(
    () => ac.abort(new KeelError("KEEL_E_TIMEOUT", `scoring did not finish within ${ms} ms`)),
    ms,
  );
  const onClose = () => {
    if (!reply.raw.writableFinished)
      ac.abort(new KeelError("KEEL_E_INTERRUPTED", "the client closed the connection"));
  };
  reply.raw.once("close", onClose);
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(t);
      reply.raw.off("close", onClose);
    },
  };
}

/** The refusal of a request the queue has no room for: 503 with Retry-After. */
function busy(reply: FastifyReply, e: QueueFullError): KeelError {
  reply.header("retry-after", String(e.retryAfterSeconds));
  return new KeelError(
    "KEEL_E_BUSY",
    `the server is busy: ${e.queued} items are waiting to be scored and this request's ${e.asked} would pass the cap of ${e.maxQueued} (--max-queued-items); retry after ${e.retryAfterSeconds} s`,
    { hint: "nothing of this request was queued or scored; send it again" },
  );
}

/**
 * The items of a request to score, each with its index in the request (`at`); without
 * `failClosed`, a query that does not contain its prompt fails the request, with it the query
 * is marked `failed` and left out.
 */
function requestItems(
  body: unknown,
  o: RewardAppOptions,
  limits: { readonly maxItems: number; readonly maxQueued: number },
  strip: readonly string[],
) {
  const { maxItems, maxQueued } = limits;
  const parsed = RewardRequest.safeParse(body);
  if (!parsed.success) {
    const { field, message, issue } = zodIssueMessage(parsed.error, {
      input: body,
      schema: RewardRequest,
    });
    // "(record)" is the body as a whole: an unknown field is named by itself, and a body that
    // is not an object at all names no field.
    const named =
      field !== "(record)"
        ? field
        : issue?.code === "unrecognized_keys"
          ? issue.keys[0]
          : undefined;
    throw new KeelError("KEEL_E_INVALID_RECORD", message, named ? { where: { field: named } } : {});
  }
  const { query, prompts, labels } = parsed.data;
  const n = query.length;
  if (prompts.length !== n || (labels != null && labels.length !== n))
    throw new KeelError(
      "KEEL_E_INVALID_RECORD",
      `query, prompts and labels must have one entry per item (got ${n}, ${prompts.length}, ${labels?.length ?? "none"})`,
    );
  if (n > maxItems)
    throw new KeelError(
      "KEEL_E_TOO_LARGE",
      `${n} queries in one request; the most is ${maxItems}${maxItems === maxQueued ? " (--max-queued-items)" : ""}`,
    );
  const items: RewardItem[] = [];
  const at: number[] = [];
  const failed = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const response = splitQuery(query[i]!, prompts[i]!, strip);
    if (response === undefined) {
      if (!o.failClosed)
        throw new KeelError("KEEL_E_INVALID_RECORD", `query ${i} does not contain its prompt`, {
          where: { field: `query.${i}` },
          hint: "send the prompt followed by the response, or list the tokens to strip (--strip)",
        });
      failed[i] = 1;
      continue;
    }
    const label = labels?.[i];
    items.push({
      prompt: stripEnds(prompts[i]!, strip),
      response,
      ...(label != null ? { label } : {}),
    });
    at.push(i);
  }
  return { n, items, at, failed };
}

/**
 * The most extra_logs names the service keeps: the scorer's parts and the reward model's extras
 * as they appear. A reward model that named a new extra in each answer (a remote one is not
 * keel's) would otherwise grow the set for as long as the service runs, and every answer with
 * it, since every answer carries every name. Names past the cap are left out of every answer.
 */
export const MAX_PART_NAMES = 64;

/**
 * Rewards (the floor where none was scored) and extra_logs, with every part name seen (up to
 * MAX_PART_NAMES); `onDropped` is told of the first name left out.
 */
function answerOf(
  n: number,
  floor: number,
  at: readonly number[],
  scored: readonly ScoredItem[] | undefined,
  partNames: Set<string>,
  onDropped: (name: string) => void,
) {
  const rewards = new Array<number>(n).fill(floor);
  for (const s of scored ?? [])
    for (const name of Object.keys(s.parts)) {
      if (partNames.has(name)) continue;
      if (partNames.size < MAX_PART_NAMES) partNames.add(name);
      else onDropped(name);
    }
  // Every answer carries the same extra_logs keys, an empty or all-failed request's included:
  // the trainer gathers each key across answers, and a key missing from one breaks that.
  const logs: Record<string, number[]> = {};
  for (const name of partNames) logs[name] = new Array<number>(n).fill(0);
  scored?.forEach((s, k) => {
    const i = at[k]!;
    rewards[i] = s.reward;
    for (const [name, v] of Object.entries(s.parts)) {
      const log = logs[name];
      if (log) log[i] = v;
    }
  });
  return { rewards, logs };
}

/** Every failure in keel's error shape with a catalogue code, as keel serve answers. */
function answerError(error: unknown, req: FastifyRequest, reply: FastifyReply) {
  const fe = error as { code?: string; statusCode?: number; message: string };
  if (!(error instanceof KeelError) && fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    const m = unsupportedMediaType(req);
    return reply.status(m.status).send({ error: { code: m.code, message: m.message } });
  }
  const e =
    error instanceof KeelError
      ? error
      : fe.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? new KeelError("KEEL_E_TOO_LARGE", tooLargeMessage(req))
        : typeof fe.statusCode === "number" && fe.statusCode < 500
          ? new KeelError("KEEL_E_INVALID_RECORD", fe.message)
          : asKeelError(error);
  if (e.httpStatus < 500 || e.code === "KEEL_E_BUSY")
    return reply.status(e.httpStatus).send({ error: e.toJSON() });
  // A failure on the server's side names files, models and upstreams: the log has it, the
  // client gets the catalogue's title (as from keel serve and serve-model).
  req.log.error({ err: e }, "reward request failed");
  return reply.status(e.httpStatus).send({
    error: {
      code: e.code,
      message: `${ERROR_CATALOGUE[e.code].title}; try again later (the server log has the details)`,
    },
  });
}

export async function buildRewardApp(
  o: RewardAppOptions,
): Promise<{ app: FastifyInstance; batcher: Batcher<RewardItem, ScoredItem> }> {
  const app = Fastify({
    logger: {
      level: o.logLevel ?? "info",
      ...(o.logStream ? { stream: o.logStream } : {}),
    } as never,
    bodyLimit: o.bodyLimit ?? DEFAULT_RM_BODY_LIMIT,
    ...requestTimeouts(o.requestTimeoutMs),
    clientErrorHandler: clientError,
    // A malformed URL, which Fastify answers before routing, in the same shape as every other
    // error (Fastify's own shape had no KEEL_E_* code).
    frameworkErrors: (error, req, reply) => answerError(error, req, reply),
    // Answered by registerClosing instead, in keel's error shape with Retry-After.
    return503OnClosing: false,
  });
  const maxQueued = o.maxQueuedItems ?? DEFAULT_MAX_QUEUED_ITEMS;
  if (!Number.isInteger(maxQueued) || maxQueued < 1)
    throw new KeelError(
      "KEEL_E_CONFIG",
      `max queued items must be a positive integer, got ${maxQueued}`,
    );
  const timeoutMs = o.timeoutMs ?? 120_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMER_MS)
    throw new KeelError(
      "KEEL_E_CONFIG",
      `the request timeout must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${timeoutMs}`,
    );
  const maxItems = Math.min(o.maxItems ?? DEFAULT_MAX_ITEMS, maxQueued);
  const batcher = new Batcher<RewardItem, ScoredItem>(
    (b) => o.scorer.score(b),
    o.maxBatch ?? 64,
    maxQueued,
  );
  const pending = new PendingLimit(o.maxPending ?? DEFAULT_RM_MAX_PENDING);
  const strip = o.strip ?? [];
  /** The extra_logs keys of every answer: the scorer's parts, and any it has reported since. */
  const partNames = new Set(o.scorer.partNames);
  /** Whether a name past MAX_PART_NAMES was left out (it is logged once). */
  let droppedName = false;
  const keyDigest = o.apiKey ? createHash("sha256").update(o.apiKey).digest() : undefined;

  // Before the API key is checked: a request turned away for the shutdown needs no key.
  registerClosing(app);
  jsonBodiesOnly(app);
  app.setErrorHandler(answerError);
  const notFound = (req: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(app, req);
    if (allowed.length > 0) {
      return reply.send(keelMethodNotAllowed(req, reply, allowed));
    }
    const e = new KeelError("KEEL_E_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`, {
      hint: "POST /get_reward, GET /healthz",
    });
    return reply.status(e.httpStatus).send({ error: e.toJSON() });
  };
  app.setNotFoundHandler(notFound);
  app.addHook("onRequest", async (req) => {
    // The route, not the URL: "/healthz?probe=1" is the health check too.
    if (!keyDigest || req.routeOptions.url === "/healthz") return;
    const h = req.headers.authorization ?? "";
    const given = createHash("sha256")
      .update(h.startsWith("Bearer ") ? h.slice(7) : "")
      .digest();
    if (!timingSafeEqual(given, keyDigest))
      throw new KeelError(
        "KEEL_E_UNAUTHORIZED",
        "missing or wrong API key (Authorization: Bearer …)",
      );
  });

  // After the API key, and before the body is read: the not-found route would read and parse it
  // up to the body limit (64 MiB by default), outside the `maxPending` bound on bodies held.
  app.addHook("onRequest", async (req, reply) => (req.is404 ? notFound(req, reply) : undefined));

  // Open to anyone even with an API key: the scorer's id (which names the model's path on
  // this machine) only without one.
  app.get("/healthz", { bodyLimit: 1024 }, async () => ({
    ok: true,
    ...(keyDigest ? {} : { scorer: o.scorer.id }),
    batches: batcher.stats,
    requests: { pending: pending.pending, maxPending: pending.max },
  }));

  /** Reward requests past `maxPending` are refused at once, before their bodies are read. */
  const admit = admitInto(
    pending,
    (s) =>
      new KeelError(
        "KEEL_E_BUSY",
        `the server is busy: ${pending.max} reward request${pending.max === 1 ? " is" : "s are"} already being received or scored, its limit (--max-pending); retry after ${s} s`,
        { hint: "nothing of this request was read or scored; send it again" },
      ),
  );

  app.post("/get_reward", { onRequest: admit }, async (req, reply) => {
    const { n, items, at, failed } = requestItems(req.body, o, { maxItems, maxQueued }, strip);
    let scored: ScoredItem[] | undefined;
    const { signal, done } = requestSignal(reply, timeoutMs);
    try {
      scored = await batcher.submit(items, signal);
    } catch (e) {
      if (e instanceof QueueFullError) throw busy(reply, e);
      if (!o.failClosed) throw asKeelError(e);
      req.log.warn(
        { err: asKeelError(e), items: items.length },
        "scoring failed; fail-closed floor given",
      );
      for (const i of at) failed[i] = 1;
    } finally {
      done();
    }
    const { rewards, logs } = answerOf(n, o.floor, at, scored, partNames, (name) => {
      if (droppedName) return;
      droppedName = true;
      req.log.warn(
        { name, kept: MAX_PART_NAMES },
        "the reward model names more extra_logs than the service keeps; later names are left out of every answer",
      );
    });
    const nFailed = failed.reduce((s, f) => s + f, 0);
    if (nFailed > 0) req.log.warn({ failed: nFailed, of: n }, "items given the fail-closed floor");
    return { rewards, scores: rewards, extra_logs: { ...logs, failed } };
  });

  app.addHook("onClose", async () => {
    app.log.info({ batches: batcher.stats }, "reward batches");
  });
  return { app, batcher };
}
