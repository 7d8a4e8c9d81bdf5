/**
 * A path served with other methods than the request's is answered 405 with `Allow`
 * (src/server/http/methods.ts) by keel serve, serve-model and serve-rm, each in its own error
 * shape, where all three said 404 "no route", as if the path were wrong. A path no route serves
 * is still 404, the web app still loads at its own paths, and the 405 comes after the same
 * rate limit and API key checks as the 404 did.
 */
import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { type GenerationProvider, ok, type RewardProvider } from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { buildRewardApp } from "../../src/server/reward/app.js";
import { CombinedScorer } from "../../src/server/reward/scorer.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { type Actor, type Fixture, makeFixture } from "./helpers.js";

let f: Fixture | undefined;
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await f?.close();
  f = undefined;
  for (const a of apps.splice(0)) await a.close();
});

async function keel(options: Parameters<typeof makeFixture>[2] = {}): Promise<Fixture> {
  f = await makeFixture(
    await openStore(join(tempDir(), `s${Math.random()}.db`), { create: true }),
    { quiz: 0 },
    options,
  );
  return f;
}

/** `call` of helpers.ts with any method: as `actor`'s API token, or anonymous. */
function call(
  fx: Fixture,
  actor: Actor | undefined,
  method: HTTPMethods,
  url: string,
  opts: { body?: object } = {},
): Promise<LightMyRequestResponse> {
  return fx.app.inject({
    method,
    url,
    headers: actor ? { authorization: `Bearer ${actor.token}` } : {},
    ...(opts.body !== undefined ? { payload: opts.body } : {}),
  });
}

const provider: GenerationProvider = {
  id: () => "fixed",
  generate: async () =>
    ok({
      text: "hi",
      finishReason: "stop",
      usage: { promptTokens: 1, completionTokens: 1 },
      model: "fixed",
    }),
};

async function modelApp(o: { apiKey?: string; bodyLimit?: number } = {}) {
  const app = await buildModelApp({ provider, model: "m", logLevel: "silent", ...o });
  apps.push(app);
  return app;
}

const reward: RewardProvider = {
  id: () => "one",
  score: async (items) => ok({ rewards: items.map(() => 1) }),
};

async function rewardApp(o: { apiKey?: string; bodyLimit?: number } = {}) {
  const { app } = await buildRewardApp({
    scorer: new CombinedScorer({ reward, floor: -10 }),
    floor: -10,
    logLevel: "silent",
    ...o,
  });
  apps.push(app);
  return app;
}

/** Status, Allow header and error code of an answer in keel's or OpenAI's error shape. */
function seen(r: LightMyRequestResponse) {
  const body = r.json() as { error?: { code?: string } };
  return { status: r.statusCode, allow: r.headers.allow, code: body.error?.code };
}

const notAllowed = (allow: string) => ({ status: 405, allow, code: "KEEL_E_INVALID_RECORD" });
const notFound = { status: 404, allow: undefined, code: "KEEL_E_NOT_FOUND" };

describe("keel serve", () => {
  it("answers a wrong method on a route's path 405 with Allow, parametric paths included", async () => {
    const fx = await keel();
    const owner = fx.actors.owner;
    const answers = {
      judgment: await call(fx, owner, "GET", "/api/tasks/t_anything/judgment"),
      project: await call(fx, owner, "PUT", "/api/projects/p1", { body: {} }),
      unknownProject: await call(fx, owner, "DELETE", "/api/projects/no-such-project"),
      withQuery: await call(fx, owner, "DELETE", "/api/projects/p1/members?x=1"),
      health: await call(fx, owner, "POST", "/healthz", { body: {} }),
      options: await call(fx, owner, "OPTIONS", "/api/projects"),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, seen(r)]))).toEqual({
      judgment: notAllowed("POST"),
      project: notAllowed("GET, HEAD, PATCH"),
      // The route's pattern decides, not whether the project exists.
      unknownProject: notAllowed("GET, HEAD, PATCH"),
      withQuery: notAllowed("GET, HEAD, POST"),
      health: notAllowed("GET, HEAD"),
      options: notAllowed("GET, HEAD, POST"),
    });
    expect(answers.judgment.json()).toEqual({
      error: {
        code: "KEEL_E_INVALID_RECORD",
        message: "GET is not allowed on /api/tasks/t_anything/judgment; it accepts POST",
      },
    });
    // The answer carries the security headers every other answer has.
    expect(answers.project.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("still answers 404 for a path no route serves, and HEAD on a GET route as Fastify does", async () => {
    const fx = await keel();
    const owner = fx.actors.owner;
    expect(seen(await call(fx, owner, "GET", "/api/no-such-thing"))).toEqual(notFound);
    expect(seen(await call(fx, owner, "PUT", "/api/projects/p1/no-such-thing"))).toEqual(notFound);
    expect(seen(await call(fx, undefined, "DELETE", "/nowhere"))).toEqual(notFound);
    const head = await call(fx, undefined, "HEAD", "/healthz");
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");
  });

  it("tells an anonymous client nothing /openapi.json does not, and counts it in the rate limit", async () => {
    const fx = await keel({ rateLimits: { ip: { rate: 0.001, burst: 3 } } as never });
    // A reviewer's route, asked by nobody with the wrong method: 405, not 401, as the 404 was not
    // 401 either; the path and its methods are public in the OpenAPI description.
    const raters = await call(fx, undefined, "POST", "/api/projects/p1/raters", { body: {} });
    expect(seen(raters)).toEqual(notAllowed("GET, HEAD"));
    const doc = (await call(fx, undefined, "GET", "/openapi.json")).json() as {
      paths: Record<string, Record<string, { "x-keel-access": string }>>;
    };
    const described = doc.paths["/api/projects/{projectId}/raters"]!;
    expect(Object.keys(described)).toEqual(["get"]);
    expect(described.get!["x-keel-access"]).toBe("reviewer");
    // Third request from this address within the burst of 3; the fourth is refused.
    expect(
      seen(await call(fx, undefined, "POST", "/api/projects/p1/raters", { body: {} })),
    ).toEqual(notAllowed("GET, HEAD"));
    const limited = await call(fx, undefined, "POST", "/api/projects/p1/raters", { body: {} });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers.allow).toBeUndefined();
  });
});

