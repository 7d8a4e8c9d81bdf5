/**
 * Token-bucket rate limits in Redis, shared by every server process: the arithmetic of
 * ../limits/rate-limit.ts in one Lua script per hit, so concurrent hits from several processes
 * take tokens from one bucket.
 *
 *   tokens(t) = min(burst, tokens(t0) + rate · (t − t0))      (t0 = the bucket's last hit)
 *
 * A bucket is a hash {t: tokens, a: at} that expires once it would be full again. A clock that
 * lags another process's never refills the bucket backwards (t − t0 is taken as ≥ 0).
 */
import type { RateDecision, RateLimitStore, RateRule } from "../limits/rate-limit.js";
import type { SharedRedis } from "./connect.js";
import { Script } from "./script.js";

const HIT = new Script(
  "hit",
  `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
  at = now
end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'a', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, retry}
`,
);

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

export class RedisRateLimitStore implements RateLimitStore {
  constructor(private readonly r: SharedRedis) {
    r.use();
  }

  async hit(key: string, rule: RateRule, nowMs: number): Promise<RateDecision> {
    if (rule.rate <= 0) return ALLOWED;
    const [allowed, retry] = (await HIT.run(
      this.r,
      [this.r.key("rate", key)],
      [rule.rate, rule.burst, nowMs],
    )) as [number, number];
    return allowed === 1 ? ALLOWED : { allowed: false, retryAfterMs: retry };
  }

  async close(): Promise<void> {
    await this.r.release();
  }
}
