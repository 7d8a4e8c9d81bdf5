/**
 * The server's log, at its most talkative level, through a whole invitation and sign-in: no
 * invitation token (they travel in the URL path), password, session cookie or API token in it.
 */
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { call, type Fixture, json, makeFixture, PASSWORD } from "../server/helpers.js";

describe("the server's log", () => {
  let log = "";
  let f: Fixture;
  afterAll(async () => {
    await f?.close();
  });

  it("holds no invitation token, password, session or API token", async () => {
    const stream = new PassThrough();
    stream.on("data", (d: Buffer) => {
      log += d.toString();
    });
    f = await makeFixture(
      await openStore(":memory:"),
      {},
      { logLevel: "trace", logStream: stream },
    );
    const secrets: string[] = [PASSWORD];

    const inv = await call(f, f.actors.admin, "POST", "/api/invitations", {
      body: { role: "rater", project_id: "p1" },
    });
    expect(inv.statusCode, inv.body).toBe(201);
    const { token, invitation_id } = json<{ token: string; invitation_id: string }>(inv);
    secrets.push(token);
    // The web app's page, what it shows, and taking it up.
    await f.app.inject({ method: "GET", url: `/invite/${token}` });
    expect(
      (await f.app.inject({ method: "GET", url: `/api/invitations/${token}` })).statusCode,
    ).toBe(200);
    const newPassword = "a brand new password 42";
    secrets.push(newPassword);
    const accepted = await f.app.inject({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { login: "newbie", password: newPassword },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    secrets.push(String(accepted.headers["set-cookie"]).split(";")[0]!.split("=")[1]!);
    // Used up: refused, and the log must still not name it.
    expect(
      (await f.app.inject({ method: "GET", url: `/api/invitations/${token}` })).statusCode,
    ).toBe(404);

    const wrong = "not the password at all";
    secrets.push(wrong);
    await f.app.inject({
      method: "POST",
      url: "/api/session",
      payload: { login: "rater", password: wrong },
    });
    const login = await f.app.inject({
      method: "POST",
      url: "/api/session",
      payload: { login: "rater", password: PASSWORD },
    });
    secrets.push(String(login.headers["set-cookie"]).split(";")[0]!.split("=")[1]!);
    secrets.push(f.actors.rater.token);
    const tok = await call(f, f.actors.rater, "POST", "/api/tokens", { body: { name: "ci" } });
    secrets.push(json<{ token: string }>(tok).token);

    // Withdrawing names the invitation by its id, which is no secret.
    const other = await call(f, f.actors.admin, "POST", "/api/invitations", {
      body: { role: "rater" },
    });
    const o = json<{ token: string; invitation_id: string }>(other);
    secrets.push(o.token);
    await call(f, f.actors.admin, "DELETE", `/api/invitations/${o.invitation_id}`);

    expect(log).toContain('"url":"/api/invitations/***/accept"');
    expect(log).toContain('"url":"/invite/***"');
    expect(log).toContain(`"url":"/api/invitations/${o.invitation_id}"`);
    expect(invitation_id).not.toBe(o.invitation_id);
    for (const s of secrets) expect(log.includes(s), `${s.slice(0, 6)}… in the log`).toBe(false);
  });
});
