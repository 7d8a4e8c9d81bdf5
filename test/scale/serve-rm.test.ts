/**
 * `keel serve-rm` against a client that speaks exactly OpenRLHF's remote reward-model protocol
 * (POST /get_reward {query, prompts, labels} → {rewards, scores, extra_logs}): rewards equal
 * the reward model's own scores of the responses inside the queries; concurrent requests share
 * batches without changing any score; cost model and safety baseline combine as documented;
 * failures are errors, or the floor in fail-closed mode; keel's remote reward provider reads
 * the same service; and the real CLI process serves it.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import {
  EngineRewardProvider,
  fail,
  parseRemoteRewardConfig,
  RemoteRewardProvider,
  type RewardProvider,
} from "../../src/providers/index.js";
import { buildRewardApp } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";
import { tempDir } from "../helpers/stores.js";
import { PAIRS, tinyCheckpoint } from "../providers/tiny.js";
import { spawnKeel, stop } from "./helpers.js";

let ckpt: string;
let rm: EngineRewardProvider;
const apps: FastifyInstance[] = [];

interface OpenRlhfAnswer {
  rewards: number[];
  scores: number[];
  extra_logs: Record<string, number[]>;
}

/** What OpenRLHF's request_api_wrapper sends and reads. */
async function getReward(
  url: string,
  query: string[],
  prompts: string[],
  labels: (string | null)[],
) {
  const res = await fetch(`${url}/get_reward`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, prompts, labels }),
  });
  return { status: res.status, json: (await res.json()) as OpenRlhfAnswer };
}

async function serve(o: Parameters<typeof buildRewardApp>[0]) {
  const { app, batcher } = await buildRewardApp({ logLevel: "silent", ...o });
  apps.push(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, batcher };
}

async function direct(prompts: readonly string[], responses: readonly string[]): Promise<number[]> {
  const r = await rm.score(prompts.map((p, i) => ({ prompt: p, response: responses[i]! })));
  if (!r.ok) throw r.error;
  return [...r.value.rewards];
}

beforeAll(async () => {
  ckpt = await tinyCheckpoint(tempDir());
  rm = new EngineRewardProvider({ dir: ckpt });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await rm?.close();
});

