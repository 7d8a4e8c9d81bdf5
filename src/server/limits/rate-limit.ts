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
import { KeelError } from "../../core/errors.js";

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
  /** When the bucket is full again (ms): from then on it is as good as a new one. */
  fullAt: number;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

/**
 * The most buckets `MemoryRateLimitStore` keeps. Every client address, user, login name tried
 * and invitation attempt has its own, so without a cap a stream of new addresses or made-up
 * login names (an IPv6 block holds more than anyone can count) grows the map until the process
 * runs out of memory. A bucket takes 270–420 bytes with its key (an IPv6 address, a 64-character
 * login name; measured on Node 20): 27–42 MB at the cap.
 */
export const MAX_BUCKETS = 100_000;

export interface MemoryRateLimitOptions {
  /** Buckets kept at most; past that the least recently hit one is dropped (MAX_BUCKETS). */
  readonly maxBuckets?: number;
  /** How often buckets that have refilled are dropped (ms; default 60 s). */
  readonly pruneEveryMs?: number;
}

/**
 * Token buckets in this process's memory, bounded two ways: a bucket is forgotten once it has
 * refilled (a full bucket decides exactly as a new one does, so nothing is lost), at the next
 * prune, every minute; and at most `maxBuckets` are kept, in the order they were last hit: a
 * new key past the cap drops the least recently hit bucket. That one forgets what its key had
 * used of its burst, which takes a flood of `maxBuckets` other keys since its last hit.
 * Before 2026-12-07 a bucket was kept an hour after its last hit, however soon it refilled, and
 * the number of buckets had no cap.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  /** In the order of their last hit, least recent first (a Map iterates in insertion order). */
  private readonly buckets = new Map<string, Bucket>();
  private readonly timer: NodeJS.Timeout;
  readonly maxBuckets: number;
  /** The latest time a caller gave: buckets refill by the callers' clock, not this machine's. */
  private latest = Number.NEGATIVE_INFINITY;

  constructor(o: MemoryRateLimitOptions = {}) {
    this.maxBuckets = o.maxBuckets ?? MAX_BUCKETS;
    if (!Number.isInteger(this.maxBuckets) || this.maxBuckets < 1)
      throw new KeelError(
        "KEEL_E_CONFIG",
        `the rate limiter's bucket cap must be a positive integer, got ${this.maxBuckets}`,
      );
    this.timer = setInterval(() => this.prune(this.latest), o.pruneEveryMs ?? 60_000);
    this.timer.unref();
  }

  hit(key: string, rule: RateRule, nowMs: number): Promise<RateDecision> {
    return Promise.resolve(this.hitSync(key, rule, nowMs));
  }

  hitSync(key: string, rule: RateRule, nowMs: number): RateDecision {
    if (rule.rate <= 0) return ALLOWED;
    if (nowMs > this.latest) this.latest = nowMs;
    let b = this.buckets.get(key);
    if (b) {
      // Taken out and put back: the map's last entry is the most recently hit.
      this.buckets.delete(key);
      // A clock that lags the last hit (another process's, a step back) refills nothing and
      // takes nothing back, as in the Redis store.
      if (nowMs > b.at) {
        b.tokens = Math.min(rule.burst, b.tokens + ((nowMs - b.at) / 1000) * rule.rate);
        b.at = nowMs;
      }
    } else {
      b = { tokens: rule.burst, at: nowMs, fullAt: nowMs };
      if (this.buckets.size >= this.maxBuckets) this.dropLeastRecent();
    }
    this.buckets.set(key, b);
    let d = ALLOWED;
    if (b.tokens >= 1) b.tokens -= 1;
    else d = { allowed: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rule.rate) * 1000) };
    b.fullAt = b.at + ((rule.burst - b.tokens) / rule.rate) * 1000;
    return d;
  }

  private dropLeastRecent(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }

  /** Forgets the buckets that are full again at `nowMs`. */
  prune(nowMs: number): void {
    for (const [k, b] of this.buckets) if (b.fullAt <= nowMs) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
