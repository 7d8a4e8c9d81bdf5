/**
 * One Redis connection shared by the lease store and the rate limiter of a server process.
 * Every key starts with a prefix (`keel:` by default), so several keel deployments (or test
 * runs) can share one Redis. The connection closes when the last service using it closes.
 *
 * keel needs one Redis primary (optionally with replicas or Sentinel); Redis Cluster is not
 * supported, because a lease's keys (the lease, its comparison and its holder) live in
 * different hash slots and are updated by one script.
 */
import { Redis } from "ioredis";
import { KeelError } from "../../core/errors.js";
import { redactUrl } from "../../core/redact.js";

export interface RedisOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS. */
  readonly url: string;
  /** Prefix of every key (default "keel:"). */
  readonly prefix?: string;
  /** Milliseconds to wait for the first connection (default 5000). */
  readonly connectTimeoutMs?: number;
  /**
   * Milliseconds to wait for a command's answer (default 5000). A Redis that keeps the
   * connection open and never answers (a network partition, a stuck server) otherwise holds
   * every request that needs it, without an error, until TCP gives up many minutes later.
   */
  readonly commandTimeoutMs?: number;
}

export class SharedRedis {
  private users = 0;

  private constructor(
    readonly redis: Redis,
    readonly prefix: string,
    readonly url: string,
  ) {}

  /** Connects and checks the server answers; fails with KEEL_E_STORE otherwise. */
  static async connect(o: RedisOptions): Promise<SharedRedis> {
    const prefix = o.prefix ?? "keel:";
    if (!/^[A-Za-z0-9:_.{}-]{1,64}$/.test(prefix)) {
      throw new KeelError("KEEL_E_CONFIG", `invalid Redis key prefix ${JSON.stringify(prefix)}`, {
        hint: "use 1–64 letters, digits and : _ . - { }",
      });
    }
    const redis = new Redis(o.url, {
      lazyConnect: true,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      commandTimeout: o.commandTimeoutMs ?? 5000,
      maxRetriesPerRequest: 2,
      enableAutoPipelining: true,
    });
    // Errors surface on the commands that fail; without a listener ioredis logs each retry.
    redis.on("error", () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      redis.disconnect();
      throw new KeelError("KEEL_E_STORE", `cannot reach Redis at ${redact(o.url)}: ${String(e)}`, {
        hint: "start Redis or pass the right --redis URL",
        cause: e,
      });
    }
    return new SharedRedis(redis, prefix, o.url);
  }

  /** Registers one more service on the connection. */
  use(): this {
    this.users++;
    return this;
  }

  /** Releases one service; the last one closes the connection. */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** Runs Redis calls; a failure of Redis itself becomes KEEL_E_STORE (HTTP 503). */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof KeelError) throw e;
      throw new KeelError("KEEL_E_STORE", `Redis ${what} failed: ${(e as Error).message}`, {
        hint: `check Redis at ${redact(this.url)}`,
        cause: e,
      });
    }
  }

  key(...parts: string[]): string {
    return this.prefix + parts.map(encodeURIComponent).join(":");
  }
}

/**
 * The URL without its password (for messages and logs), in the authority or a query parameter
 * (ioredis reads `?password=`); a password holding `@` or `/` is hidden whole.
 */
export const redact = redactUrl;
