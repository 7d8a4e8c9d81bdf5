/**
 * `keel serve-rm`'s answers have one shape: every answer carries the same `extra_logs` keys —
 * an empty request's, and a fail-closed request none of whose items could be scored — since
 * the trainer gathers each key across answers and a key missing from one answer breaks that.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import { fail, ok, type RewardProvider } from "../../src/providers/index.js";
import { buildRewardApp } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";

/** A reward model that scores a response by its length, with an ensemble spread of 0.5. */
const byLength: RewardProvider = {
  id: () => "length",
  score: async (items) =>
    ok({
      rewards: items.map((i) => i.response.length),
      extras: { std: items.map(() => 0.5) },
    }),
};
const constCost: RewardProvider = {
  id: () => "cost",
  score: async (items) => ok({ rewards: items.map(() => 1) }),
};
const broken: RewardProvider = {
  id: () => "broken",
  score: async () => fail(new KeelError("KEEL_E_NUMERIC", "the reward model produced NaN")),
};

const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
});

async function rewardApp(reward: RewardProvider, failClosed = false) {
  const { app } = await buildRewardApp({
    scorer: new CombinedScorer({ reward, cost: constCost, safety: ruleClassifier(), floor: -5 }),
    floor: -5,
    failClosed,
    logLevel: "silent",
  });
  apps.push(app);
  return app;
}

const post = (app: FastifyInstance, query: string[], prompts: string[]) =>
  app.inject({
    method: "POST",
    url: "/get_reward",
    payload: { query, prompts, labels: query.map(() => null) },
  });

describe("keel serve-rm's answer shape", () => {
  it("answers an empty request with every extra_logs key a scored request has", async () => {
    const app = await rewardApp(byLength);
    const empty = await post(app, [], []);
    expect(empty.statusCode, empty.body).toBe(200);
    expect(empty.json()).toEqual({
      rewards: [],
      scores: [],
      extra_logs: { reward_model: [], cost: [], unsafe: [], failed: [] },
    });
    const scored = await post(app, ["hello there"], ["hello"]);
    expect(scored.statusCode).toBe(200);
    const keys = Object.keys(scored.json().extra_logs).sort();
    expect(keys).toEqual(["cost", "failed", "reward_model", "reward_model_std", "unsafe"]);
    // The reward model's own extras, once seen, are in every later answer too.
    expect(Object.keys((await post(app, [], [])).json().extra_logs).sort()).toEqual(keys);
  });

  it("keeps the keys when no item of a fail-closed request could be scored", async () => {
    const down = await rewardApp(broken, true);
    const floor = await post(down, ["hello hi", "2+2?4"], ["hello", "2+2?"]);
    expect(floor.statusCode, floor.body).toBe(200);
    expect(floor.json()).toEqual({
      rewards: [-5, -5],
      scores: [-5, -5],
      extra_logs: { reward_model: [0, 0], cost: [0, 0], unsafe: [0, 0], failed: [1, 1] },
    });
    const up = await rewardApp(byLength, true);
    const unsplittable = await post(up, ["no prompt here"], ["hello"]);
    expect(unsplittable.json().extra_logs).toEqual({
      reward_model: [0],
      cost: [0],
      unsafe: [0],
      failed: [1],
    });
  });

  it("answers a failure on its own side with the catalogue's title, not the failure's words", async () => {
    // The scorer's own message names files and upstreams, which are the operator's business;
    // the log has them (serve-model and keel serve answer the same way).
    const leaky: RewardProvider = {
      id: () => "leaky",
      score: async () => {
        throw new Error("cannot read /srv/models/secret-rm/model.onnx");
      },
    };
    const r = await post(await rewardApp(leaky), ["q a"], ["q"]);
    expect(r.statusCode).toBeGreaterThanOrEqual(500);
    expect(r.body).not.toContain("/srv/models");
    expect(r.json().error.message).toMatch(/try again later \(the server log has the details\)/);
  });
});
