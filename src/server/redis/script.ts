/**
 * A Lua script run by SHA (EVALSHA), loaded on first use and again whenever the server has
 * forgotten it (NOSCRIPT after a restart or SCRIPT FLUSH). Redis runs each script atomically:
 * no other command interleaves, which is what makes check-then-write steps safe across
 * processes.
 */
import { createHash } from "node:crypto";
import type { SharedRedis } from "./connect.js";

export class Script {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  async run(r: SharedRedis, keys: readonly string[], args: readonly (string | number)[]) {
    return r.call(this.name, async () => {
      try {
        return await r.redis.evalsha(this.sha, keys.length, ...keys, ...args);
      } catch (e) {
        if (!String((e as Error).message).startsWith("NOSCRIPT")) throw e;
        return r.redis.eval(this.lua, keys.length, ...keys, ...args);
      }
    });
  }
}
