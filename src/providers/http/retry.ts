/**
 * Retries with capped exponential backoff and full jitter (Brooker 2015, "Exponential Backoff
 * And Jitter", AWS Architecture Blog): before retry k (k = 1, 2, …)
 *
 *   delay_k = U(0, min(maxDelay, baseDelay · 2^(k−1)))
 *
 * drawn from a seeded generator, so runs repeat; a server's Retry-After (seconds or an HTTP
 * date) raises the delay to at least what it asked for, still capped by maxDelay. Full jitter
 * spreads the retries of many clients that failed together, instead of having them return in
 * synchronised waves.
 */
import { Rng } from "../../core/rng.js";

/** setTimeout's longest delay (ms): a longer one fires at once, so configs are capped at it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RetryPolicy {
  /** Attempts after the first (0 = no retries). */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly seed?: number | string;
}

export class Backoff {
  private readonly rng: Rng;

  constructor(readonly policy: RetryPolicy) {
    this.rng = new Rng(policy.seed ?? 0);
  }

  /** The wait before retry `k` (1-based), honouring a Retry-After header when given. */
  delay(k: number, retryAfter?: string | null): number {
    const cap = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (k - 1));
    const jittered = this.rng.float() * cap;
    const asked = parseRetryAfter(retryAfter);
    return Math.min(this.policy.maxDelayMs, Math.max(jittered, asked ?? 0));
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(
  v: string | null | undefined,
  nowMs = Date.now(),
): number | undefined {
  if (!v) return undefined;
  const text = v.trim();
  // delta-seconds is digits (some servers add a fraction); Number() also took "0x10" and "1e3".
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  // An HTTP date starts with the day's name (its three forms do; Date.parse takes almost
  // anything), and is in GMT, the asctime form without saying so: Date.parse would read a date
  // without a zone in this machine's time zone.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/i.test(text)) return undefined;
  const zoned = /\b(GMT|UTC?|Z)\b|[+-]\d{4}\b/i.test(text) ? text : `${text} GMT`;
  const t = Date.parse(zoned);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
