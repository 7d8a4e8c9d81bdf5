/**
 * The fuzzing driver for `keel serve` (the rater/admin app): for a route (from the app's own
 * OpenAPI description), requests drawn from its published schema with one fault, bodies of the
 * wrong shape, type or size, odd path parameters and query strings, from every kind of caller;
 * and the checks every answer must pass (check.ts), that a refusal changed nothing stored, and
 * that the service still answers a normal request afterwards. KEEL_FUZZ_LOG=1 prints each
 * request and its status as it is sent (to find a request that hangs).
 */
import { Ajv } from "ajv";
import fc from "fast-check";
import { afterEach, expect, it } from "vitest";
import {
  type BodyCase,
  oddBody,
  oneFault,
  paramValue,
  queryString,
  validOf,
  writeJson,
} from "./arbitraries.js";
import { checkAnswer, describeSent, type Sent } from "./check.js";
import { type KeelFuzz, keelFuzz, ledgerLength, stateDigest } from "./keel-app.js";
import { opsFromOpenApi, type RouteOp, servedRoutes, shapeOf } from "./routes.js";

export const RUNS = 16;
const ajv = new Ajv({ strict: false, coerceTypes: false, useDefaults: true, allErrors: false });
const validator = (schema: object | undefined) => {
  if (!schema) return () => true;
  const v = ajv.compile(schema);
  // (Ajv fills in defaults: give it a value of its own, e.g. fresh from JSON.parse.)
  return (x: unknown) => v(x);
};

/** The routes the app declares with their schemas (OpenAPI), and those Fastify serves. */
export async function keelRoutes(): Promise<{ ops: RouteOp[]; served: Set<string> }> {
  const listing = await keelFuzz();
  const doc = (await listing.f.app.inject({ url: "/openapi.json" })).json();
  // The one route the description leaves out.
  const hidden: RouteOp[] = [
    { method: "GET", url: "/openapi.json", access: "public", bodyLimit: 1024 },
  ];
  const served = servedRoutes(listing.f.app);
  await listing.f.close();
  return { ops: [...opsFromOpenApi(doc), ...hidden], served };
}

/**
 * The two halves the routes are fuzzed in (a file each, to keep each file short): accounts
 * (sign-in, users, invitations, tokens, health, the description) and projects (everything
 * under /api/projects and /api/tasks).
 */
export const isProjectRoute = (op: RouteOp) => /^\/api\/(projects|tasks)\b/.test(op.url);

/** What one fuzzed request is made of. */
/** Callers (keel-app.ts) a route of each access lets in. */
const LET_IN: Record<string, readonly string[]> = {
  public: ["none", "rater"],
  user: ["rater", "rater2", "session", "outsider"],
  reviewer: ["reviewer", "admin"],
  admin: ["admin", "owner"],
};

export interface Case {
  readonly method: string;
  readonly actor: string;
  readonly params: Record<string, string>;
  readonly query: string;
  readonly body: BodyCase;
}

export function caseOf(op: RouteOp, fx: KeelFuzz): fc.Arbitrary<Case> {
  const limit = op.bodyLimit ?? 16 * 1024;
  const names = Object.keys((op.params?.properties ?? {}) as object);
  const params = fc.record(Object.fromEntries(names.map((n) => [n, paramValue(fx.good[n] ?? [])])));
  const query = op.query
    ? queryString(Object.keys(op.query.properties as object), { after_seq: "0", limit: "10" })
    : fc.oneof(fc.constant(""), queryString([], {}));
  const invalid = (
    (v) => (b: unknown) =>
      !v(JSON.parse(writeJson(b)))
  )(validator(op.body));
  const body: fc.Arbitrary<BodyCase> = op.body
    ? validOf(op.body).chain((base) =>
        fc.oneof(
          {
            weight: 1,
            arbitrary: fc.constant<BodyCase>({
              kind: "valid",
              payload: writeJson(base),
              contentType: "application/json",
            }),
          },
          { weight: 4, arbitrary: oneFault(base, limit, invalid) },
          { weight: 2, arbitrary: oddBody(base, limit) },
        ),
      )
    : fc.oneof(fc.constant<BodyCase>({ kind: "none" }), oddBody({}, limit));
  return fc.record({
    method: op.method === "GET" ? fc.constantFrom("GET", "GET", "HEAD") : fc.constant(op.method),
    // Most requests from callers the route lets in, so that they get past authentication.
    actor: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...LET_IN[op.access]!) },
      { weight: 2, arbitrary: fc.constantFrom(...Object.keys(fx.callers)) },
    ),
    params,
    query,
    body,
  });
}

export function urlOf(op: RouteOp, params: Record<string, string>, query: string): string {
  return op.url.replace(/:([A-Za-z]+)/g, (_, n: string) => params[n]!) + query;
}

