/**
 * Sessions and CSRF, escalation attempts, invitations, schema rejections, body limits and
 * rate limits.
 */
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import {
  collectionDb,
  createApiToken,
  createUser,
  getProject,
  listItems,
} from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { call, type Fixture, json, login, makeFixture, PASSWORD } from "./helpers.js";

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function fixture(options: Parameters<typeof makeFixture>[2] = {}): Promise<Fixture> {
  f = await makeFixture(
    await openStore(join(tempDir(), `s${Math.random()}.db`), { create: true }),
    { quiz: 0 },
    options,
  );
  return f;
}

type Err = { error: { code: string; message: string; where?: { field?: string } } };

describe("sessions and CSRF", () => {
  it("sets an httpOnly SameSite=Strict cookie and needs the CSRF token to change anything", async () => {
    const fx = await fixture({ secureCookies: true });
    const r = await fx.app.inject({
      method: "POST",
      url: "/api/session",
      payload: { login: "rater", password: PASSWORD },
    });
    const cookie = String(r.headers["set-cookie"]);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Secure/);
    const session = cookie.split(";")[0]!;
    const csrf = json<{ csrf_token: string }>(r).csrf_token;
    const read = await fx.app.inject({
      method: "GET",
      url: "/api/me",
      headers: { cookie: session },
    });
    expect(read.statusCode).toBe(200);
    expect(json<{ csrf_token: string }>(read).csrf_token).toBe(csrf);
    const url = "/api/projects/p1/guidelines/ack";
    const none = await fx.app.inject({ method: "POST", url, headers: { cookie: session } });
    expect(none.statusCode).toBe(403);
    const wrong = await fx.app.inject({
      method: "POST",
      url,
      headers: { cookie: session, "x-csrf-token": `${csrf.slice(0, -1)}x` },
    });
    expect(wrong.statusCode).toBe(403);
    const ok = await fx.app.inject({
      method: "POST",
      url,
      headers: { cookie: session, "x-csrf-token": csrf },
    });
    expect(ok.statusCode).toBe(200);
    // API tokens carry no ambient credential: no CSRF token needed.
    expect((await call(fx, fx.actors.rater, "POST", url)).statusCode).toBe(200);
    const out = await fx.app.inject({
      method: "DELETE",
      url: "/api/session",
      headers: { cookie: session, "x-csrf-token": csrf },
    });
    expect(out.statusCode).toBe(200);
    expect(
      (await fx.app.inject({ method: "GET", url: "/api/me", headers: { cookie: session } }))
        .statusCode,
    ).toBe(401);
  });

  it("forgets a user's expired sessions when they sign in again", async () => {
    // Before, nothing deleted an expired session: one row per sign-in, kept for good.
    const fx = await fixture({ sessionTtlHours: 1 });
    const rows = async () =>
      (
        await collectionDb(fx.store)
          .selectFrom("sessions")
          .select("expires_at")
          .where("user_id", "=", fx.actors.rater.user_id)
          .execute()
      ).length;
    await login(fx, fx.actors.rater);
    await login(fx, fx.actors.rater);
    expect(await rows()).toBe(2);
    fx.advance(3_601_000);
    expect((await call(fx, fx.actors.rater, "GET", "/api/me", { session: true })).statusCode).toBe(
      401,
    );
    await login(fx, fx.actors.rater);
    expect(await rows()).toBe(1);
  });

  it("ends a session at the very millisecond it expires", async () => {
    let t = Date.parse("2026-06-01T00:00:00.000Z");
    const fx = await fixture({ sessionTtlHours: 1, now: () => new Date(t) });
    await login(fx, fx.actors.rater);
    const me = async () =>
      (await call(fx, fx.actors.rater, "GET", "/api/me", { session: true })).statusCode;
    t += 3_600_000 - 1;
    expect(await me()).toBe(200);
    t += 1;
    expect(await me()).toBe(401);
  });

  it("refuses wrong passwords, unknown logins and disabled users alike", async () => {
    const fx = await fixture();
    for (const body of [
      { login: "rater", password: "not the password" },
      { login: "nobody", password: PASSWORD },
    ]) {
      const r = await fx.app.inject({ method: "POST", url: "/api/session", payload: body });
      expect(r.statusCode).toBe(401);
      expect(json<Err>(r).error.message).toBe("wrong login or password");
    }
    await login(fx, fx.actors.rater2);
    const d = await call(fx, fx.actors.admin, "PATCH", `/api/users/${fx.actors.rater2.user_id}`, {
      body: { disabled: true },
    });
    expect(d.statusCode).toBe(200);
    expect((await call(fx, fx.actors.rater2, "GET", "/api/me", { session: true })).statusCode).toBe(
      401,
    );
    expect((await call(fx, fx.actors.rater2, "GET", "/api/me")).statusCode).toBe(401);
    const again = await fx.app.inject({
      method: "POST",
      url: "/api/session",
      payload: { login: "rater2", password: PASSWORD },
    });
    expect(again.statusCode).toBe(401);
  });

  it("revokes API tokens", async () => {
    const fx = await fixture();
    const t = json<{ token: string; token_id: string }>(
      await call(fx, fx.actors.rater, "POST", "/api/tokens", { body: { name: "script" } }),
    );
    const h = { authorization: `Bearer ${t.token}` };
    expect((await fx.app.inject({ method: "GET", url: "/api/me", headers: h })).statusCode).toBe(
      200,
    );
    expect(
      (await call(fx, fx.actors.rater2, "DELETE", `/api/tokens/${t.token_id}`)).statusCode,
    ).toBe(404);
    expect(
      (await call(fx, fx.actors.rater, "DELETE", `/api/tokens/${t.token_id}`)).statusCode,
    ).toBe(200);
    expect((await fx.app.inject({ method: "GET", url: "/api/me", headers: h })).statusCode).toBe(
      401,
    );
    const bad = await fx.app.inject({
      method: "GET",
      url: "/api/me",
      headers: { authorization: "Bearer nope" },
    });
    expect(bad.statusCode).toBe(401);
  });

  it("reads the Bearer scheme in any case, leaves other schemes alone, and honours re-enabling at once", async () => {
    const fx = await fixture();
    const r = fx.actors.rater;
    const me = (authorization: string) =>
      fx.app.inject({ method: "GET", url: "/api/me", headers: { authorization } });
    expect((await me(`bearer ${r.token}`)).statusCode).toBe(200);
    // A reverse proxy's Basic credentials are not keel's: a public route still answers, a
    // private one asks for keel's own.
    const health = await fx.app.inject({
      method: "GET",
      url: "/healthz",
      headers: { authorization: "Basic YTpi" },
    });
    expect(health.statusCode).toBe(200);
    expect((await me("Basic YTpi")).statusCode).toBe(401);
    expect((await me("Bearer keel_short")).statusCode).toBe(401);
    // Disabled, the token is refused (and that refusal cached); enabled again, it works at once.
    const set = (disabled: boolean) =>
      call(fx, fx.actors.admin, "PATCH", `/api/users/${r.user_id}`, { body: { disabled } });
    expect((await set(true)).statusCode).toBe(200);
    expect((await me(`Bearer ${r.token}`)).statusCode).toBe(401);
    expect((await set(false)).statusCode).toBe(200);
    expect((await me(`Bearer ${r.token}`)).statusCode).toBe(200);
  });
});

