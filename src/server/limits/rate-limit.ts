/**
 * Rate limits as token buckets (Turner 1986): a bucket of `burst` tokens refills at `rate`
 * tokens per second; a request takes one token or is refused with the time until one is back.
 *
 *   tokens(t) = min(burst, tokens(t0) + rate · (t − t0))
 *
 * The counters live behind `RateLimitStore`, so that several server processes can share them
 * (a Redis implementation: the same arithmetic in one Lua script per hit). `MemoryRateLimitStore`
 * is the single-process implementation.
 */

export interface RateRule {
  /** Tokens per second; 0 disables the limit. */
  readonly rate: number;
  /** Bucket size: the most requests allowed at once after a quiet spell. */
  readonly burst: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Milliseconds until the next request would be allowed (0 when allowed). */
  readonly retryAfterMs: number;
}

export interface RateLimitStore {
  hit(key: string, rule: RateRule, nowMs: number): Promise<RateDecision>;
  close(): Promise<void>;
}

interface Bucket {
  tokens: number;
  at: number;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly timer: NodeJS.Timeout;

  constructor(pruneEveryMs = 60_000) {
    this.timer = setInterval(() => this.prune(Date.now()), pruneEveryMs);
    this.timer.unref();
  }

  hit(key: string, rule: RateRule, nowMs: number): Promise<RateDecision> {
    return Promise.resolve(this.hitSync(key, rule, nowMs));
  }

  hitSync(key: string, rule: RateRule, nowMs: number): RateDecision {
    if (rule.rate <= 0) return ALLOWED;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: rule.burst, at: nowMs };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(rule.burst, b.tokens + ((nowMs - b.at) / 1000) * rule.rate);
      b.at = nowMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return ALLOWED;
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rule.rate) * 1000) };
  }

  /** Forgets buckets that have been idle long enough to be full again. */
  prune(nowMs: number): void {
    for (const [k, b] of this.buckets) if (nowMs - b.at > 3_600_000) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
