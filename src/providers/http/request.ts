/**
 * One HTTP call to an upstream service, made robust: a timeout per attempt, retries with
 * backoff and jitter on what is worth retrying (network errors, timeouts, 408, 409, 425, 429,
 * 5xx), a concurrency limit shared by every call of the client, and every failure as a
 * KeelError (KEEL_E_UPSTREAM, with the upstream's own error message when it sent one).
 * A caller's abort is never retried.
 */
import { KeelError } from "../../core/errors.js";
import type { Limiter } from "./limiter.js";
import { aborted } from "./limiter.js";
import { type Backoff, sleep } from "./retry.js";

export interface HttpClientOptions {
  readonly name: string;
  readonly timeoutMs: number;
  readonly backoff: Backoff;
  readonly limiter: Limiter;
  readonly headers?: Readonly<Record<string, string>>;
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/**
 * Sends the request until it gets an answer that is not worth retrying; returns the Response of
 * a 2xx (its body unread, for streaming) and throws a KeelError otherwise.
 */
export async function send(
  o: HttpClientOptions,
  method: string,
  url: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  return o.limiter.run(async () => {
    const attempts = o.backoff.policy.retries + 1;
    let last: KeelError | undefined;
    for (let k = 1; k <= attempts; k++) {
      if (signal?.aborted) throw aborted(signal);
      // A timer that owns its controller, not AbortSignal.timeout(): combined by
      // AbortSignal.any, nothing else holds that signal, and on Node 20 a garbage collection
      // then drops it before it fires — a stalled upstream held the call (and its slot in the
      // limiter) for good. The timer bounds the whole call, body included, as before.
      const timer = new AbortController();
      const clock = setTimeout(
        () =>
          timer.abort(
            new DOMException(
              `${o.name}: ${method} ${url} timed out after ${o.timeoutMs} ms`,
              "TimeoutError",
            ),
          ),
        o.timeoutMs,
      );
      clock.unref();
      const timeout = timer.signal;
      const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let retryAfter: string | null = null;
      try {
        const res = await fetch(url, {
          method,
          headers: {
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            accept: "application/json, text/event-stream",
            ...o.headers,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: both,
        });
        if (res.ok) return res;
        const text = await readCapped(res, MAX_ERROR_BYTES, o.name).catch(() => "");
        clearTimeout(clock);
        last = upstreamError(o.name, method, url, res.status, text);
        if (!RETRYABLE.has(res.status)) throw last;
        retryAfter = res.headers.get("retry-after");
      } catch (e) {
        clearTimeout(clock);
        if (e === last) throw e;
        if (signal?.aborted) throw aborted(signal);
        last = new KeelError(
          "KEEL_E_UPSTREAM",
          timeout.aborted
            ? `${o.name}: ${method} ${url} timed out after ${o.timeoutMs} ms`
            : `${o.name}: ${method} ${url} failed: ${causeOf(e)}`,
          { cause: e, hint: "check that the service is up and the URL is right" },
        );
      }
      if (k < attempts) await sleep(o.backoff.delay(k, retryAfter), signal);
    }
    throw new KeelError(
      "KEEL_E_UPSTREAM",
      `${last!.message} (gave up after ${attempts} attempt${attempts === 1 ? "" : "s"})`,
      { cause: last, ...(last!.hint ? { hint: last!.hint } : {}) },
    );
  }, signal);
}

/** The upstream's error as a KeelError, quoting its message (OpenAI's {error:{message}} or text). */
export function upstreamError(
  name: string,
  method: string,
  url: string,
  status: number,
  text: string,
): KeelError {
  // Long bodies (tracebacks) keep their end, where the error is.
  const trimmed = text.trim();
  let message = trimmed.length > 500 ? `…${trimmed.slice(-500)}` : trimmed;
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m =
      typeof j.error === "object" && j.error !== null
        ? j.error.message
        : typeof j.error === "string"
          ? j.error
          : j.message;
    if (typeof m === "string") message = m;
  } catch {
    // not JSON: keep the text
  }
  const hint =
    status === 401 || status === 403
      ? "check the API key"
      : status === 404
        ? "check the base URL and the model name"
        : undefined;
  return new KeelError(
    "KEEL_E_UPSTREAM",
    `${name}: ${method} ${url} answered HTTP ${status}${message ? `: ${message}` : ""}`,
    hint ? { hint } : {},
  );
}

function causeOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const c = (e as { cause?: unknown }).cause;
  return c instanceof Error ? `${e.message} (${c.message})` : e.message;
}

/** Largest answer read from an upstream service (bytes): model outputs are far smaller. */
export const MAX_ANSWER_BYTES = 32 << 20;
/** Largest error body read (bytes); only its end is quoted anyway. */
const MAX_ERROR_BYTES = 1 << 20;

/**
 * The body of an upstream's answer as text, refusing one over `max` bytes: the upstream is not
 * trusted, and `res.text()`/`res.json()` would hold whatever it sends (a 1.5 GB answer took
 * keel to 3.2 GB).
 */
export async function readCapped(res: Response, max: number, name: string): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > max) {
        await reader.cancel().catch(() => undefined);
        throw new KeelError(
          "KEEL_E_UPSTREAM",
          `${name}: the answer is larger than ${max >> 20} MiB; refusing to read it`,
        );
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The answer's JSON, or undefined when it is not JSON (a size over the cap still throws). */
export async function readJsonCapped(res: Response, name: string): Promise<unknown> {
  const text = await readCapped(res, MAX_ANSWER_BYTES, name);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
