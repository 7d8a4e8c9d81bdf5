/**
 * Reservation leases in Redis, shared by every server process (see ../tasks/leases.ts for the
 * semantics). Keys, under the deployment's prefix:
 *
 *   lease:<task>             hash  p c u o (project, comparison, user, shown order),
 *                                  i e (issued, expires; ms), f (1 once finished)
 *                                  PEXPIRE = expiry + grace (a lapsed lease's expiry is
 *                                  when it was lapsed)
 *   cmp:<project>:<cmp>      zset  task → expiry: the comparison's leases
 *   user:<project>:<user>    zset  task → expiry: the leases a rater holds (lapsed ones
 *                                  are dropped when the rater takes the next)
 *   judged:<project>         hash  comparison → judgments recorded by every process, and
 *                                  the field "" once the counts were seeded from the ledger
 *
 * `acquire` is one Lua script: unless the caller already holds a live lease on the task, it
 * drops the comparison's expired entries and refuses when live leases + recorded judgments
 * reach the limit (the overlap); otherwise it writes the lease and both index entries. So two
 * processes racing for a comparison's last slot cannot both win. A finished lease is never
 * taken again (the rater is done with it, whichever process knows it). `acquireFirst` does the
 * same for a window of a rater's candidates in one script (one round trip per serve, however
 * many comparisons ahead are full), and returns their judgment counts; `firstOpen` is the same
 * script without the writes, naming the candidate it would take. None of them takes (or
 * names) a slot limited by the overlap while the project's judgment hash lacks the seeded mark
 * (Redis restarted without its data, was flushed, or evicted the key): counts of 0 there would
 * let every comparison out again. `acquireFirst` and `firstOpen` then tell the caller to seed
 * the counts from the ledger and ask again (`unseeded`).
 *
 * Times are the callers' clocks (ms), as with the in-memory store; processes on different hosts
 * need their clocks in sync (NTP) to well under a lease's length.
 */
import type { ShownOrder } from "../../core/types.js";
import type { Lease, LeaseStore, SharedJudgmentCounts } from "../tasks/leases.js";
import type { SharedRedis } from "./connect.js";
import { Script } from "./script.js";

/**
 * Writes a lease and its two index entries (shared by the acquire scripts). The holder's index
 * sheds its lapsed entries first: its time to live is renewed by every lease taken, so a rater
 * active for weeks who let leases lapse would otherwise keep one entry per task lapsed.
 */
const TAKE = `
local function take(lk, ck, uk, task, p, c, u, o, issued, exp, now, grace)
  redis.call('HSET', lk, 'p', p, 'c', c, 'u', u, 'o', o, 'i', issued, 'e', exp, 'f', '0')
  redis.call('PEXPIRE', lk, math.max(1, math.floor(tonumber(exp) + grace - now)))
  redis.call('ZREMRANGEBYSCORE', uk, '-inf', now)
  local live = math.max(1, math.floor(tonumber(exp) - now) + 1000)
  for _, k in ipairs({ck, uk}) do
    redis.call('ZADD', k, exp, task)
    if redis.call('PTTL', k) < live then redis.call('PEXPIRE', k, live) end
  end
end
`;

/** KEYS lease cmp user judged; ARGV task p c u o issued expires limit now grace. */
const ACQUIRE = new Script(
  "acquire",
  `${TAKE}
local now = tonumber(ARGV[9])
local cur = redis.call('HMGET', KEYS[1], 'e', 'i', 'f')
if cur[3] == '1' then return false end
local held = cur[1] and tonumber(cur[1]) > now
if not held then
  local limit = tonumber(ARGV[8])
  if limit >= 0 then
    if redis.call('HEXISTS', KEYS[4], '') == 0 then return false end
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    local judged = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0')
    if redis.call('ZCARD', KEYS[2]) + judged >= limit then return false end
  end
end
local issued = cur[2] or ARGV[6]
take(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], issued, ARGV[7],
  now, tonumber(ARGV[10]))
return issued
`,
);

/**
 * The first candidate with room, taken when `take` (else only named); and every candidate's
 * judgment count. KEYS judged user (lease cmp)×n; ARGV now grace limit project user n (task cmp
 * order issued expires)×n. Returns {index of the lease taken or named (0 = none), its issued
 * time, counts…}, or {-1} when the counts were never seeded (or were lost). Without `take` the
 * script writes nothing: live leases are counted above `now` instead of expired ones dropped.
 */
