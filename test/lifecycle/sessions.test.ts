/**
 * Lifecycle of sign-ins and invitations while something changes: a browser whose cookie names
 * another user's session (signed in in another tab) signs in again, and an invitation that is
 * withdrawn, or whose sender loses the right to grant its role, while the new account's
 * password is being hashed.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { collectionDb, listUsers } from "../../src/store/collection/index.js";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { call, type Fixture, json, login, makeFixture, PASSWORD } from "../server/helpers.js";

/** Holds `hashPassword` until released, once armed: the window an accept spends hashing. */
const gate = vi.hoisted(() => ({
  armed: false,
  entered: undefined as (() => void) | undefined,
  release: undefined as (() => void) | undefined,
}));

vi.mock("../../src/server/auth/password.js", async (importOriginal) => {
  const orig = await importOriginal<typeof import("../../src/server/auth/password.js")>();
  return {
    ...orig,
    hashPassword: async (...args: Parameters<typeof orig.hashPassword>) => {
      if (gate.armed) {
        gate.armed = false;
        await new Promise<void>((resolve) => {
          gate.release = resolve;
          gate.entered?.();
        });
      }
      return orig.hashPassword(...args);
    },
  };
});

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function fixture(): Promise<Fixture> {
  f = await makeFixture(
    await openStore(join(tempDir(), `s${Math.random()}.db`), { create: true }),
    { quiz: 0 },
  );
  return f;
}

const me = (fx: Fixture, cookie: string) =>
  fx.app.inject({ method: "GET", url: "/api/me", headers: { cookie } });

describe("signing in over another session", () => {
  it("needs no CSRF token, and ends the session the browser sent", async () => {
    const fx = await fixture();
    const { rater, reviewer } = fx.actors;
    await login(fx, reviewer);
    const old = reviewer.cookie!;
    // Another tab signed the reviewer in; this tab's rater asks to sign in again (the app's
    // "your session has ended" dialog). It holds the rater's old CSRF token, or none.
    // Before: 403 "missing or wrong X-CSRF-Token header", and the dialog could not sign in.
    for (const headers of [{}, { "x-csrf-token": "from-the-rater's-old-session" }]) {
      const r = await fx.app.inject({
        method: "POST",
        url: "/api/session",
        headers: { cookie: old, ...headers },
        payload: { login: rater.login, password: PASSWORD },
      });
      expect(r.statusCode, r.body).toBe(200);
      expect(json<{ user: { login: string } }>(r).user.login).toBe("rater");
      const fresh = String(r.headers["set-cookie"]).split(";")[0]!;
      expect(fresh).not.toBe(old);
      expect((await me(fx, fresh)).statusCode).toBe(200);
    }
    // The session that cookie named is over, not left valid for nobody until it expires.
    expect((await me(fx, old)).statusCode).toBe(401);
  });

  it("still needs the CSRF token for everything a session authorises", async () => {
    const fx = await fixture();
    await login(fx, fx.actors.rater);
    const r = await fx.app.inject({
      method: "DELETE",
      url: "/api/session",
      headers: { cookie: fx.actors.rater.cookie! },
    });
    expect(r.statusCode).toBe(403);
    expect((await me(fx, fx.actors.rater.cookie!)).statusCode).toBe(200);
  });

  it("accepting an invitation in a signed-in browser ends that browser's old session", async () => {
    const fx = await fixture();
    const { admin, rater } = fx.actors;
    await login(fx, rater);
    const inv = json<{ token: string }>(
      await call(fx, admin, "POST", "/api/invitations", { body: { role: "reviewer" } }),
    );
    const r = await fx.app.inject({
      method: "POST",
      url: `/api/invitations/${inv.token}/accept`,
      headers: { cookie: rater.cookie! },
      payload: { login: "newreviewer", password: PASSWORD },
    });
    expect(r.statusCode, r.body).toBe(200);
    // A new account with the invited role; the rater's own account is untouched.
    expect(json<{ user: { role: string } }>(r).user.role).toBe("reviewer");
    const users = await listUsers(collectionDb(fx.store));
    expect(users.find((u) => u.login === "rater")?.role).toBe("rater");
    expect((await me(fx, rater.cookie!)).statusCode).toBe(401);
  });
});

describe("an invitation changing while it is accepted", () => {
  /** Starts an accept, runs `meanwhile` while its password is hashed, then lets it finish. */
  async function acceptAround(fx: Fixture, token: string, meanwhile: () => Promise<void>) {
    const entered = new Promise<void>((resolve) => {
      gate.entered = resolve;
    });
    gate.armed = true;
    const accepting = call(fx, undefined, "POST", `/api/invitations/${token}/accept`, {
      body: { login: "latecomer", password: PASSWORD },
    });
    await entered;
    await meanwhile();
    gate.release!();
    return accepting;
  }

  const invite = async (fx: Fixture, role = "rater") => {
    const r = await call(fx, fx.actors.admin, "POST", "/api/invitations", {
      body: { role, project_id: "p1" },
    });
    expect(r.statusCode, r.body).toBe(201);
    return json<{ token: string; invitation_id: string }>(r);
  };

  const noLatecomer = async (fx: Fixture) =>
    expect((await listUsers(collectionDb(fx.store))).some((u) => u.login === "latecomer")).toBe(
      false,
    );

  it("is refused once withdrawn, even by a request that found it open", async () => {
    const fx = await fixture();
    const inv = await invite(fx);
    // Before: the accept that had read the invitation before the withdrawal created the
    // account all the same.
    const r = await acceptAround(fx, inv.token, async () => {
      const w = await call(fx, fx.actors.owner, "DELETE", `/api/invitations/${inv.invitation_id}`);
      expect(w.statusCode, w.body).toBe(200);
    });
    expect(r.statusCode, r.body).toBe(404);
    await noLatecomer(fx);
  });

  it("is refused once its sender lost the right to grant the role", async () => {
    const fx = await fixture();
    const inv = await invite(fx);
    const r = await acceptAround(fx, inv.token, async () => {
      const d = await call(fx, fx.actors.owner, "PATCH", `/api/users/${fx.actors.admin.user_id}`, {
        body: { role: "reviewer" },
      });
      expect(d.statusCode, d.body).toBe(200);
    });
    expect(r.statusCode, r.body).toBe(404);
    await noLatecomer(fx);
  });

  it("is refused once it expired", async () => {
    const fx = await fixture();
    const inv = await invite(fx);
    const r = await acceptAround(fx, inv.token, async () => {
      fx.advance(73 * 3_600_000);
    });
    expect(r.statusCode, r.body).toBe(404);
    await noLatecomer(fx);
  });

  it("is accepted when nothing changed meanwhile", async () => {
    const fx = await fixture();
    const inv = await invite(fx);
    const r = await acceptAround(fx, inv.token, async () => {});
    expect(r.statusCode, r.body).toBe(200);
  });
});
