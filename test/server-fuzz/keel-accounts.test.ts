/**
 * `keel serve`: the route list checked against the app (a route added later cannot go
 * unfuzzed); the account routes (sign-in, users, invitations, tokens, health, the description)
 * fuzzed (keel-driver.ts); and the faults the fuzzing found, each pinned by a plain test.
 */
import { describe, expect, it } from "vitest";
import { deep } from "./arbitraries.js";
import { keelFuzz } from "./keel-app.js";
import { fuzzRoutes, isProjectRoute, keelRoutes, urlOf } from "./keel-driver.js";
import { shapeOf } from "./routes.js";

const { ops, served } = await keelRoutes();

describe("keel serve, the routes fuzzed", () => {
  it("are every route the app serves, each in one of the two halves", () => {
    expect([...served].sort()).toEqual(ops.map((o) => shapeOf(o.method, o.url)).sort());
    expect(ops.filter(isProjectRoute).length).toBeGreaterThan(15);
    expect(ops.filter((o) => !isProjectRoute(o)).length).toBeGreaterThan(15);
  });
});

describe("keel serve, account routes fuzzed", () => {
  fuzzRoutes(
    ops.filter((o) => !isProjectRoute(o)),
    served,
  );
});

describe("keel serve, what the fuzzing found", () => {
  it("answers JSON nested as deep as a body limit allows with 400 naming a field, not 500", async () => {
    const k = await keelFuzz();
    try {
      for (const op of ops.filter((o) => o.body !== undefined)) {
        const field = Object.keys((op.body!.properties ?? { x: 0 }) as object)[0]!;
        const params = Object.fromEntries(
          Object.keys((op.params?.properties ?? {}) as object).map((n) => [n, k.good[n]![0]!]),
        );
        // Arrays two bytes a level; the smallest limit (1 KiB) still allows hundreds.
        const depth = Math.floor(((op.bodyLimit ?? 16_384) - 64) / 2);
        const r = await k.f.app.inject({
          method: op.method as "POST",
          url: urlOf(op, params, ""),
          headers: { ...k.callers.owner, "content-type": "application/json" },
          payload: `{${JSON.stringify(field)}:${deep(Math.min(depth, 200_000), "array")}}`,
        });
        expect(r.statusCode, `${op.method} ${op.url}: ${r.body}`).toBe(400);
        // (A required field missing is reported, at the body, before the nested one.)
        expect(r.json().error.where.field, `${op.method} ${op.url}`).toMatch(/^body(\.|$)/);
      }
    } finally {
      await k.f.close();
    }
  });

  it("names an unknown field in a body that must be empty, not the union it failed", async () => {
    const k = await keelFuzz();
    try {
      const extra = await k.f.app.inject({
        method: "POST",
        url: "/api/projects/p1/tasks/next",
        headers: k.callers.rater,
        payload: { project: "p1" },
      });
      expect(extra.statusCode).toBe(400);
      expect(extra.json().error).toEqual({
        code: "KEEL_E_INVALID_RECORD",
        message: 'body.project: unknown field "project"',
        where: { field: "body.project" },
      });
    } finally {
      await k.f.close();
    }
  });
});
