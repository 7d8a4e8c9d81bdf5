/**
 * `keel serve-rm` (OpenRLHF's remote reward protocol), every route fuzzed (service-driver.ts)
 * with an API key, in front of a reward model that counts what it scores: never a 5xx but the
 * documented busy state, always keel's error shape naming the field at fault, a refused request
 * never scored, and the service answering afterwards.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import { ok, type RewardProvider } from "../../src/providers/index.js";
import { buildRewardApp, RewardRequest } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";
import { servedRoutes, shapeOf } from "./routes.js";
import { fuzzRoute, type Service, type ServiceRoute } from "./service-driver.js";

const KEY = "rm-fuzz-key";
const LIMIT = 64 * 1024;
let scored = 0;

const byLength: RewardProvider = {
  id: () => "length",
  score: async (items) => {
    scored += items.length;
    return ok({ rewards: items.map((i) => i.response.length) });
  },
};

/** A valid request the service takes: each query is its prompt followed by a response. */
function scorable(b: unknown): unknown {
  const body = b as { query: string[]; prompts: string[]; labels?: (string | null)[] | null };
  const prompts = body.query.map((_, i) => body.prompts[i] ?? `p${i}`);
  return {
    ...body,
    prompts,
    query: prompts.map((p, i) => `${p} answer ${body.query[i]}`),
    ...(Array.isArray(body.labels)
      ? { labels: prompts.map((_, i) => body.labels![i] ?? null) }
      : {}),
  };
}

const ROUTES: ServiceRoute[] = [
  { method: "GET", url: "/healthz", bodyLimit: 1024 },
  { method: "POST", url: "/get_reward", body: RewardRequest, bodyLimit: LIMIT, fix: scorable },
];

let app: FastifyInstance;
let service: Service;
beforeAll(async () => {
  ({ app } = await buildRewardApp({
    scorer: new CombinedScorer({ reward: byLength, safety: ruleClassifier(), floor: -5 }),
    floor: -5,
    apiKey: KEY,
    logLevel: "silent",
    bodyLimit: LIMIT,
    maxItems: 64,
  }));
  const auth = (h: string) => ({ authorization: h });
  service = {
    app,
    envelope: { shape: "keel", busy: ["KEEL_E_BUSY"], bodyPrefix: "" },
    work: () => scored,
    callers: {
      none: {},
      key: auth(`Bearer ${KEY}`),
      wrongKey: auth("Bearer rm-other"),
      basic: auth("Basic cm06aw=="),
    },
    probe: {
      method: "POST",
      url: "/get_reward",
      headers: auth(`Bearer ${KEY}`),
      payload: { query: ["hi there"], prompts: ["hi"] },
    },
  };
});
afterAll(async () => {
  await app.close();
});

describe("keel serve-rm, every route fuzzed", () => {
  it("fuzzes every route the app serves", () => {
    expect([...servedRoutes(app)].sort()).toEqual(
      ROUTES.map((r) => shapeOf(r.method, r.url)).sort(),
    );
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.url}: never a 5xx, always keel's error shape, nothing scored on a refusal`, async () => {
      await fuzzRoute(service, route, route.body ? 80 : 25);
    });
  }

  it("names an unknown field by itself, and no field for a body that is not an object", async () => {
    const post = (payload: string) =>
      app.inject({
        method: "POST",
        url: "/get_reward",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        payload,
      });
    const extra = await post('{"query":[],"prompts":[],"extra":1}');
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.where).toEqual({ field: "extra" });
    expect(extra.json().error.message).toMatch(/^extra: unknown field "extra"/);
    const list = await post("[]");
    expect(list.statusCode).toBe(400);
    expect(list.json().error.where).toBeUndefined();
  });

  it("answers the health check without the key whatever its query string, and nothing else", async () => {
    // Before, only the exact URL "/healthz" was exempt: "/healthz?probe=1" asked for the key.
    for (const url of ["/healthz", "/healthz?probe=1", "/healthz?"])
      expect((await app.inject({ url })).statusCode, url).toBe(200);
    expect((await app.inject({ url: "/healthz/x" })).statusCode).toBe(401);
  });
});
