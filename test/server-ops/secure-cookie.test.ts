/** The session cookie is Secure when the browser's connection is https, behind a trusted proxy too. */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { tempDir } from "../helpers/stores.js";
import { type Fixture, makeFixture, PASSWORD } from "../server/helpers.js";

const fixtures: Fixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.close();
});

async function signIn(trustProxy: boolean, proto: string): Promise<string> {
  const store = await openStore(join(tempDir(), "k.db"), { create: true });
  const fx = await makeFixture(store, {}, { trustProxy });
  fixtures.push(fx);
  const r = await fx.app.inject({
    method: "POST",
    url: "/api/session",
    remoteAddress: "10.0.0.2",
    headers: { "x-forwarded-proto": proto, "x-forwarded-for": "203.0.113.9" },
    payload: { login: "rater", password: PASSWORD },
  });
  expect(r.statusCode, r.body).toBe(200);
  return String(r.headers["set-cookie"]);
}

describe("the session cookie behind a proxy", () => {
  it("is Secure when a trusted proxy says the browser came over https", async () => {
    // Before, only --secure-cookies made it Secure: behind a TLS proxy it went out without.
    expect(await signIn(true, "https")).toMatch(/;\s*Secure/i);
    expect(await signIn(true, "http")).not.toMatch(/;\s*Secure/i);
  });

  it("ignores X-Forwarded-Proto from a client when no proxy is trusted", async () => {
    expect(await signIn(false, "https")).not.toMatch(/;\s*Secure/i);
  });
});