describe("keel serve with the web app", () => {
  async function withWeb() {
    const root = tempDir();
    writeFileSync(join(root, "index.html"), "<!doctype html><title>keel</title>");
    writeFileSync(join(root, "app.js"), "console.log(1);\n");
    return { root, fx: await keel({ webRoot: root }) };
  }

  it("loads the app at its own paths and answers 405 on the API's and the files' paths", async () => {
    const { fx } = await withWeb();
    const page = await call(fx, undefined, "GET", "/rate/p1");
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("<title>keel</title>");
    expect((await call(fx, undefined, "GET", "/app.js")).body).toBe("console.log(1);\n");
    expect(seen(await call(fx, undefined, "GET", "/api/tasks/t1/skip"))).toEqual(
      notAllowed("POST"),
    );
    expect(seen(await call(fx, undefined, "PUT", "/app.js", { body: {} }))).toEqual(
      notAllowed("GET, HEAD"),
    );
    expect(seen(await call(fx, undefined, "POST", "/rate/p1", { body: {} }))).toEqual(notFound);
    expect(seen(await call(fx, undefined, "GET", "/api/no-such-thing"))).toEqual(notFound);
  });

  it("loads the app, not a 405, for a file removed since the server started", async () => {
    const { root, fx } = await withWeb();
    unlinkSync(join(root, "app.js"));
    const gone = await call(fx, undefined, "GET", "/app.js");
    expect(gone.statusCode).toBe(200);
    expect(gone.body).toContain("<title>keel</title>");
  });
});

describe("keel serve-model", () => {
  it("answers 405 with Allow in OpenAI's error shape, and 404 for an unknown path", async () => {
    const app = await modelApp();
    const chat = await app.inject({ method: "GET", url: "/v1/chat/completions" });
    expect(chat.statusCode).toBe(405);
    expect(chat.headers.allow).toBe("POST");
    expect(chat.json()).toEqual({
      error: {
        message: "GET is not allowed on /v1/chat/completions; it accepts POST",
        type: "invalid_request_error",
        param: null,
        code: "KEEL_E_INVALID_RECORD",
      },
    });
    const model = await app.inject({ method: "DELETE", url: "/v1/models/m" });
    expect([model.statusCode, model.headers.allow]).toEqual([405, "GET, HEAD"]);
    const unknown = await app.inject({ method: "GET", url: "/v1/embeddings" });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, "KEEL_E_NOT_FOUND"]);
    const head = await app.inject({ method: "HEAD", url: "/v1/models" });
    expect(head.statusCode).toBe(200);
  });

  it("asks for the API key first, and reads no body of a request it refuses", async () => {
    const app = await modelApp({ apiKey: "sekrit", bodyLimit: 1000 });
    const anon = await app.inject({ method: "GET", url: "/v1/chat/completions" });
    expect([anon.statusCode, anon.headers.allow]).toEqual([401, undefined]);
    const keyed = await app.inject({
      method: "PUT",
      url: "/v1/chat/completions",
      headers: { authorization: "Bearer sekrit", "content-type": "application/json" },
      payload: JSON.stringify({ pad: "x".repeat(5000) }),
    });
    // Not 413: the body was never read, let alone parsed.
    expect([keyed.statusCode, keyed.headers.allow]).toEqual([405, "POST"]);
  });
});

describe("keel serve-rm", () => {
  it("answers 405 with Allow in keel's error shape, and 404 (with its hint) for an unknown path", async () => {
    const app = await rewardApp();
    const get = await app.inject({ method: "GET", url: "/get_reward" });
    expect(seen(get)).toEqual(notAllowed("POST"));
    expect(get.json()).toEqual({
      error: {
        code: "KEEL_E_INVALID_RECORD",
        message: "GET is not allowed on /get_reward; it accepts POST",
      },
    });
    const health = await app.inject({ method: "POST", url: "/healthz?probe=1", payload: {} });
    expect(seen(health)).toEqual(notAllowed("GET, HEAD"));
    const unknown = await app.inject({ method: "POST", url: "/reward", payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.hint).toBe("POST /get_reward, GET /healthz");
  });

  it("asks for the API key first, and reads no body of a request it refuses", async () => {
    const app = await rewardApp({ apiKey: "sekrit", bodyLimit: 1000 });
    const anon = await app.inject({ method: "PUT", url: "/get_reward", payload: {} });
    expect([anon.statusCode, anon.headers.allow]).toEqual([401, undefined]);
    const big = JSON.stringify({ query: ["x".repeat(5000)], prompts: ["x"] });
    const refused = await app.inject({
      method: "PUT",
      url: "/get_reward",
      headers: { authorization: "Bearer sekrit", "content-type": "application/json" },
      payload: big,
    });
    // Not 413: the body was never read (the not-found route read up to the body limit, 64 MiB
    // by default, outside the bound on bodies held at once).
    expect(seen(refused)).toEqual(notAllowed("POST"));
    const lost = await app.inject({
      method: "POST",
      url: "/no-such-path",
      headers: { authorization: "Bearer sekrit", "content-type": "application/json" },
      payload: big,
    });
    expect(lost.statusCode).toBe(404);
  });
});
