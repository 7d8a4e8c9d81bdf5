/**
 * The fuzzing driver for keel's model-serving apps (`keel serve-model`, `keel serve-rm`): they
 * validate bodies with zod in their handlers rather than with route schemas, so a route's
 * bodies are drawn from the zod schema's JSON Schema and judged by the zod schema itself.
 * Each request must pass check.ts; a refused one must not have reached the model (`work()`
 * unchanged); the service answers a normal request afterwards.
 */
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import type { z } from "zod";
import { js } from "../../src/server/http/schema.js";
import {
  type BodyCase,
  oddBody,
  oneFault,
  paramValue,
  queryString,
  validOf,
  writeJson,
} from "./arbitraries.js";
import { checkAnswer, describeSent, type Envelope, type Sent } from "./check.js";

export interface ServiceRoute {
  readonly method: "GET" | "POST";
  /** Fastify's form: /v1/models/:id */
  readonly url: string;
  readonly body?: z.ZodType;
  readonly bodyLimit: number;
  /** Real values of each path parameter. */
  readonly good?: Record<string, readonly string[]>;
  /** Shapes a valid body so that the service takes it (e.g. a query that holds its prompt). */
  readonly fix?: (body: unknown) => unknown;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly callers: Record<string, Record<string, string>>;
  readonly envelope: Envelope;
  /** How much model work has been done so far (calls, items scored). */
  work(): number;
  /** A normal request that must succeed. */
  readonly probe: {
    method: "GET" | "POST";
    url: string;
    headers: Record<string, string>;
    payload?: object;
  };
}

interface Case {
  readonly method: string;
  readonly actor: string;
  readonly params: Record<string, string>;
  readonly query: string;
  readonly body: BodyCase;
}

function caseOf(route: ServiceRoute, s: Service): fc.Arbitrary<Case> {
  const names = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  const params = fc.record(
    Object.fromEntries(names.map((n) => [n, paramValue(route.good?.[n] ?? [])])),
  );
  const schema = route.body;
  let body: fc.Arbitrary<BodyCase>;
  if (schema) {
    const invalid = (b: unknown) => !schema.safeParse(JSON.parse(writeJson(b))).success;
    const fix = route.fix ?? ((b: unknown) => b);
    body = validOf(js(schema)).chain((raw) => {
      const base = fix(raw);
      return fc.oneof(
        {
          weight: 1,
          arbitrary: fc.constant<BodyCase>({
            kind: "valid",
            payload: writeJson(base),
            contentType: "application/json",
          }),
        },
        { weight: 4, arbitrary: oneFault(base, route.bodyLimit, invalid) },
        { weight: 2, arbitrary: oddBody(base, route.bodyLimit) },
      );
    });
  } else body = fc.oneof(fc.constant<BodyCase>({ kind: "none" }), oddBody({}, route.bodyLimit));
  return fc.record({
    method: route.method === "GET" ? fc.constantFrom("GET", "HEAD") : fc.constant(route.method),
    actor: fc.constantFrom(...Object.keys(s.callers)),
    params,
    query: fc.oneof(fc.constant(""), queryString([], {})),
    body,
  });
}

async function sendCase(s: Service, route: ServiceRoute, c: Case): Promise<void> {
  const url = route.url.replace(/:([A-Za-z]+)/g, (_, n: string) => c.params[n]!) + c.query;
  const sent: Sent = {
    method: c.method,
    url,
    actor: c.actor,
    body: c.body,
    // No route of these apps validates its parameters by schema.
    paramsValid: Object.keys(c.params).length === 0,
  };
  const before = s.work();
  const r = await s.app.inject({
    method: c.method as "GET",
    url,
    headers: {
      ...s.callers[c.actor],
      ...(c.body.contentType !== undefined ? { "content-type": c.body.contentType } : {}),
    },
    ...(c.body.payload !== undefined ? { payload: c.body.payload } : {}),
  });
  checkAnswer(r, sent, s.envelope);
  const what = `${describeSent(sent)} → ${r.statusCode} ${r.body.slice(0, 300)}`;
  if (r.statusCode >= 400)
    expect(s.work(), `a refused request reached the model: ${what}`).toBe(before);
  const alive = await s.app.inject(s.probe);
  expect(alive.statusCode, `the service stopped answering after ${what}: ${alive.body}`).toBe(200);
}

export async function fuzzRoute(s: Service, route: ServiceRoute, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(caseOf(route, s), (c) => sendCase(s, route, c)),
    { numRuns },
  );
}
