/**
 * Redis-backed shared state for several `keel serve` processes on one PostgreSQL store:
 * assignment leases with every process's judgment counts (so the overlap holds across
 * processes) and rate-limit buckets. `redisServices` opens one connection for both.
 */
import { type RedisOptions, SharedRedis } from "./connect.js";
import { RedisLeaseStore } from "./leases.js";
import { RedisRateLimitStore } from "./rate-limit.js";

export { type RedisOptions, redact, SharedRedis } from "./connect.js";
export { RedisLeaseStore } from "./leases.js";
export { RedisRateLimitStore } from "./rate-limit.js";

export async function redisServices(
  o: RedisOptions,
): Promise<{ leases: RedisLeaseStore; limits: RedisRateLimitStore }> {
  const shared = await SharedRedis.connect(o);
  return { leases: new RedisLeaseStore(shared), limits: new RedisRateLimitStore(shared) };
}