describe("keel serve-rm speaks OpenRLHF's remote reward-model protocol", () => {
  it("scores the response inside each query, in OpenRLHF's exact shapes", async () => {
    const { url } = await serve({
      scorer: new CombinedScorer({ reward: rm, floor: -10 }),
      floor: -10,
      strip: ["<pad>", "</s>"],
    });
    const prompts = PAIRS.map(([p]) => p);
    const responses = PAIRS.map(([, r]) => r);
    const want = await direct(prompts, responses);
    const { status, json } = await getReward(
      url,
      prompts.map((p, i) => `<pad><pad>${p}${responses[i]}</s>`),
      prompts,
      [null, "4", null],
    );
    expect(status).toBe(200);
    expect(Object.keys(json).sort()).toEqual(["extra_logs", "rewards", "scores"]);
    expect(json.rewards).toHaveLength(3);
    json.rewards.forEach((r, i) => {
      expect(r).toBeCloseTo(want[i]!, 5);
    });
    expect(json.scores).toEqual(json.rewards);
    expect(json.extra_logs.reward_model).toEqual(json.rewards);
    expect(json.extra_logs.failed).toEqual([0, 0, 0]);
    // Different responses get different rewards (the model is not constant).
    expect(new Set(json.rewards.map((r) => r.toFixed(4))).size).toBe(3);
  });

  it("shares batches between concurrent requests without changing any reward", async () => {
    const { url, batcher } = await serve({
      scorer: new CombinedScorer({ reward: rm, floor: -10 }),
      floor: -10,
      maxBatch: 16,
    });
    const reqs = Array.from({ length: 10 }, (_, k) => {
      const prompts = Array.from({ length: 5 }, (_, i) => `prompt ${k}-${i}`);
      const responses = prompts.map((_, i) => `answer ${(k * 7 + i) % 11}`);
      return { prompts, responses };
    });
    const answers = await Promise.all(
      reqs.map((r) =>
        getReward(
          url,
          r.prompts.map((p, i) => p + r.responses[i]),
          r.prompts,
          r.prompts.map(() => null),
        ),
      ),
    );
    expect(batcher.stats.items).toBe(50);
    expect(batcher.stats.batches).toBeLessThan(10);
    expect(batcher.stats.largest).toBeLessThanOrEqual(16);
    for (const [k, a] of answers.entries()) {
      const want = await direct(reqs[k]!.prompts, reqs[k]!.responses);
      a.json.rewards.forEach((r, i) => {
        expect(r).toBeCloseTo(want[i]!, 4);
      });
    }
  });

  it("subtracts λ·max(0, cost) and caps unsafe responses at the floor", async () => {
    const cost = new EngineRewardProvider({ dir: ckpt });
    try {
      const { url } = await serve({
        scorer: new CombinedScorer({
          reward: rm,
          cost,
          costWeight: 2,
          safety: ruleClassifier(),
          floor: -5,
        }),
        floor: -5,
      });
      const prompts = PAIRS.map(([p]) => p);
      const responses = PAIRS.map(([, r]) => r);
      const base = await direct(prompts, responses); // the cost "model" is the same network here
      const { json } = await getReward(
        url,
        prompts.map((p, i) => p + responses[i]),
        prompts,
        [null, null, null],
      );
      expect(json.extra_logs.unsafe).toEqual([0, 0, 1]);
      for (let i = 0; i < 2; i++) {
        expect(json.extra_logs.cost![i]).toBeCloseTo(base[i]!, 5);
        expect(json.rewards[i]).toBeCloseTo(base[i]! - 2 * Math.max(0, base[i]!), 5);
      }
      expect(json.rewards[2]).toBeLessThanOrEqual(-5);
    } finally {
      await cost.close();
    }
  });

  it("fails requests it cannot score, or gives the floor in fail-closed mode", async () => {
    const broken: RewardProvider = {
      id: () => "broken",
      score: async () => fail(new KeelError("KEEL_E_NUMERIC", "the reward model produced NaN")),
    };
    const strict = await serve({
      scorer: new CombinedScorer({ reward: rm, floor: -10 }),
      floor: -10,
    });
    const bad = await getReward(strict.url, ["no prompt here"], ["hello"], [null]);
    expect(bad.status).toBe(400);
    const down = await serve({
      scorer: new CombinedScorer({ reward: broken, floor: -10 }),
      floor: -10,
    });
    expect((await getReward(down.url, ["hello hi"], ["hello"], [null])).status).toBe(500);
    const closed = await serve({
      scorer: new CombinedScorer({ reward: rm, floor: -7 }),
      floor: -7,
      failClosed: true,
    });
    const mixed = await getReward(
      closed.url,
      ["hello hi there, friend", "no prompt here"],
      ["hello", "what is 2+2?"],
      [null, null],
    );
    expect(mixed.status).toBe(200);
    expect(mixed.json.rewards[1]).toBe(-7);
    expect(mixed.json.rewards[0]).toBeCloseTo(
      (await direct(["hello"], [" hi there, friend"]))[0]!,
      5,
    );
    expect(mixed.json.extra_logs.failed).toEqual([0, 1]);
    const closedDown = await serve({
      scorer: new CombinedScorer({ reward: broken, floor: -7 }),
      floor: -7,
      failClosed: true,
    });
    const floor = await getReward(
      closedDown.url,
      ["hello hi", "what is 2+2?4"],
      ["hello", "what is 2+2?"],
      [null, null],
    );
    expect(floor.status).toBe(200);
    expect(floor.json.rewards).toEqual([-7, -7]);
    expect(floor.json.extra_logs.failed).toEqual([1, 1]);
    const wrongShape = await fetch(`${strict.url}/get_reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: ["a"], prompts: ["a", "b"] }),
    });
    expect(wrongShape.status).toBe(400);
    // A bad field is named once, not twice; an unknown route answers in the same error shape.
    const missing = await fetch(`${strict.url}/get_reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: 5 }),
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe(
      "query: expected array, received number",
    );
    // A misspelt field gets its near miss.
    const misspelt = await fetch(`${strict.url}/get_reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: ["a"], prompt: ["a"] }),
    });
    expect(misspelt.status).toBe(400);
    expect(((await misspelt.json()) as { error: { message: string } }).error.message).toMatch(
      /unknown field "prompt".*did you mean "prompts"/,
    );
    const nowhere = await fetch(`${strict.url}/nope`);
    expect(nowhere.status).toBe(404);
    expect(await nowhere.json()).toMatchObject({
      error: { code: "KEEL_E_NOT_FOUND", message: "no route GET /nope" },
    });
  });

  it("is read by keel's OpenRLHF reward provider, and served by the real CLI", async () => {
    const child = await spawnKeel([
      "serve-rm",
      "--reward-model",
      ckpt,
      "--safety",
      "--fail-closed",
      "--port",
      "0",
      "--log-level",
      "warn",
    ]);
    try {
      const provider = new RemoteRewardProvider(
        parseRemoteRewardConfig({ url: `${child.url}/get_reward` }),
      );
      const items = PAIRS.map(([prompt, response]) => ({ prompt, response }));
      const r = await provider.score(items);
      expect(r.ok ? "ok" : r.error.message).toBe("ok");
      const want = await direct(
        items.map((i) => i.prompt),
        items.map((i) => i.response),
      );
      if (r.ok) {
        r.value.rewards.slice(0, 2).forEach((x, i) => {
          expect(x).toBeCloseTo(want[i]!, 4);
        });
        expect(r.value.rewards[2]).toBeLessThanOrEqual(-10);
        expect(r.value.extras?.unsafe).toEqual([0, 0, 1]);
      }
    } finally {
      await stop(child.child);
    }
  });
});

describe("keel serve-rm's health check", () => {
  it("names the scorer (and so the model's path) only when no API key guards the server", async () => {
    const scorer = new CombinedScorer({ reward: rm, floor: -10 });
    const open = await serve({ scorer, floor: -10 });
    const openHealth = (await (await fetch(`${open.url}/healthz`)).json()) as { scorer?: string };
    expect(openHealth.scorer).toBe(scorer.id);
    const keyed = await serve({ scorer, floor: -10, apiKey: "sk-rm" });
    const res = await fetch(`${keyed.url}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ ok: true });
    expect(body).not.toContain(ckpt);
  });

  it("answers an oversized body with 413", async () => {
    const { url } = await serve({
      scorer: new CombinedScorer({ reward: rm, floor: -10 }),
      floor: -10,
      bodyLimit: 1024,
    });
    const res = await fetch(`${url}/get_reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: ["x".repeat(4096)] }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("KEEL_E_TOO_LARGE");
  });
});
