/**
 * The authorisation matrix: every route of the OpenAPI description, called by every kind of
 * caller — anonymous, a rater outside the project, a rater in it, reviewer, admin, owner —
 * with the status each must get. Routes that would change things are called with an invalid
 * body where the point is only whether the caller gets past authorisation (400 = let through
 * to validation; 401/403 = stopped before). The test fails if a route exists that the matrix
 * does not list, so a new route cannot skip it.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { type Actor, call, type Fixture, json, makeFixture, nextTask } from "./helpers.js";

type Who = "anon" | "outsider" | "rater" | "reviewer" | "admin" | "owner";
const WHO: Who[] = ["anon", "outsider", "rater", "reviewer", "admin", "owner"];

interface Case {
  url: string;
  body?: unknown;
  /** Expected status per caller; unlisted callers expect `rest`. */
  expect: Partial<Record<Who, number>> & { rest: number };
}

let f: Fixture;
let rater2Task: string;

beforeAll(async () => {
  const store = await openStore(join(tempDir(), "authz.db"), { create: true });
  f = await makeFixture(store, { quiz: 3 });
  const r = f.actors.rater;
  await call(f, r, "POST", "/api/projects/p1/guidelines/ack");
  const quiz = json<{ items: { quiz_id: string }[] }>(
    await call(f, r, "GET", "/api/projects/p1/quiz"),
  );
  // Find the right answers from one failed attempt's feedback, then pass.
  const first = json<{ results: { quiz_id: string; expected: string }[] }>(
    await call(f, r, "POST", "/api/projects/p1/quiz", {
      body: { answers: quiz.items.map((i) => ({ quiz_id: i.quiz_id, choice: "tie" })) },
    }),
  );
  const pass = await call(f, r, "POST", "/api/projects/p1/quiz", {
    body: { answers: first.results.map((x) => ({ quiz_id: x.quiz_id, choice: x.expected })) },
  });
  expect(json(pass).passed).toBe(true);
  const r2 = f.actors.rater2;
  await call(f, r2, "POST", "/api/projects/p1/guidelines/ack");
  await call(f, r2, "POST", "/api/projects/p1/quiz", {
    body: { answers: first.results.map((x) => ({ quiz_id: x.quiz_id, choice: "left" })) },
  });
  // rater2's quiz ids differ from rater's; rater2 need not pass for its task id to exist.
  rater2Task = "AAAAAAAAAAAAAAAAAAAAAA";
  const quiz2 = json<{ items: { quiz_id: string }[] }>(
    await call(f, r2, "GET", "/api/projects/p1/quiz"),
  );
  expect(quiz2.items.map((i) => i.quiz_id)).not.toEqual(quiz.items.map((i) => i.quiz_id));
});

afterAll(async () => f.close());

const ANY_USER = { anon: 401, rest: 200 };
const STAFF = { anon: 401, outsider: 403, rater: 403, rest: 200 };
const STAFF_WRITE_INVALID = { anon: 401, outsider: 403, rater: 403, reviewer: 400, rest: 400 };
const ADMIN_INVALID = { anon: 401, outsider: 403, rater: 403, reviewer: 403, rest: 400 };
const ADMIN_READ = { anon: 401, outsider: 403, rater: 403, reviewer: 403, rest: 200 };
const MEMBER = { anon: 401, rater: 200, rest: 404 };

