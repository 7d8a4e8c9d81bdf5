/**
 * Reservation leases in Redis, shared by every server process (see ../tasks/leases.ts for the
 * semantics). Keys, under the deployment's prefix:
 *
 *   lease:<task>             hash  p c u o (project, comparison, user, shown order),
 *                                  i e (issued, expires; ms), f (1 once finished)
 *                                  PEXPIRE = expiry + grace
 *   cmp:<project>:<cmp>      zset  task → expiry: the comparison's leases
 *   user:<project>:<user>    zset  task → expiry: the leases a rater holds
 *   judged:<project>         hash  comparison → judgments recorded by every process
 *
 * `acquire` is one Lua script: unless the caller already holds a live lease on the task, it
 * drops the comparison's expired entries and refuses when live leases + recorded judgments
 * reach the limit (the overlap); otherwise it writes the lease and both index entries. So two
 * processes racing for a comparison's last slot cannot both win. A finished lease is never
 * taken again (the rater is done with it, whichever process knows it).
 *
 * Times are the callers' clocks (ms), as with the in-memory store; processes on different hosts
 * need their clocks in sync (NTP) to well under a lease's length.
 */
import type { ShownOrder } from "../../core/types.js";
import type { Lease, LeaseStore, SharedJudgmentCounts } from "../tasks/leases.js";
import type { SharedRedis } from "./connect.js";
import { Script } from "./script.js";

const ACQUIRE = new Script(
  "acquire",
  `
local now = tonumber(ARGV[9])
local cur = redis.call('HMGET', KEYS[1], 'e', 'i', 'f')
if cur[3] == '1' then return false end
local held = cur[1] and tonumber(cur[1]) > now
if not held then
  local limit = tonumber(ARGV[8])
  if limit >= 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    local judged = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0')
    if redis.call('ZCARD', KEYS[2]) + judged >= limit then return false end
  end
end
local issued = cur[2] or ARGV[6]
local exp = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'p', ARGV[2], 'c', ARGV[3], 'u', ARGV[4], 'o', ARGV[5],
  'i', issued, 'e', ARGV[7], 'f', '0')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.floor(exp + tonumber(ARGV[10]) - now)))
local live = math.max(1, math.floor(exp - now) + 1000)
for k = 2, 3 do
  redis.call('ZADD', KEYS[k], exp, ARGV[1])
  if redis.call('PTTL', KEYS[k]) < live then redis.call('PEXPIRE', KEYS[k], live) end
end
return issued
`,
);

const FINISH = new Script(
  "finish",
  `
local e = redis.call('HGET', KEYS[1], 'e')
if not e then return 0 end
if tonumber(e) > tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'e', ARGV[2]) end
redis.call('HSET', KEYS[1], 'f', '1')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`,
);

/** Raises hash fields to at least the given counts (ARGV: field, count, field, count, …). */
const SEED = new Script(
  "seed",
  `
for k = 1, #ARGV, 2 do
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[k]) or '0')
  if cur < tonumber(ARGV[k + 1]) then redis.call('HSET', KEYS[1], ARGV[k], ARGV[k + 1]) end
end
return 1
`,
);

export class RedisLeaseStore implements LeaseStore, SharedJudgmentCounts {
  /** Finished and expired leases are kept `graceMs` (so a late or repeated submission is told). */
  constructor(
    private readonly r: SharedRedis,
    private readonly graceMs = 3_600_000,
  ) {
    r.use();
  }

  private leaseKey(taskId: string): string {
    return this.r.key("lease", taskId);
  }
  private cmpKey(projectId: string, comparisonId: string): string {
    return this.r.key("cmp", projectId, comparisonId);
  }
  private userKey(projectId: string, userId: string): string {
    return this.r.key("user", projectId, userId);
  }
  private judgedKey(projectId: string): string {
    return this.r.key("judged", projectId);
  }

