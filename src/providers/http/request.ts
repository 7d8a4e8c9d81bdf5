/**
 * One HTTP call to an upstream service, made robust: a timeout per attempt, retries with
 * backoff and jitter on what is worth retrying (network errors, timeouts, 408, 409, 425, 429,
 * 5xx), a concurrency limit shared by every call of the client, and every failure as a
 * KeelError (KEEL_E_UPSTREAM, with the upstream's own error message when it sent one).
 * A caller's abort is never retried.
 */
import { KeelError } from "../../core/errors.js";
import { printable } from "../../core/printable.js";
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
 * What fetch accepts in a header (RFC 9110 §5.1, §5.5): a name of token characters; a value of
 * Latin-1 characters without CR, LF or NUL once its surrounding whitespace is dropped (as fetch
 * drops it: a key file's final newline is fine). Checked with the config, since fetch would
 * refuse every call instead, as a network error, retried.
 */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const HEADER_VALUE_RULE = "must be Latin-1 text without line breaks or NUL";
export function isHeaderValue(v: string): boolean {
  return /^[^\r\n\u0000\u0100-\uffff]*$/.test(v.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, ""));
}

/**
 * A user name or password in an upstream's URL: fetch refuses such a URL (on every call, as a
 * network error, retried), and every message naming the URL would print the secret. Checked
 * with the config, where the message names the field but not the URL.
 */
export const URL_CREDENTIALS_RULE =
  "must not carry a user name or password (fetch refuses them, and URLs are printed in messages); send the key as a header";
export function hasNoCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username === "" && u.password === "";
  } catch {
    return true;
  }
}

/**
 * Sends the request until it gets an answer that is not worth retrying; returns the Response of
 * a 2xx (its body unread, for streaming) and throws a KeelError otherwise. The call keeps its
 * slot in the limiter until that body is read to its end, fails, or is cancelled: an upstream
 * that sends its headers at once (every stream does) still counts until it has answered.
 */
export async function send(
  o: HttpClientOptions,
  method: string,
  url: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  const release = await o.limiter.acquire(signal);
  let held = false;
  try {
    const attempts = o.backoff.policy.retries + 1;
    let last: KeelError | undefined;
    for (let k = 1; k <= attempts; k++) {
      if (signal?.aborted) throw aborted(signal);
      // One controller per attempt, aborted by its own timer or by the caller's signal. Not
      // AbortSignal.timeout() combined by AbortSignal.any: nothing else held that signal, and
      // on Node 20 a garbage collection dropped it before it fired (a stalled upstream held
      // the call, and its slot in the limiter, for good). Nor AbortSignal.any at all: on
      // Node 20 each call adds an entry to the caller's signal that is never removed, and a
      // command's one Ctrl-C signal is passed to every call of a long run (on Node 20.20,
      // 100,000 calls left 100,000 entries). The caller's listener is removed when the attempt
      // ends, or, for an answer returned unread, when its body does. The timer bounds the
      // whole call, body included.
      const attempt = linkedAttempt(
        signal,
        o.timeoutMs,
        () =>
          new DOMException(
            `${o.name}: ${method} ${url} timed out after ${o.timeoutMs} ms`,
            "TimeoutError",
          ),
      );
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
          signal: attempt.signal,
          // A redirect would resend the request (its prompts, a 307's body) to whatever address
          // the upstream names, another host included: refused, naming where it pointed.
          redirect: "manual",
        });
        if (res.ok) {
          held = true;
          return holdUntilRead(res, release, attempt);
        }
        if (res.status >= 300 && res.status < 400) {
          await res.body?.cancel().catch(() => undefined);
          attempt.end();
          last = redirectError(o.name, method, url, res.status, res.headers.get("location"));
          throw last;
        }
        const text = await readCapped(res, MAX_ERROR_BYTES, o.name).catch(() => "");
        attempt.end();
        last = upstreamError(o.name, method, url, res.status, scrub(text, o.headers));
        if (!RETRYABLE.has(res.status)) throw last;
        retryAfter = res.headers.get("retry-after");
      } catch (e) {
        attempt.end();
        if (e === last) throw e;
        if (signal?.aborted) throw aborted(signal);
        last = new KeelError(
          "KEEL_E_UPSTREAM",
          attempt.timedOut
            ? `${o.name}: ${method} ${url} timed out after ${o.timeoutMs} ms`
            : `${o.name}: ${method} ${url} failed: ${causeOf(e)}`,
          { cause: e, hint: "check that the service is up and the URL is right" },
        );
      }
      // The wait rejects with the signal's own reason (a DOMException): an interruption here
      // is one as much as during the call.
      if (k < attempts)
        await sleep(o.backoff.delay(k, retryAfter), signal).catch(() => {
          throw aborted(signal!);
        });
    }
    throw new KeelError(
      "KEEL_E_UPSTREAM",
      `${last!.message} (gave up after ${attempts} attempt${attempts === 1 ? "" : "s"})`,
      { cause: last, ...(last!.hint ? { hint: last!.hint } : {}) },
    );
  } finally {
    if (!held) release();
  }
}

