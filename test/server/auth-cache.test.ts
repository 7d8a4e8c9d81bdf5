/**
 * The credential cache (src/server/auth/plugin.ts): a session or token looked up once is served
 * from memory for `authCacheMs`, never past the session's own expiry, and dropped when its user
 * changes (docs/server.md, "Several processes": the 5 s credential cache). The app's tests run
 * with the cache off (`authCacheMs: 0`), so its boundaries are checked here.
 */
import { describe, expect, it } from "vitest";
import { AUTH_CACHE_MAX, AuthCache } from "../../src/server/auth/plugin.js";

const T0 = 1_700_000_000_000;
const user = (id: string) => ({ user_id: id, login: id, display_name: id, role: "rater" as const });

describe("AuthCache", () => {
  it("serves an entry for its time to live, and never at or after the session's expiry", () => {
    const c = new AuthCache(5_000);
    c.set("s:a", { user: user("u1"), csrf: "x", expiresAt: T0 + 60_000, at: T0 });
    expect(c.get("s:a", T0 + 4_999)?.user?.user_id).toBe("u1");
    expect(c.get("s:a", T0 + 5_000)).toBeUndefined();
    // Dropped once stale: not served again even if asked for at an earlier time.
    expect(c.get("s:a", T0)).toBeUndefined();

    c.set("s:b", { user: user("u1"), csrf: "x", expiresAt: T0 + 1_000, at: T0 });
    expect(c.get("s:b", T0 + 999)).toBeDefined();
    expect(c.get("s:b", T0 + 1_000)).toBeUndefined();
  });

  it("forgets every entry of a changed user, also a refused token they own", () => {
    const c = new AuthCache(5_000);
    c.set("s:a", { user: user("u1"), csrf: "x", expiresAt: Infinity, at: T0 });
    c.set("t:b", { user: null, owner: "u1", csrf: null, expiresAt: Infinity, at: T0 });
    c.set("s:c", { user: user("u2"), csrf: "y", expiresAt: Infinity, at: T0 });
    c.dropUser("u1");
    expect(c.get("s:a", T0)).toBeUndefined();
    expect(c.get("t:b", T0)).toBeUndefined();
    expect(c.get("s:c", T0)?.user?.user_id).toBe("u2");
  });

  it("keeps nothing when its time to live is 0", () => {
    const c = new AuthCache(0);
    c.set("s:a", { user: user("u1"), csrf: "x", expiresAt: Infinity, at: T0 });
    expect(c.get("s:a", T0)).toBeUndefined();
  });

  it("under a flood of made-up tokens keeps a signed-in user's session and stays at its cap", () => {
    // Each unknown token is cached as refused (user null). Before, the cap cleared the whole
    // map, the user's session with it, once every 50,000 such requests.
    const c = new AuthCache(3_600_000);
    c.set("s:user", { user: user("u1"), csrf: "x", expiresAt: Infinity, at: T0 });
    for (let i = 0; i < AUTH_CACHE_MAX + 10_000; i++) {
      c.set(`t:flood-${i}`, { user: null, csrf: null, expiresAt: Infinity, at: T0 });
      if (i % 1_000 === 999) expect(c.get("s:user", T0 + 1)?.user?.user_id).toBe("u1");
      expect(c.size).toBeLessThanOrEqual(AUTH_CACHE_MAX);
    }
    expect(c.size).toBe(AUTH_CACHE_MAX);
    // the least recently used went first: the oldest flood entries, not the user's session
    expect(c.get("t:flood-0", T0 + 1)).toBeUndefined();
    expect(c.get(`t:flood-${AUTH_CACHE_MAX + 9_999}`, T0 + 1)).toBeDefined();
  });
});