  async acquire(lease: Lease, limit: number, nowMs: number): Promise<Lease | undefined> {
    const issued = await ACQUIRE.run(
      this.r.redis,
      [
        this.leaseKey(lease.taskId),
        this.cmpKey(lease.projectId, lease.comparisonId),
        this.userKey(lease.projectId, lease.userId),
        this.judgedKey(lease.projectId),
      ],
      [
        lease.taskId,
        lease.projectId,
        lease.comparisonId,
        lease.userId,
        lease.shownOrder,
        lease.issuedAt,
        lease.expiresAt,
        Number.isFinite(limit) ? limit : -1,
        nowMs,
        this.graceMs,
      ],
    );
    if (issued === null) return undefined;
    return { ...lease, issuedAt: Number(issued) };
  }

  async get(taskId: string): Promise<Lease | undefined> {
    const h = await this.r.redis.hgetall(this.leaseKey(taskId));
    return toLease(taskId, h);
  }

  async release(taskId: string): Promise<void> {
    const l = await this.get(taskId);
    if (!l) return;
    await this.r.redis
      .multi()
      .del(this.leaseKey(taskId))
      .zrem(this.cmpKey(l.projectId, l.comparisonId), taskId)
      .zrem(this.userKey(l.projectId, l.userId), taskId)
      .exec();
  }

  async finish(taskId: string, nowMs: number): Promise<void> {
    const l = await this.get(taskId);
    if (!l) return;
    await FINISH.run(
      this.r.redis,
      [
        this.leaseKey(taskId),
        this.cmpKey(l.projectId, l.comparisonId),
        this.userKey(l.projectId, l.userId),
      ],
      [taskId, nowMs],
    );
  }

  async liveCount(projectId: string, comparisonId: string, nowMs: number): Promise<number> {
    return this.r.redis.zcount(this.cmpKey(projectId, comparisonId), `(${nowMs}`, "+inf");
  }

  async heldBy(projectId: string, userId: string, nowMs: number): Promise<Lease[]> {
    const ids = await this.r.redis.zrangebyscore(
      this.userKey(projectId, userId),
      `(${nowMs}`,
      "+inf",
    );
    if (ids.length === 0) return [];
    const hashes = await Promise.all(ids.map((id) => this.r.redis.hgetall(this.leaseKey(id))));
    const out: Lease[] = [];
    hashes.forEach((h, k) => {
      const l = toLease(ids[k]!, h);
      if (l && h.f !== "1" && l.expiresAt > nowMs) out.push(l);
    });
    return out;
  }

  async countJudgment(projectId: string, comparisonId: string): Promise<void> {
    await this.r.redis.hincrby(this.judgedKey(projectId), comparisonId, 1);
  }

  async seedJudgments(projectId: string, counts: ReadonlyMap<string, number>): Promise<void> {
    const flat: (string | number)[] = [];
    const flush = async () => {
      if (flat.length > 0) await SEED.run(this.r.redis, [this.judgedKey(projectId)], flat);
      flat.length = 0;
    };
    for (const [id, n] of counts) {
      flat.push(id, n);
      if (flat.length >= 2000) await flush();
    }
    await flush();
  }

  async judgmentCounts(projectId: string): Promise<Map<string, number>> {
    const h = await this.r.redis.hgetall(this.judgedKey(projectId));
    return new Map(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  async occupancy(
    projectId: string,
    comparisonId: string,
    nowMs: number,
  ): Promise<{ live: number; judged: number }> {
    const [live, judged] = await Promise.all([
      this.liveCount(projectId, comparisonId, nowMs),
      this.r.redis.hget(this.judgedKey(projectId), comparisonId),
    ]);
    return { live, judged: Number(judged ?? 0) };
  }

  async close(): Promise<void> {
    await this.r.release();
  }
}

function toLease(taskId: string, h: Record<string, string>): Lease | undefined {
  if (h.p === undefined || h.c === undefined || h.u === undefined) return undefined;
  return {
    taskId,
    projectId: h.p,
    comparisonId: h.c,
    userId: h.u,
    shownOrder: h.o as ShownOrder,
    issuedAt: Number(h.i),
    expiresAt: Number(h.e),
  };
}