/**
 * One attempt's abort signal: aborted after `timeoutMs` (with `timedOut()`'s reason) or when the
 * caller's `signal` aborts (with its reason). `end()` stops both: the timer and the listener on
 * the caller's signal, which outlives the attempt. Until then the timer holds the controller,
 * so no garbage collection can drop it.
 */
interface Attempt {
  readonly signal: AbortSignal;
  /** Whether the attempt's own timer fired (not the caller's abort). */
  readonly timedOut: boolean;
  end(): void;
}

function linkedAttempt(
  caller: AbortSignal | undefined,
  timeoutMs: number,
  timedOut: () => DOMException,
): Attempt {
  const ac = new AbortController();
  let fired = false;
  const clock = setTimeout(() => {
    fired = true;
    ac.abort(timedOut());
  }, timeoutMs);
  clock.unref();
  const onAbort = () => ac.abort(caller!.reason);
  caller?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: ac.signal,
    get timedOut() {
      return fired;
    },
    end() {
      clearTimeout(clock);
      caller?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * `res` with a body that gives the limiter slot back, and ends the attempt, when it ends, fails
 * or is cancelled — or, should nobody read it, when the attempt is aborted (its timeout, or the
 * caller's abort, which also errors the body).
 */
function holdUntilRead(res: Response, giveBack: () => void, attempt: Attempt): Response {
  const release = () => {
    attempt.signal.removeEventListener("abort", release);
    attempt.end();
    giveBack();
  };
  if (!res.body) {
    release();
    return res;
  }
  const reader = res.body.getReader();
  attempt.signal.addEventListener("abort", release, { once: true });
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          c.close();
        } else c.enqueue(value);
      } catch (e) {
        release();
        c.error(e);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

/**
 * `text` with the client's header values (its API key above all) written as "***": an upstream
 * may echo what it was sent ("invalid token sk-…"), and its message goes to the terminal and to
 * logs. Short values (under 8 characters) are left, since they would match ordinary words.
 */
export function scrub(text: string, headers: Readonly<Record<string, string>> = {}): string {
  let out = text;
  for (const v of Object.values(headers)) {
    const value = v.trim();
    for (const secret of [value, value.replace(/^(?:Bearer|Basic|Token)\s+/i, "")])
      if (secret.length >= 8) out = out.replaceAll(secret, "***");
  }
  return out;
}

/** An upstream's text fit to quote: printable, and long ones (tracebacks) cut to their end. */
export function quotable(text: string): string {
  const t = printable(text.trim());
  return t.length > 500 ? `…${t.slice(-500)}` : t;
}

/**
 * What an upstream's error answer said, kept as its KeelError's cause for callers that branch
 * on it: the status and OpenAI's `error.code` (Azure's prompt filter answers 400 with
 * code "content_filter").
 */
export interface UpstreamFailure {
  readonly status: number;
  readonly code: string | undefined;
  /** What the upstream said (its error message, quotable), without keel's prefix naming the URL. */
  readonly message?: string;
  /** OpenAI's `error.param`, when the upstream named the field at fault. */
  readonly param?: string;
}

export function upstreamFailure(e: unknown): UpstreamFailure | undefined {
  const c = e instanceof KeelError ? e.cause : undefined;
  return typeof c === "object" && c !== null && "status" in c && "code" in c
    ? (c as UpstreamFailure)
    : undefined;
}

/** The upstream's error as a KeelError, quoting its message (OpenAI's {error:{message}} or text). */
export function upstreamError(
  name: string,
  method: string,
  url: string,
  status: number,
  text: string,
): KeelError {
  let message = text;
  let code: string | undefined;
  let param: string | undefined;
  try {
    const j = JSON.parse(text) as {
      error?: { message?: unknown; code?: unknown; param?: unknown } | string;
      message?: unknown;
    };
    const m =
      typeof j.error === "object" && j.error !== null
        ? j.error.message
        : typeof j.error === "string"
          ? j.error
          : j.message;
    if (typeof m === "string") message = m;
    if (typeof j.error === "object" && j.error !== null) {
      if (typeof j.error.code === "string") code = j.error.code;
      if (typeof j.error.param === "string") param = quotable(j.error.param);
    }
  } catch {
    // not JSON: keep the text
  }
  message = quotable(message);
  const hint =
    status === 401 || status === 403
      ? "check the API key"
      : status === 404
        ? "check the base URL and the model name"
        : undefined;
  return new KeelError(
    "KEEL_E_UPSTREAM",
    `${name}: ${method} ${url} answered HTTP ${status}${message ? `: ${message}` : ""}`,
    {
      cause: { status, code, message, ...(param ? { param } : {}) } satisfies UpstreamFailure,
      ...(hint ? { hint } : {}),
    },
  );
}

/** A redirect answer as an error: keel calls the configured URL only. */
function redirectError(
  name: string,
  method: string,
  url: string,
  status: number,
  location: string | null,
): KeelError {
  const to = location === null ? "" : ` to ${printable(location).slice(0, 200)}`;
  return new KeelError(
    "KEEL_E_UPSTREAM",
    `${name}: ${method} ${url} answered HTTP ${status}, a redirect${to}; redirects are not followed`,
    { hint: "configure the URL the service redirects to, if you trust it" },
  );
}

/**
 * A failure while reading an answer's body as a KeelError: the call's timeout (which bounds the
 * body too) keeps its message; a dropped connection names the upstream.
 */
export function readError(name: string, e: unknown): KeelError {
  if (e instanceof KeelError) return e;
  if (e instanceof DOMException && e.name === "TimeoutError")
    return new KeelError("KEEL_E_UPSTREAM", e.message, { cause: e });
  return new KeelError("KEEL_E_UPSTREAM", `${name}: reading the answer failed: ${causeOf(e)}`, {
    cause: e,
    hint: "check that the service is up and the URL is right",
  });
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
/** A cap on an answer's bytes, and optionally the error for an answer past it. */
export interface AnswerCap {
  readonly bytes: number;
  readonly tooLarge?: () => KeelError;
}

export async function readCapped(
  res: Response,
  max: number | AnswerCap,
  name: string,
): Promise<string> {
  const cap = typeof max === "number" ? { bytes: max } : max;
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((e: unknown) => {
        throw readError(name, e);
      });
      if (done) break;
      bytes += value.byteLength;
      if (bytes > cap.bytes) {
        await reader.cancel().catch(() => undefined);
        throw (
          cap.tooLarge?.() ??
          new KeelError(
            "KEEL_E_UPSTREAM",
            `${name}: the answer is larger than ${cap.bytes >> 20} MiB; refusing to read it`,
          )
        );
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(parts).toString("utf8");
}

/** The answer's JSON; an answer that is not JSON, or is over the cap, throws. */
export async function readJsonCapped(
  res: Response,
  name: string,
  max: number | AnswerCap = MAX_ANSWER_BYTES,
): Promise<unknown> {
  const text = await readCapped(res, max, name);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const start = printable(text.trim().slice(0, 60));
    throw new KeelError(
      "KEEL_E_UPSTREAM",
      `${name}: the answer is not JSON${start ? ` (it begins ${JSON.stringify(start)})` : " (it is empty)"}`,
    );
  }
}