function paramsValid(op: RouteOp, params: Record<string, string>): boolean {
  const decoded: Record<string, string> = {};
  for (const [n, v] of Object.entries(params)) {
    if (/[/?#;]/.test(v)) return false;
    try {
      decoded[n] = decodeURIComponent(v);
      // A dot segment is resolved away before routing: the URL names another route.
      if (decoded[n] === "." || decoded[n] === "..") return false;
    } catch {
      return false;
    }
  }
  return validator(op.params)(decoded);
}

export async function sendCase(fx: KeelFuzz, op: RouteOp, c: Case): Promise<void> {
  const url = urlOf(op, c.params, c.query);
  const sent: Sent = {
    method: c.method,
    url,
    actor: c.actor,
    body: c.body,
    paramsValid: paramsValid(op, c.params),
  };
  if (process.env.KEEL_FUZZ_LOG) console.error(describeSent(sent));
  const before = await stateDigest(fx.f);
  const seq = await ledgerLength(fx.f);
  const r = await fx.f.app.inject({
    method: c.method as "GET",
    url,
    headers: {
      ...fx.callers[c.actor],
      ...(c.body.contentType !== undefined ? { "content-type": c.body.contentType } : {}),
    },
    ...(c.body.payload !== undefined ? { payload: c.body.payload } : {}),
  });
  if (process.env.KEEL_FUZZ_LOG) console.error("->", r.statusCode);
  checkAnswer(r, sent, { shape: "keel", busy: ["KEEL_E_BUSY"] });
  const what = `${describeSent(sent)} → ${r.statusCode} ${r.body.slice(0, 300)}`;
  if (r.statusCode >= 400) {
    expect(await ledgerLength(fx.f), `the ledger grew on a refusal: ${what}`).toBe(seq);
    expect(await stateDigest(fx.f), `the store changed on a refusal: ${what}`).toBe(before);
  }
  const alive = await fx.f.app.inject({
    url: "/api/me",
    headers: { authorization: `Bearer ${fx.probe}` },
  });
  expect(alive.statusCode, `the service stopped answering after ${what}`).toBe(200);
}

/** The first real id of each path parameter of `op`. */
function goodParams(op: RouteOp, fx: KeelFuzz): Record<string, string> {
  const names = Object.keys((op.params?.properties ?? {}) as object);
  return Object.fromEntries(names.map((n) => [n, fx.good[n]![0]!]));
}

/**
 * Declares the tests of `ops`: each route fuzzed on a fresh server, a body over each route's
 * limit, and each method a route's path does not serve.
 */
export function fuzzRoutes(ops: readonly RouteOp[], served: ReadonlySet<string>): void {
  let k: KeelFuzz | undefined;
  afterEach(async () => {
    await k?.f.close();
    k = undefined;
  });

  for (const op of ops) {
    it(`${op.method} ${op.url}: never a 5xx, always keel's error shape, nothing changed on a refusal`, async () => {
      k = await keelFuzz();
      const fx = k;
      await fc.assert(
        fc.asyncProperty(caseOf(op, fx), (c) => sendCase(fx, op, c)),
        { numRuns: RUNS },
      );
    });
  }

  it("answers a body over a route's limit with 413 and changes nothing", async () => {
    k = await keelFuzz();
    const fx = k;
    for (const op of ops.filter((o) => o.method !== "GET")) {
      const limit = op.bodyLimit ?? 16 * 1024;
      const c: Case = {
        method: op.method,
        actor: op.access === "admin" ? "admin" : op.access === "reviewer" ? "reviewer" : "rater",
        params: goodParams(op, fx),
        query: "",
        body: {
          kind: "over-limit",
          payload: writeJson({ a: "x".repeat(limit) }),
          contentType: "application/json",
        },
      };
      const r = await fx.f.app.inject({
        method: c.method as "POST",
        url: urlOf(op, c.params, ""),
        headers: { ...fx.callers[c.actor], "content-type": "application/json" },
        payload: c.body.payload!,
      });
      expect(r.statusCode, `${op.method} ${op.url}: ${r.body}`).toBe(413);
      expect(r.json().error.code).toBe("KEEL_E_TOO_LARGE");
      expect(r.json().error.message).toBe(
        `request body is larger than this route accepts (${limit.toLocaleString("en")} bytes)`,
      );
      await sendCase(fx, op, c);
    }
  });

  it("answers a method a route does not serve with 405 and Allow in keel's error shape", async () => {
    k = await keelFuzz();
    const fx = k;
    for (const op of ops) {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
        if (served.has(shapeOf(method, op.url))) continue;
        const c: Case = {
          method,
          actor: "admin",
          params: goodParams(op, fx),
          query: "",
          body: { kind: "none" },
        };
        const r = await fx.f.app.inject({
          method: method as "GET",
          url: urlOf(op, c.params, ""),
          headers: fx.callers.admin!,
        });
        // The path is served, with other methods: 405 naming them (RFC 9110), not 404.
        expect(r.statusCode, `${method} ${op.url}: ${r.body}`).toBe(405);
        expect(r.json().error.code).toBe("KEEL_E_INVALID_RECORD");
        const allow = String(r.headers.allow).split(", ");
        expect(allow).not.toContain(method);
        const expected = ["DELETE", "GET", "PATCH", "POST", "PUT"].filter((m) =>
          served.has(shapeOf(m, op.url)),
        );
        if (expected.includes("GET")) expected.push("HEAD");
        expect(allow, `${method} ${op.url}`).toEqual(expected.sort());
        await sendCase(fx, op, c);
      }
    }
  });
}
