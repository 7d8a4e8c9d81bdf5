/**
 * `keel serve-rm` drops the work of requests nobody waits for: a request that times out, or
 * whose client leaves, takes its items that have not started scoring off the batcher's queue,
 * so they are never scored; items already in the running batch finish with it. The scorer is
 * the real tiny reward model behind a gate the test opens, so "running" and "queued" are
 * states the test sets up, not moments it hopes to hit.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  EngineRewardProvider,
  type RewardItem,
  type RewardProvider,
} from "../../src/providers/index.js";
import { buildRewardApp } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../providers/tiny.js";

let rm: EngineRewardProvider;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  rm = new EngineRewardProvider({ dir: await tinyCheckpoint(tempDir()) });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await rm?.close();
});

/** The reward model, recording every prompt it is asked to score; its first call waits. */
function gatedRm() {
  const scored: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let begin!: () => void;
  const started = new Promise<void>((r) => {
    begin = r;
  });
  const provider: RewardProvider = {
    id: () => "gated",
    score: async (items) => {
      scored.push(...items.map((i) => i.prompt));
      begin();
      await gate;
      return rm.score(items);
    },
  };
  return { provider, scored, started, release };
}

const body = (tag: string, n: number) => {
  const prompts = Array.from({ length: n }, (_, i) => `${tag}-${i}?`);
  return { query: prompts.map((p) => `${p} answer`), prompts, labels: prompts.map(() => null) };
};

async function setup(o: { timeoutMs?: number; failClosed?: boolean }) {
  const g = gatedRm();
  const { app, batcher } = await buildRewardApp({
    scorer: new CombinedScorer({ reward: g.provider, floor: -10 }),
    floor: -10,
    logLevel: "silent",
    ...o,
  });
  apps.push(app);
  return { ...g, app, batcher };
}

/** Scores one more item directly: once it is back, everything queued before it was scored. */
async function drain(batcher: { submit(items: readonly RewardItem[]): Promise<unknown> }) {
  await batcher.submit([{ prompt: "after?", response: " answer" }]);
}

describe("keel serve-rm drops the queued work of abandoned requests", () => {
  for (const failClosed of [false, true]) {
    it(`never scores a timed-out request's queued items (${failClosed ? "fail-closed" : "strict"})`, async () => {
      const s = await setup({ timeoutMs: 300, failClosed });
      // A batch already with the model (held at the gate); the request queues behind it.
      const running = s.batcher.submit([{ prompt: "held?", response: " answer" }]);
      await s.started;
      const late = await s.app.inject({
        method: "POST",
        url: "/get_reward",
        payload: body("b", 3),
      });
      if (failClosed) {
        expect(late.statusCode).toBe(200);
        expect(late.json()).toMatchObject({ rewards: [-10, -10, -10] });
        expect(late.json().extra_logs.failed).toEqual([1, 1, 1]);
      } else {
        expect(late.statusCode).toBe(503);
        expect(late.json().error).toMatchObject({ code: "KEEL_E_TIMEOUT" });
      }
      expect(s.batcher.stats).toMatchObject({ queued: 0, dropped: 3 });
      s.release();
      await running;
      await drain(s.batcher);
      expect(s.scored).toEqual(["held?", "after?"]);
      expect(s.batcher.stats).toMatchObject({ items: 2, dropped: 3 });
    });
  }

  it("lets items already being scored finish, but answers their aborted request at once", async () => {
    const s = await setup({});
    const ac = new AbortController();
    const running = s.batcher.submit(
      [
        { prompt: "a-0?", response: " answer" },
        { prompt: "a-1?", response: " answer" },
      ],
      ac.signal,
    );
    await s.started;
    ac.abort(new Error("gave up"));
    await expect(running).rejects.toThrow("gave up");
    expect(s.batcher.stats).toMatchObject({ queued: 0, dropped: 0 });
    s.release();
    await drain(s.batcher);
    expect(s.scored).toEqual(["a-0?", "a-1?", "after?"]);
    expect(s.batcher.stats.items).toBe(3);
  });

  it("never scores the queued items of a client that went away", async () => {
    const s = await setup({});
    await s.app.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}/get_reward`;
    const post = (payload: object, signal?: AbortSignal) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        ...(signal ? { signal } : {}),
      });
    const running = post(body("a", 2));
    await s.started;
    const leaving = new AbortController();
    const left = post(body("b", 3), leaving.signal).catch((e: Error) => e.name);
    await vi.waitFor(() => expect(s.batcher.stats.queued).toBe(3), {
      timeout: 30_000,
      interval: 10,
    });
    leaving.abort();
    expect(await left).toBe("AbortError");
    await vi.waitFor(() => expect(s.batcher.stats.queued).toBe(0), {
      timeout: 30_000,
      interval: 10,
    });
    expect(s.batcher.stats.dropped).toBe(3);
    s.release();
    const answer = await running;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { rewards: number[] }).rewards).toHaveLength(2);
    await drain(s.batcher);
    expect(s.scored).toEqual(["a-0?", "a-1?", "after?"]);
  });
});