describe("no escalation", () => {
  it("keeps every role within what it may grant", async () => {
    const fx = await fixture();
    const a = fx.actors;
    const mk = (role: string) => ({
      body: {
        login: `new-${role}-${Math.random().toString(36).slice(2, 8)}`,
        role,
        password: PASSWORD,
      },
    });
    expect((await call(fx, a.admin, "POST", "/api/users", mk("owner"))).statusCode).toBe(403);
    expect((await call(fx, a.admin, "POST", "/api/users", mk("admin"))).statusCode).toBe(403);
    expect((await call(fx, a.admin, "POST", "/api/users", mk("reviewer"))).statusCode).toBe(201);
    expect((await call(fx, a.owner, "POST", "/api/users", mk("admin"))).statusCode).toBe(201);
    expect(
      (
        await call(fx, a.admin, "PATCH", `/api/users/${a.rater.user_id}`, {
          body: { role: "admin" },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await call(fx, a.admin, "PATCH", `/api/users/${a.owner.user_id}`, {
          body: { disabled: true },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await call(fx, a.admin, "PATCH", `/api/users/${a.admin.user_id}`, {
          body: { role: "owner" },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await call(fx, a.owner, "PATCH", `/api/users/${a.owner.user_id}`, {
          body: { role: "rater" },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await call(fx, a.admin, "POST", "/api/invitations", { body: { role: "owner" } })).statusCode,
    ).toBe(403);
    expect(
      (await call(fx, a.reviewer, "POST", "/api/invitations", { body: { role: "rater" } }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await call(fx, a.rater, "PATCH", `/api/users/${a.rater.user_id}`, {
          body: { role: "owner" },
        })
      ).statusCode,
    ).toBe(403);
    // A rater cannot read others' judgments, nor the project's.
    expect((await call(fx, a.rater, "GET", "/api/projects/p1/judgments")).statusCode).toBe(403);
    expect((await call(fx, a.rater, "GET", "/api/projects/p1/export")).statusCode).toBe(403);
  });
});

describe("invitations", () => {
  it("creates the account once, in the project, with the invited role, until it expires", async () => {
    const fx = await fixture();
    const inv = json<{ token: string; path: string }>(
      await call(fx, fx.actors.admin, "POST", "/api/invitations", {
        body: { role: "rater", project_id: "p1" },
      }),
    );
    expect(inv.path).toBe(`/invite/${inv.token}`);
    const info = json<{ role: string; project_name: string }>(
      await call(fx, undefined, "GET", `/api/invitations/${inv.token}`),
    );
    expect(info).toMatchObject({ role: "rater", project_name: "Project one" });
    const short = await call(fx, undefined, "POST", `/api/invitations/${inv.token}/accept`, {
      body: { login: "newbie", password: "short" },
    });
    expect(short.statusCode).toBe(400);
    const ok = await call(fx, undefined, "POST", `/api/invitations/${inv.token}/accept`, {
      body: { login: "newbie", password: PASSWORD },
    });
    expect(ok.statusCode).toBe(200);
    expect(json<{ user: { role: string } }>(ok).user.role).toBe("rater");
    const cookie = String(ok.headers["set-cookie"]).split(";")[0]!;
    const me = await fx.app.inject({
      method: "GET",
      url: "/api/projects/p1/me",
      headers: { cookie },
    });
    expect(me.statusCode).toBe(200);
    const twice = await call(fx, undefined, "POST", `/api/invitations/${inv.token}/accept`, {
      body: { login: "newbie2", password: PASSWORD },
    });
    expect(twice.statusCode).toBe(404);
    const old = json<{ token: string }>(
      await call(fx, fx.actors.admin, "POST", "/api/invitations", {
        body: { role: "rater", expires_hours: 1 },
      }),
    );
    fx.advance(3_601_000);
    expect((await call(fx, undefined, "GET", `/api/invitations/${old.token}`)).statusCode).toBe(
      404,
    );
  });

  it("ends with its sender's right to grant the role, and can be withdrawn", async () => {
    const fx = await fixture();
    const { owner, admin, reviewer } = fx.actors;
    const invite = async (who: typeof owner, role: string) => {
      const r = await call(fx, who, "POST", "/api/invitations", { body: { role } });
      expect(r.statusCode, r.body).toBe(201);
      return json<{ token: string; invitation_id: string }>(r);
    };
    const usable = async (token: string) => {
      const r = await call(fx, undefined, "GET", `/api/invitations/${token}`);
      return r.statusCode === 200;
    };
    // A second owner, acting through an API token.
    const db = collectionDb(fx.store);
    const u2 = await createUser(db, { login: "owner2", role: "owner" }, new Date());
    const { token } = await createApiToken(db, u2.user_id, "test", new Date());
    const o2 = { ...owner, login: "owner2", user_id: u2.user_id, token };
    // Before: an invitation outlived its sender's rights, so a disabled owner's (or a demoted
    // admin's) invitations still made owners (raters) for up to 90 days, and none could be
    // withdrawn.
    const fromOwner2 = await invite(o2, "owner");
    const fromAdmin = await invite(admin, "rater");
    expect(await usable(fromOwner2.token)).toBe(true);
    expect(await usable(fromAdmin.token)).toBe(true);
    await call(fx, owner, "PATCH", `/api/users/${u2.user_id}`, { body: { disabled: true } });
    await call(fx, owner, "PATCH", `/api/users/${admin.user_id}`, { body: { role: "reviewer" } });
    expect(await usable(fromOwner2.token)).toBe(false);
    expect(await usable(fromAdmin.token)).toBe(false);
    const accept = await call(
      fx,
      undefined,
      "POST",
      `/api/invitations/${fromOwner2.token}/accept`,
      {
        body: { login: "sneaky", password: PASSWORD },
      },
    );
    expect(accept.statusCode).toBe(404);
    // Withdrawn by whoever may grant its role; not by a reviewer, nor an admin for an owner's.
    await call(fx, owner, "PATCH", `/api/users/${admin.user_id}`, { body: { role: "admin" } });
    const forAdmin = await invite(owner, "admin");
    const forRater = await invite(owner, "rater");
    const withdraw = (who: typeof owner, id: string) =>
      call(fx, who, "DELETE", `/api/invitations/${id}`);
    expect((await withdraw(reviewer, forRater.invitation_id)).statusCode).toBe(403);
    expect((await withdraw(admin, forAdmin.invitation_id)).statusCode).toBe(403);
    expect((await withdraw(admin, forRater.invitation_id)).statusCode).toBe(200);
    expect(await usable(forRater.token)).toBe(false);
    expect(await usable(forAdmin.token)).toBe(true);
    expect((await withdraw(admin, forRater.invitation_id)).statusCode).toBe(404);
    expect((await withdraw(owner, "i_nonexistent")).statusCode).toBe(404);
  });
});

describe("schema rejections and body limits", () => {
  it("rejects unknown fields, wrong types, bad enums and bad ids with the field named", async () => {
    const fx = await fixture();
    const r = fx.actors.rater;
    await call(fx, r, "POST", "/api/projects/p1/guidelines/ack");
    const t = json<{ task: { task_id: string } }>(
      await call(fx, r, "POST", "/api/projects/p1/tasks/next"),
    ).task;
    const url = `/api/tasks/${t.task_id}/judgment`;
    const cases: [unknown, string][] = [
      [{ choice: "left", gold: "a" }, "body.gold"],
      [{ choice: "a" }, "body.choice"],
      [{ choice: 1 }, "body.choice"],
      // A missing field is named (it was "body" before).
      [{}, "body.choice"],
      [{ choice: "left", flags: ["xss"] }, "body.flags.0"],
      [{ choice: "left", rationale: "x".repeat(2001) }, "body.rationale"],
      [{ choice: "left", next: "yes" }, "body.next"],
    ];
    for (const [body, field] of cases) {
      const res = await call(fx, r, "POST", url, { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      const e = json<Err>(res).error;
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where?.field, JSON.stringify(body)).toBe(field);
    }
    const badId = await call(fx, r, "POST", "/api/tasks/../../etc/judgment", {
      body: { choice: "left" },
    });
    expect(badId.statusCode).toBe(404);
    const badParam = await call(fx, r, "POST", "/api/tasks/short/judgment", {
      body: { choice: "left" },
    });
    expect(badParam.statusCode).toBe(400);
    const notJson = await fx.app.inject({
      method: "POST",
      url,
      headers: { authorization: `Bearer ${r.token}`, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(notJson.statusCode).toBe(400);
    expect(await fx.store.countJudgments()).toBe(0);
  });

  it("holds settings, items, flags and notes to their bounds, with the field named", async () => {
    const fx = await fixture();
    const r = fx.actors.rater;
    const admin = fx.actors.admin;
    await call(fx, r, "POST", "/api/projects/p1/guidelines/ack");
    const t = json<{ task: { task_id: string } }>(
      await call(fx, r, "POST", "/api/projects/p1/tasks/next"),
    ).task;
    const item = { comparison_id: "new-1", prompt: "p", response_a: "a", response_b: "b" };
    const cases: [Parameters<typeof call>[1], "POST" | "PATCH", string, unknown, string][] = [
      [
        r,
        "POST",
        `/api/tasks/${t.task_id}/judgment`,
        { choice: "left", flags: ["unsafe", "broken", "pii", "pii"] },
        "body.flags",
      ],
      [
        r,
        "POST",
        `/api/tasks/${t.task_id}/skip`,
        { reason: "other", note: "x".repeat(501) },
        "body.note",
      ],
      // Gold-only serving (a rate of 1) would single gold out; an overlap of 0 serves nothing.
      [admin, "PATCH", "/api/projects/p1", { gold_rate: 0.95 }, "body.gold_rate"],
      [admin, "PATCH", "/api/projects/p1", { overlap: 0 }, "body.overlap"],
      [admin, "PATCH", "/api/projects/p1", { lease_seconds: 5 }, "body.lease_seconds"],
      // A misspelt gold key would add the item as an ordinary task.
      [
        admin,
        "POST",
        "/api/projects/p1/items",
        { items: [{ ...item, gold_answer: "a" }] },
        "body.items.0.gold_answer",
      ],
    ];
    for (const [who, method, url, body, field] of cases) {
      const res = await call(fx, who, method, url, { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      const e = json<Err>(res).error;
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where?.field, JSON.stringify(body)).toBe(field);
    }
    const db = collectionDb(fx.store);
    expect(await getProject(db, "p1")).toMatchObject({
      gold_rate: 0.25,
      overlap: 2,
      lease_seconds: 60,
    });
    expect((await listItems(db, "p1")).map((it) => it.comparison_id)).not.toContain("new-1");
    expect(await fx.store.countJudgments()).toBe(0);
  });

  it("refuses text a store would not keep as given (lone surrogates, NUL) in any field", async () => {
    const fx = await fixture();
    const r = fx.actors.rater;
    await call(fx, r, "POST", "/api/projects/p1/guidelines/ack");
    const t = json<{ task: { task_id: string } }>(
      await call(fx, r, "POST", "/api/projects/p1/tasks/next"),
    ).task;
    const item = { comparison_id: "new-1", prompt: "p", response_a: "a", response_b: "b" };
    const cases: [Parameters<typeof call>[1], string, unknown, string, string][] = [
      [
        r,
        `/api/tasks/${t.task_id}/judgment`,
        { choice: "left", rationale: "bad \ud800" },
        "body.rationale",
        "surrogate",
      ],
      [
        r,
        `/api/tasks/${t.task_id}/judgment`,
        { choice: "left", rationale: "a\u0000b" },
        "body.rationale",
        "NUL",
      ],
      [
        r,
        `/api/tasks/${t.task_id}/skip`,
        { reason: "other", note: "\udc00" },
        "body.note",
        "surrogate",
      ],
      [
        fx.actors.admin,
        "/api/projects/p1/items",
        { items: [{ ...item, response_b: "cut \ud83d" }] },
        "body.items.0.response_b",
        "surrogate",
      ],
      [
        fx.actors.admin,
        "/api/projects/p1/items",
        { items: [{ ...item, comparison_id: "x\ud800" }] },
        "body.items.0.comparison_id",
        "surrogate",
      ],
      [
        fx.actors.admin,
        "/api/projects/p1/items",
        { items: [{ ...item, prompt: "a\u0000b" }] },
        "body.items.0.prompt",
        "NUL",
      ],
    ];
    for (const [who, url, body, field, what] of cases) {
      const res = await call(fx, who, "POST", url, { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      const e = json<Err>(res).error;
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where?.field, JSON.stringify(body)).toBe(field);
      expect(e.message).toContain(what);
    }
    // A surrogate pair is text like any other, and the ledger still verifies.
    const ok = await call(fx, r, "POST", `/api/tasks/${t.task_id}/judgment`, {
      body: { choice: "left", rationale: "fine \ud83d\ude00" },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await fx.store.countJudgments()).toBe(1);
    expect((await fx.store.verifyLedger()).ok).toBe(true);
  });

  it("reaches every id the schemas allow, and answers longer path parameters in keel's shape", async () => {
    const fx = await fixture();
    const id = "p".repeat(128);
    const made = await call(fx, fx.actors.admin, "POST", "/api/projects", {
      body: { project_id: id, name: "long id" },
    });
    expect(made.statusCode, made.body).toBe(201);
    const got = await call(fx, fx.actors.admin, "GET", `/api/projects/${id}`);
    expect(got.statusCode, got.body).toBe(200);
    const tooLong = await call(fx, fx.actors.admin, "GET", `/api/projects/${"p".repeat(300)}`);
    expect(tooLong.statusCode).toBe(400);
    expect(json<Err>(tooLong).error.code).toBe("KEEL_E_INVALID_RECORD");
    expect(tooLong.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("refuses a blank project seed, as the CLI does", async () => {
    const fx = await fixture();
    for (const seed of [" ", "\t\n"]) {
      const r = await call(fx, fx.actors.admin, "POST", "/api/projects", {
        body: { project_id: "blank-seed", name: "n", seed },
      });
      expect(r.statusCode, r.body).toBe(400);
      expect(json<Err>(r).error.code).toBe("KEEL_E_INVALID_RECORD");
      expect(r.body).toContain("body.seed");
    }
    const ok = await call(fx, fx.actors.admin, "POST", "/api/projects", {
      body: { project_id: "blank-seed", name: "n", seed: " s " },
    });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it("refuses bodies over the route's limit with 413", async () => {
    const fx = await fixture();
    const r = await call(fx, fx.actors.rater, "POST", "/api/tokens", {
      body: { name: "x".repeat(5000) },
    });
    expect(r.statusCode).toBe(413);
    expect(json<Err>(r).error.code).toBe("KEEL_E_TOO_LARGE");
    const big = await call(fx, undefined, "POST", "/api/session", {
      body: { login: "a", password: "p".repeat(2000) },
    });
    expect(big.statusCode).toBe(413);
    // A project's settings are not an item upload: 1 MiB, not 16.
    const settings = await call(fx, fx.actors.admin, "PATCH", "/api/projects/p1", {
      body: { guidelines: "g".repeat(2 * 1024 * 1024) },
    });
    expect(settings.statusCode).toBe(413);
    const longest = await call(fx, fx.actors.admin, "PATCH", "/api/projects/p1", {
      body: { guidelines: "\u0001".repeat(100_000) },
    });
    expect(longest.statusCode, longest.body.slice(0, 200)).toBe(200);
    // A page of no judgments is a mistake, not a page of one.
    const none = await call(fx, fx.actors.admin, "GET", "/api/projects/p1/judgments?limit=0");
    expect(none.statusCode).toBe(400);
    expect(json<Err>(none).error.where?.field).toBe("querystring.limit");
  });

  it("declares access, schema and body limit on every route (adding one without fails)", async () => {
    const fx = await fixture();
    expect(() => fx.app.get("/api/unguarded", async () => ({}))).toThrow(/declares no access/);
    // A route that changes something declares its body, even when it takes none.
    expect(() =>
      fx.app.post(
        "/api/unchecked",
        { config: { access: "user" }, bodyLimit: 1024, schema: { summary: "x" } },
        async () => ({}),
      ),
    ).toThrow(/has no body schema/);
  });

  it("refuses a body on the routes that take none, instead of reading and ignoring it", async () => {
    const fx = await fixture();
    const ack = "/api/projects/p1/guidelines/ack";
    const extra = await call(fx, fx.actors.rater, "POST", ack, { body: { choice: "a" } });
    expect(extra.statusCode).toBe(400);
    expect(json<Err>(extra).error.code).toBe("KEEL_E_INVALID_RECORD");
    // No body, or the empty object a generic JSON client sends, is fine.
    expect((await call(fx, fx.actors.rater, "POST", ack)).statusCode).toBe(200);
    expect((await call(fx, fx.actors.rater, "POST", ack, { body: {} })).statusCode).toBe(200);
    const out = await call(fx, fx.actors.rater, "DELETE", "/api/session", {
      session: true,
      body: { everything: true },
    });
    expect(out.statusCode).toBe(400);
  });
});

describe("rate limits", () => {
  it("limits per address, per user and login attempts, with Retry-After", async () => {
    const fx = await fixture({
      rateLimits: {
        ip: { rate: 1, burst: 30 },
        user: { rate: 1, burst: 5 },
        login: { rate: 0.01, burst: 3 },
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await call(fx, fx.actors.rater, "GET", "/api/me")).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await call(fx, fx.actors.rater, "GET", "/api/me");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // The message gives the wait as the header does, in whole seconds (it said "1000 ms").
    expect(limited.json().error.message).toBe(
      `too many requests; retry in ${limited.headers["retry-after"]} s`,
    );
    // Another user is not affected by the first one's bucket.
    expect((await call(fx, fx.actors.rater2, "GET", "/api/me")).statusCode).toBe(200);
    fx.advance(5000);
    expect((await call(fx, fx.actors.rater, "GET", "/api/me")).statusCode).toBe(200);
    const logins: number[] = [];
    for (let i = 0; i < 5; i++) {
      logins.push(
        (
          await call(fx, undefined, "POST", "/api/session", {
            body: { login: "owner", password: "guess guess" },
          })
        ).statusCode,
      );
    }
    expect(logins).toEqual([401, 401, 401, 429, 429]);
    const ip: number[] = [];
    for (let i = 0; i < 40; i++) ip.push((await call(fx, undefined, "GET", "/healthz")).statusCode);
    expect(ip.filter((s) => s === 429).length).toBeGreaterThan(0);
  });
});

describe("server-side failures", () => {
  it("answers them with the code and a generic message, never the store's or Redis's internals", async () => {
    // What RedisRateLimitStore throws when Redis goes away (every request passes it, signed in
    // or not): before, its message and hint, with Redis's address, went to any client.
    const failing = {
      async hit(): Promise<never> {
        throw new KeelError(
          "KEEL_E_STORE",
          "Redis rate limit failed: connect ECONNREFUSED 10.9.8.7:6379",
          { hint: "check Redis at redis://10.9.8.7:6379", where: { file: "/srv/keel/keel.db" } },
        );
      },
      async close() {},
    };
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const fx = await fixture({ limits: failing, logLevel: "error", logStream });
    const r = await call(fx, undefined, "GET", "/api/projects");
    expect(r.statusCode).toBe(503);
    expect(json<Err>(r).error.code).toBe("KEEL_E_STORE");
    expect(r.body).not.toMatch(/10\.9\.8\.7|redis|\/srv/i);
    expect(json<Err>(r).error.message).toMatch(/server log/);
    // The operator still gets the whole story.
    expect(lines.join("")).toMatch(/ECONNREFUSED 10\.9\.8\.7/);
  });
});

describe("OpenAPI and health", () => {
  it("describes every route with its schemas, access and body limit", async () => {
    const fx = await fixture();
    const doc = json<{
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>(await call(fx, undefined, "GET", "/openapi.json"));
    expect(doc.openapi).toBe("3.0.3");
    const op = doc.paths["/api/tasks/{taskId}/judgment"]!.post!;
    expect(op["x-keel-access"]).toBe("user");
    expect(op["x-keel-body-limit"]).toBe(16 * 1024);
    expect(JSON.stringify(op.requestBody)).toMatch(/"additionalProperties":false/);
    const h = await call(fx, undefined, "GET", "/healthz");
    // Public: up and ready, nothing more (before, the store's kind and the ledger's length).
    expect(json(h)).toEqual({ status: "ok" });
    expect(h.headers["content-security-policy"]).toMatch(/script-src 'self'/);
    const details = await call(fx, fx.actors.admin, "GET", "/api/health");
    expect(json(details)).toMatchObject({ status: "ok", store: "sqlite", ledger_seq: 0 });
    expect((await call(fx, fx.actors.rater, "GET", "/api/health")).statusCode).toBe(403);
  });
});
