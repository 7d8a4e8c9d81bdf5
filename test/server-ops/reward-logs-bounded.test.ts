/**
 * `keel serve-rm` keeps the extra_logs names it has seen, so that every answer carries the same
 * keys. A reward model that names a new extra in each answer (a remote one is not keel's) grew
 * that set, and every answer with it, for as long as the service ran: before 2026-12-07 the
 * 200th answer carried 200 extras of zeros. Now at most MAX_PART_NAMES names are kept; later
 * ones are left out of every answer, and the log says so once.
 */
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ok, type RewardProvider } from "../../src/providers/types.js";
import { buildRewardApp, MAX_PART_NAMES } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

/** A reward model whose every answer names one extra never named before. */
function restless(): RewardProvider {
  let call = 0;
  return {
    id: () => "restless",
    score: async (items) => {
      call++;
      return ok({
        rewards: items.map((_, i) => i),
        extras: { steady: items.map(() => 1), [`new_${call}`]: items.map(() => call) },
      });
    },
  };
}

describe("serve-rm's extra_logs names", () => {
  it("stay at the cap, the same keys in every answer past it", async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const { app } = await buildRewardApp({
      scorer: new CombinedScorer({ reward: restless(), floor: -10 }),
      floor: -10,
      logLevel: "warn",
      logStream,
    });
    apps.push(app);
    const ask = async () => {
      const r = await app.inject({
        method: "POST",
        url: "/get_reward",
        payload: { query: ["p1 a", "p2 b"], prompts: ["p1", "p2"] },
      });
      expect(r.statusCode).toBe(200);
      return r.json() as { rewards: number[]; extra_logs: Record<string, number[]> };
    };
    let last: Awaited<ReturnType<typeof ask>> | undefined;
    for (let i = 0; i < 100; i++) last = await ask();
    const keys = Object.keys(last!.extra_logs);
    // 64 part names, and `failed`.
    expect(keys).toHaveLength(64 + 1);
    expect(MAX_PART_NAMES).toBe(64);
    expect(last!.rewards).toEqual([0, 1]);
    expect(last!.extra_logs.reward_model).toEqual([0, 1]);
    expect(last!.extra_logs.reward_model_steady).toEqual([1, 1]);
    expect(last!.extra_logs.failed).toEqual([0, 0]);
    // The names kept are the first ones seen: the 100th answer's own extra is not among them.
    expect(keys).toContain("reward_model_new_62");
    expect(keys).not.toContain("reward_model_new_63");
    expect(keys).not.toContain("reward_model_new_100");
    expect(Object.keys((await ask()).extra_logs)).toEqual(keys);
    const warned = lines.filter((l) => l.includes("more extra_logs than the service keeps"));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain("reward_model_new_63");
  });
});
