/**
 * `keel serve-rm` drops the work of requests nobody waits for: a request that times out, or
 * whose client leaves, takes its items that have not started scoring off the batcher's queue,
 * so they are never scored; items already in the running batch finish with it. And it bounds
 * the queue: a request that would push the items waiting across requests past the cap is
 * refused at once with 503 and Retry-After, none of its items queued, while the requests
 * already queued are answered as before. The scorer is the real tiny reward model behind a
 * gate the test opens, so "running" and "queued" are states the test sets up, not moments it
 * hopes to hit.
 */
import { type AddressInfo, connect } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_MAX_QUEUED_ITEMS, DEFAULT_RM_MAX_PENDING } from "../../src/core/serving-limits.js";
import {
  EngineRewardProvider,
  type RewardItem,
  type RewardProvider,
} from "../../src/providers/index.js";
import { buildRewardApp, type RewardAppOptions } from "../../src/server/reward/app.js";
import { Batcher } from "../../src/server/reward/batcher.js";
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

async function setup(o: Partial<RewardAppOptions>) {
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

describe("keel serve-rm bounds the items queued across requests", () => {
  const post = (app: FastifyInstance, payload: object) =>
    app.inject({ method: "POST", url: "/get_reward", payload });
  const waitQueued = (batcher: { stats: { queued: number } }, n: number) =>
    vi.waitFor(() => expect(batcher.stats.queued).toBe(n), { timeout: 30_000, interval: 10 });
  type Answer = Awaited<ReturnType<typeof post>>;
  /**
   * The answer to `req`, or "queued" as soon as the queue grows past `before`: a refused
   * request's items must never join it (and without the cap the request would wait forever
   * behind the held batch).
   */
  const refusedOrQueued = (
    batcher: { stats: { queued: number } },
    before: number,
    req: Promise<Answer>,
  ): Promise<Answer | "queued"> =>
    new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        if (batcher.stats.queued > before) finish(() => resolve("queued"));
      }, 5);
      const finish = (f: () => void) => {
        clearInterval(poll);
        f();
      };
      req.then(
        (r) => finish(() => resolve(r)),
        (e) => finish(() => reject(e)),
      );
    });

  for (const failClosed of [false, true]) {
    it(`refuses a request past the cap with 503 and Retry-After, queuing none of it (${failClosed ? "fail-closed" : "strict"})`, async () => {
      const s = await setup({ maxQueuedItems: 5, failClosed });
      const running = s.batcher.submit([{ prompt: "held?", response: " answer" }]);
      await s.started;
      const a = post(s.app, body("a", 3));
      await waitQueued(s.batcher, 3);

      const refused = await refusedOrQueued(s.batcher, 3, post(s.app, body("b", 3)));
      if (refused === "queued") expect.fail("the request past the cap was queued");
      expect(refused.statusCode).toBe(503);
      const retryAfter = Number(refused.headers["retry-after"]);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect(refused.json().error).toMatchObject({ code: "KEEL_E_BUSY" });
      expect(refused.json().error.message).toContain(
        "3 items are waiting to be scored and this request's 3 would pass the cap of 5 (--max-queued-items)",
      );
      expect(s.batcher.stats).toMatchObject({ queued: 3, refused: 1, dropped: 0 });

      // Exactly up to the cap still fits.
      const c = post(s.app, body("c", 2));
      await waitQueued(s.batcher, 5);
      const health = await s.app.inject({ method: "GET", url: "/healthz" });
      expect(health.json().batches).toMatchObject({ queued: 5, maxQueued: 5, refused: 1 });

      s.release();
      await running;
      for (const [answer, n] of [
        [await a, 3],
        [await c, 2],
      ] as const) {
        expect(answer.statusCode).toBe(200);
        expect(answer.json().rewards).toHaveLength(n);
        expect(answer.json().extra_logs.failed).toEqual(new Array(n).fill(0));
      }
      expect(s.scored).toEqual(["held?", "a-0?", "a-1?", "a-2?", "c-0?", "c-1?"]);

      // With the queue empty again, the refused request is admitted.
      const again = await post(s.app, body("b", 3));
      expect(again.statusCode).toBe(200);
      expect(s.scored.filter((p) => p.startsWith("b-"))).toEqual(["b-0?", "b-1?", "b-2?"]);
    });
  }

  it("answers a request larger than the cap itself 413, not 503", async () => {
    const s = await setup({ maxQueuedItems: 2 });
    const big = await Promise.race([
      post(s.app, body("a", 3)),
      s.started.then(() => "scored" as const),
    ]);
    if (big === "scored") expect.fail("the request larger than the cap went to the model");
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toMatchObject({ code: "KEEL_E_TOO_LARGE" });
    expect(big.json().error.message).toContain("the most is 2 (--max-queued-items)");
    expect(s.scored).toEqual([]);
  });

  it("shows the queued count and the default cap on /healthz", async () => {
    const s = await setup({});
    const health = await s.app.inject({ method: "GET", url: "/healthz" });
    expect(health.json().batches).toMatchObject({
      queued: 0,
      maxQueued: DEFAULT_MAX_QUEUED_ITEMS,
      refused: 0,
    });
  });

  it("keeps the queued count exact when a batch fails and takes its request's rest with it", async () => {
    let calls = 0;
    const b = new Batcher<number, number>(
      async (xs) => {
        calls++;
        if (calls === 1) throw new Error("model failed");
        return xs.map((x) => x * 2);
      },
      2,
      6,
    );
    const failing = b.submit([1, 2, 3, 4, 5]);
    await expect(failing).rejects.toThrow("model failed");
    expect(b.stats).toMatchObject({ queued: 0, dropped: 0 });
    // All six places are free again.
    await expect(b.submit([1, 2, 3, 4, 5, 6])).resolves.toEqual([2, 4, 6, 8, 10, 12]);
    expect(b.stats.queued).toBe(0);
  });
});

