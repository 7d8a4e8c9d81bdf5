/**
 * A Redis URL's password — one holding `@` (ioredis parses URLs as browsers do, so it is valid
 * unencoded), or given as `?password=` — is not in the error that names the Redis keel cannot
 * reach, the same `redact` that `keel serve`'s banner uses.
 */
import { describe, expect, it } from "vitest";
import { redact, SharedRedis } from "../../src/server/redis/index.js";
import { failure } from "../helpers/errors.js";

const SECRET = "keelRedisSecret9";

describe("a Redis password", () => {
  for (const url of [
    `redis://default:p@${SECRET}@127.0.0.1:1`,
    `redis://127.0.0.1:1?username=default&password=${SECRET}`,
    `redis://:${SECRET}@127.0.0.1:1/2`,
  ]) {
    it(`is in no message: ${url.replace(SECRET, "…")}`, async () => {
      const e = await failure(SharedRedis.connect({ url, connectTimeoutMs: 500 }));
      expect(e.code).toBe("KEEL_E_STORE");
      expect(e.message).toContain("cannot reach Redis at redis://");
      expect(e.message).toContain("127.0.0.1:1");
      expect(`${e.message} ${e.hint ?? ""}`).not.toContain(SECRET);
      expect(redact(url)).not.toContain(SECRET);
      expect(redact(url)).toContain("***");
    });
  }

  it("redact keeps a URL without one as it is", () => {
    expect(redact("redis://cache:6379")).toBe("redis://cache:6379");
    expect(redact("redis://default@cache:6379/1")).toBe("redis://default@cache:6379/1");
  });
});