const firstWithRoom = (take: boolean) => `${take ? TAKE : ""}
if redis.call('HEXISTS', KEYS[1], '') == 0 then return {-1} end
local now = tonumber(ARGV[1])
local grace = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local n = tonumber(ARGV[6])
local out = {0, ''}
for k = 1, n do
  local lk = KEYS[1 + 2 * k]
  local ck = KEYS[2 + 2 * k]
  local a = 6 + (k - 1) * 5
  local j = tonumber(redis.call('HGET', KEYS[1], ARGV[a + 2]) or '0')
  out[2 + k] = j
  if out[1] == 0 then
    local cur = redis.call('HMGET', lk, 'e', 'i', 'f')
    if cur[3] ~= '1' then
      local room = (cur[1] and tonumber(cur[1]) > now) or limit < 0
      if not room then
${
  take
    ? `        redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
        room = redis.call('ZCARD', ck) + j < limit`
    : `        room = redis.call('ZCOUNT', ck, '(' .. ARGV[1], '+inf') + j < limit`
}
      end
      if room then
        local issued = cur[2] or ARGV[a + 4]
${
  take
    ? `        take(lk, ck, KEYS[2], ARGV[a + 1], ARGV[4], ARGV[a + 2], ARGV[5], ARGV[a + 3], issued,
          ARGV[a + 5], now, grace)
`
    : ""
}        out[1] = k
        out[2] = issued
      end
    end
  end
end
return out
`;

const ACQUIRE_FIRST = new Script("acquireFirst", firstWithRoom(true));
const FIRST_OPEN = new Script("firstOpen", firstWithRoom(false));

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

/**
 * Ends a lease now, unfinished: out of both indexes, its expiry lowered to now and its key's
 * time to live to the grace period after that (never raised). KEYS lease cmp user; ARGV task
 * now grace.
 */
const LAPSE = new Script(
  "lapse",
  `
local e = redis.call('HGET', KEYS[1], 'e')
if not e then return 0 end
local now = tonumber(ARGV[2])
local ends = math.min(tonumber(e), now)
if tonumber(e) > now then redis.call('HSET', KEYS[1], 'e', ARGV[2]) end
local ttl = math.max(1, math.floor(ends + tonumber(ARGV[3]) - now))
local left = redis.call('PTTL', KEYS[1])
if left < 0 or ttl < left then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`,
);

/**
 * Raises hash fields to at least the given counts (ARGV: field, count, field, count, …); the
 * seeded mark is the field "" raised to 1, sent with the last batch.
 */
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