function matrix(): Record<string, Case> {
  const uid = () => f.actors.rater.user_id;
  return {
    "GET /healthz": { url: "/healthz", expect: { rest: 200 } },
    "GET /api/health": { url: "/api/health", expect: ADMIN_READ },
    "POST /api/session": {
      url: "/api/session",
      body: { login: "rater", password: "wrong password!" },
      expect: { rest: 401 },
    },
    "DELETE /api/session": { url: "/api/session", expect: ANY_USER },
    "GET /api/me": { url: "/api/me", expect: ANY_USER },
    "POST /api/me/password": {
      url: "/api/me/password",
      body: { current_password: "x" },
      expect: { anon: 401, rest: 400 },
    },
    "GET /api/invitations/{token}": {
      url: `/api/invitations/${"x".repeat(43)}`,
      expect: { rest: 404 },
    },
    "POST /api/invitations/{token}/accept": {
      url: `/api/invitations/${"x".repeat(43)}/accept`,
      body: { login: "newbie", password: "long enough password" },
      expect: { rest: 404 },
    },
    "GET /api/users": { url: "/api/users", expect: ADMIN_READ },
    "POST /api/users": { url: "/api/users", body: { login: "x" }, expect: ADMIN_INVALID },
    "PATCH /api/users/{userId}": {
      url: `/api/users/${uid()}`,
      body: { role: "emperor" },
      expect: ADMIN_INVALID,
    },
    "POST /api/invitations": {
      url: "/api/invitations",
      body: { role: "emperor" },
      expect: ADMIN_INVALID,
    },
    "GET /api/invitations": { url: "/api/invitations", expect: ADMIN_READ },
    "DELETE /api/invitations/{invitationId}": {
      url: "/api/invitations/i_nonexistent",
      expect: { anon: 401, outsider: 403, rater: 403, reviewer: 403, rest: 404 },
    },
    "GET /api/tokens": { url: "/api/tokens", expect: ANY_USER },
    "POST /api/tokens": { url: "/api/tokens", body: {}, expect: { anon: 401, rest: 400 } },
    "DELETE /api/tokens/{tokenId}": {
      url: "/api/tokens/t_nonexistent",
      expect: { anon: 401, rest: 404 },
    },
    "GET /api/projects": { url: "/api/projects", expect: ANY_USER },
    "POST /api/projects": { url: "/api/projects", body: { project_id: "" }, expect: ADMIN_INVALID },
    "GET /api/projects/{projectId}": {
      url: "/api/projects/p1",
      expect: { anon: 401, outsider: 404, rest: 200 },
    },
    "PATCH /api/projects/{projectId}": {
      url: "/api/projects/p1",
      body: { overlap: -1 },
      expect: ADMIN_INVALID,
    },
    "GET /api/projects/{projectId}/me": { url: "/api/projects/p1/me", expect: MEMBER },
    "POST /api/projects/{projectId}/items": {
      url: "/api/projects/p1/items",
      body: { items: [] },
      expect: ADMIN_INVALID,
    },
    "GET /api/projects/{projectId}/members": { url: "/api/projects/p1/members", expect: STAFF },
    "POST /api/projects/{projectId}/members": {
      url: "/api/projects/p1/members",
      body: { user_ids: [] },
      expect: ADMIN_INVALID,
    },
    "GET /api/projects/{projectId}/quiz": { url: "/api/projects/p1/quiz", expect: MEMBER },
    "POST /api/projects/{projectId}/quiz": {
      url: "/api/projects/p1/quiz",
      body: { answers: [{ quiz_id: "A".repeat(22), choice: "left" }] },
      expect: { anon: 401, rater: 409, rest: 404 },
    },
    "POST /api/projects/{projectId}/guidelines/ack": {
      url: "/api/projects/p1/guidelines/ack",
      expect: MEMBER,
    },
    "POST /api/projects/{projectId}/tasks/next": {
      url: "/api/projects/p1/tasks/next",
      expect: MEMBER,
    },
    "POST /api/tasks/{taskId}/judgment": {
      url: `/api/tasks/${rater2Task}/judgment`,
      body: { choice: "left" },
      expect: { anon: 401, rest: 404 },
    },
    "POST /api/tasks/{taskId}/skip": {
      url: `/api/tasks/${rater2Task}/skip`,
      body: { reason: "unclear" },
      expect: { anon: 401, rest: 404 },
    },
    "GET /api/projects/{projectId}/progress/me": {
      url: "/api/projects/p1/progress/me",
      expect: MEMBER,
    },
    "GET /api/projects/{projectId}/judgments/me": {
      url: "/api/projects/p1/judgments/me",
      expect: MEMBER,
    },
    "GET /api/projects/{projectId}/raters": { url: "/api/projects/p1/raters", expect: STAFF },
    "GET /api/projects/{projectId}/agreement": { url: "/api/projects/p1/agreement", expect: STAFF },
    "GET /api/projects/{projectId}/groups": { url: "/api/projects/p1/groups", expect: STAFF },
    "GET /api/projects/{projectId}/progress": { url: "/api/projects/p1/progress", expect: STAFF },
    "GET /api/projects/{projectId}/reviews": { url: "/api/projects/p1/reviews", expect: STAFF },
    "POST /api/projects/{projectId}/members/{userId}/review": {
      url: `/api/projects/p1/members/${uid()}/review`,
      body: { action: "promote", reason: "x" },
      expect: STAFF_WRITE_INVALID,
    },
    "GET /api/projects/{projectId}/judgments": { url: "/api/projects/p1/judgments", expect: STAFF },
    "GET /api/projects/{projectId}/export": { url: "/api/projects/p1/export", expect: STAFF },
  };
}

function actorOf(who: Who): Actor | undefined {
  return who === "anon" ? undefined : f.actors[who];
}

describe("authorisation matrix", () => {
  it("lists every route of the OpenAPI description", async () => {
    const doc = json<{ paths: Record<string, Record<string, unknown>> }>(
      await call(f, undefined, "GET", "/openapi.json"),
    );
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(routes.sort()).toEqual(Object.keys(matrix()).sort());
  });

  for (const who of WHO) {
    it(`gives ${who} exactly the access the matrix says`, async () => {
      // A task of rater2's, which nobody else may judge or skip.
      await call(f, f.actors.rater2, "POST", "/api/projects/p1/guidelines/ack");
      const got: string[] = [];
      const want: string[] = [];
      for (const [key, c] of Object.entries(matrix())) {
        const [method] = key.split(" ") as ["GET" | "POST" | "PATCH" | "DELETE"];
        const r = await call(
          f,
          actorOf(who),
          method,
          c.url,
          c.body !== undefined ? { body: c.body } : {},
        );
        got.push(`${key} -> ${r.statusCode}`);
        want.push(`${key} -> ${c.expect[who] ?? c.expect.rest}`);
      }
      expect(got).toEqual(want);
    });
  }

  it("answers every refusal with a catalogue error body", async () => {
    const r = await call(f, f.actors.rater, "GET", "/api/projects/p1/raters");
    expect(r.statusCode).toBe(403);
    expect(json<{ error: { code: string } }>(r).error.code).toBe("KEEL_E_FORBIDDEN");
    const a = await call(f, undefined, "GET", "/api/me");
    expect(json<{ error: { code: string } }>(a).error.code).toBe("KEEL_E_UNAUTHORIZED");
  });

  it("does not let a rater judge a task reserved for another rater", async () => {
    const r2 = f.actors.rater2;
    const t = await nextTask(f, r2).catch(() => null);
    // rater2 has not passed the quiz: it is refused a task at all.
    expect(t).toBeNull();
    const r = f.actors.rater;
    const mine = await nextTask(f, r);
    expect(mine).not.toBeNull();
    const other = await call(f, f.actors.outsider, "POST", `/api/tasks/${mine!.task_id}/judgment`, {
      body: { choice: "left" },
    });
    expect(other.statusCode).toBe(404);
    const admin = await call(f, f.actors.admin, "POST", `/api/tasks/${mine!.task_id}/judgment`, {
      body: { choice: "left" },
    });
    expect(admin.statusCode).toBe(404);
  });
});