describe("keel serve-rm bounds the requests it holds at once", () => {
  /** Listens on a free port; returns the base URL. */
  const listen = async (app: FastifyInstance) => {
    await app.listen({ port: 0, host: "127.0.0.1" });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };
  const postTo = (url: string, payload: object) =>
    fetch(`${url}/get_reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
  const pendingNow = async (url: string) =>
    ((await (await fetch(`${url}/healthz`)).json()) as { requests: { pending: number } }).requests
      .pending;

  it("refuses one request past --max-pending with 503 and Retry-After, before scoring any of it", async () => {
    const s = await setup({ maxPending: 1 });
    const url = await listen(s.app);
    const first = postTo(url, body("a", 2));
    await s.started;

    const refused = await postTo(url, body("b", 2));
    expect(refused.status).toBe(503);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    const err = ((await refused.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe("KEEL_E_BUSY");
    expect(err.message).toContain("1 reward request is already being received or scored");
    expect(err.message).toContain("--max-pending");
    // The health check is not a reward request.
    expect(await pendingNow(url)).toBe(1);

    s.release();
    expect((await first).status).toBe(200);
    await vi.waitFor(async () => expect(await pendingNow(url)).toBe(0), {
      timeout: 30_000,
      interval: 10,
    });
    const after = await postTo(url, body("c", 1));
    expect(after.status).toBe(200);
    expect(s.scored).toEqual(["a-0?", "a-1?", "c-0?"]);
  });

  it("counts a request whose body is still arriving, and frees its place when the client leaves", async () => {
    const s = await setup({ maxPending: 1 });
    const url = await listen(s.app);
    const port = Number(new URL(url).port);
    // A client that announces a body and sends only its first bytes: it holds its place
    // without the server having anything to score yet.
    const slow = connect({ port, host: "127.0.0.1" });
    await new Promise<void>((r) => slow.once("connect", () => r()));
    slow.write(
      "POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" +
        '{"query": ["',
    );
    slow.on("error", () => {});
    await vi.waitFor(async () => expect(await pendingNow(url)).toBe(1), {
      timeout: 30_000,
      interval: 10,
    });

    const refused = await postTo(url, body("b", 1));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("KEEL_E_BUSY");
    expect(s.scored).toEqual([]);

    slow.destroy();
    await vi.waitFor(async () => expect(await pendingNow(url)).toBe(0), {
      timeout: 30_000,
      interval: 10,
    });
    s.release();
    const after = await postTo(url, body("c", 1));
    expect(after.status).toBe(200);
    expect(s.scored).toEqual(["c-0?"]);
  });

  it("shows the default cap on /healthz", async () => {
    const s = await setup({});
    const health = await s.app.inject({ method: "GET", url: "/healthz" });
    expect(health.json().requests).toEqual({ pending: 0, maxPending: DEFAULT_RM_MAX_PENDING });
  });
});

describe("keel serve-rm's request timeout", () => {
  it("is refused past what a timer can wait (Node would fire it every millisecond)", async () => {
    await expect(setup({ timeoutMs: 2 ** 31 })).rejects.toMatchObject({
      code: "KEEL_E_CONFIG",
      message: expect.stringContaining("request timeout"),
    });
    await expect(setup({ timeoutMs: 0 })).rejects.toMatchObject({ code: "KEEL_E_CONFIG" });
    await expect(setup({ timeoutMs: 2 ** 31 - 1 })).resolves.toBeDefined();
  });
});