/** The judgment hash's field that says its counts were seeded (no comparison id is empty). */
const SEEDED = "";

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
      this.r,
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
    const h = await this.r.call("get", () => this.r.redis.hgetall(this.leaseKey(taskId)));
    return toLease(taskId, h);
  }

  async release(taskId: string): Promise<void> {
    const l = await this.get(taskId);
    if (!l) return;
    await this.r.call("release", () =>
      this.r.redis
        .multi()
        .del(this.leaseKey(taskId))
        .zrem(this.cmpKey(l.projectId, l.comparisonId), taskId)
        .zrem(this.userKey(l.projectId, l.userId), taskId)
        .exec(),
    );
  }

  async finish(taskId: string, nowMs: number): Promise<void> {
    const l = await this.get(taskId);
    if (!l) return;
    await FINISH.run(
      this.r,
      [
        this.leaseKey(taskId),
        this.cmpKey(l.projectId, l.comparisonId),
        this.userKey(l.projectId, l.userId),
      ],
      [taskId, nowMs],
    );
  }

  async lapse(taskId: string, nowMs: number): Promise<void> {
    const l = await this.get(taskId);
    if (!l) return;
    await LAPSE.run(
      this.r,
      [
        this.leaseKey(taskId),
        this.cmpKey(l.projectId, l.comparisonId),
        this.userKey(l.projectId, l.userId),
      ],
      [taskId, nowMs, this.graceMs],
    );
  }

  async liveCount(projectId: string, comparisonId: string, nowMs: number): Promise<number> {
    return this.r.call("liveCount", () =>
      this.r.redis.zcount(this.cmpKey(projectId, comparisonId), `(${nowMs}`, "+inf"),
    );
  }

  async heldBy(projectId: string, userId: string, nowMs: number): Promise<Lease[]> {
    const ids = await this.r.call("heldBy", () =>
      this.r.redis.zrangebyscore(this.userKey(projectId, userId), `(${nowMs}`, "+inf"),
    );
    if (ids.length === 0) return [];
    const hashes = await this.r.call("heldBy", () =>
      Promise.all(ids.map((id) => this.r.redis.hgetall(this.leaseKey(id)))),
    );
    const out: Lease[] = [];
    hashes.forEach((h, k) => {
      const l = toLease(ids[k]!, h);
      if (l && h.f !== "1" && l.expiresAt > nowMs) out.push(l);
    });
    return out;
  }

  acquireFirst(
    candidates: readonly Lease[],
    overlap: number,
    nowMs: number,
  ): Promise<{ lease: Lease | undefined; judged: readonly number[]; unseeded?: true }> {
    return this.first(ACQUIRE_FIRST, candidates, overlap, nowMs);
  }

  firstOpen(
    candidates: readonly Lease[],
    overlap: number,
    nowMs: number,
  ): Promise<{ lease: Lease | undefined; judged: readonly number[]; unseeded?: true }> {
    return this.first(FIRST_OPEN, candidates, overlap, nowMs);
  }

  private async first(
    script: Script,
    candidates: readonly Lease[],
    overlap: number,
    nowMs: number,
  ): Promise<{ lease: Lease | undefined; judged: readonly number[]; unseeded?: true }> {
    const first = candidates[0];
    if (!first) return { lease: undefined, judged: [] };
    const keys = [this.judgedKey(first.projectId), this.userKey(first.projectId, first.userId)];
    const args: (string | number)[] = [
      nowMs,
      this.graceMs,
      Number.isFinite(overlap) ? overlap : -1,
      first.projectId,
      first.userId,
      candidates.length,
    ];
    for (const l of candidates) {
      keys.push(this.leaseKey(l.taskId), this.cmpKey(l.projectId, l.comparisonId));
      args.push(l.taskId, l.comparisonId, l.shownOrder, l.issuedAt, l.expiresAt);
    }
    const out = (await script.run(this.r, keys, args)) as [number, string, ...number[]];
    const won = Number(out[0]);
    if (won === -1) return { lease: undefined, judged: [], unseeded: true };
    const judged = out.slice(2).map(Number);
    if (won === 0) return { lease: undefined, judged };
    return { lease: { ...candidates[won - 1]!, issuedAt: Number(out[1]) }, judged };
  }

  async countJudgment(projectId: string, comparisonId: string): Promise<void> {
    await this.r.call("countJudgment", () =>
      this.r.redis.hincrby(this.judgedKey(projectId), comparisonId, 1),
    );
  }

  async seedJudgments(projectId: string, counts: ReadonlyMap<string, number>): Promise<void> {
    const flat: (string | number)[] = [];
    const flush = async () => {
      if (flat.length > 0) await SEED.run(this.r, [this.judgedKey(projectId)], flat);
      flat.length = 0;
    };
    for (const [id, n] of counts) {
      flat.push(id, n);
      if (flat.length >= 2000) await flush();
    }
    flat.push(SEEDED, 1);
    await flush();
  }

  async judgmentCounts(projectId: string): Promise<Map<string, number>> {
    const h = await this.r.call("judgmentCounts", () =>
      this.r.redis.hgetall(this.judgedKey(projectId)),
    );
    return new Map(
      Object.entries(h)
        .filter(([k]) => k !== SEEDED)
        .map(([k, v]) => [k, Number(v)]),
    );
  }

  async occupancy(
    projectId: string,
    comparisonId: string,
    nowMs: number,
  ): Promise<{ live: number; judged: number }> {
    const [live, judged] = await Promise.all([
      this.liveCount(projectId, comparisonId, nowMs),
      this.r.call("occupancy", () => this.r.redis.hget(this.judgedKey(projectId), comparisonId)),
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
