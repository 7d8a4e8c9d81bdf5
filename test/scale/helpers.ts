/**
 * Shared pieces of the scale tests: a Redis key prefix of their own per test (deleted
 * afterwards), the Redis URL (KEEL_TEST_REDIS_URL, default 127.0.0.1:6379), and spawning real
 * `keel serve` processes from the TypeScript sources.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll } from "vitest";
import { SharedRedis } from "../../src/server/redis/index.js";

export const REDIS_URL = process.env.KEEL_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Deletes every key under a prefix (also what a Redis restart without persistence leaves). */
export async function wipePrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
}

/** A fresh key prefix; every key under it is deleted after the file's tests. */
export function redisPrefix(): string {
  const prefix = `keel-test:${process.pid}:${randomBytes(4).toString("hex")}:`;
  afterAll(() => wipePrefix(prefix));
  return prefix;
}

export function connect(prefix: string): Promise<SharedRedis> {
  return SharedRedis.connect({ url: REDIS_URL, prefix });
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** Starts `keel <args>` from the sources; resolves with its URL once it prints " on http://…". */
export async function spawnKeel(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "test/server/serve-child.ts"), ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let err = "";
  child.stderr!.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = / on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`keel ${args[0]} exited ${code}: ${out}${err}`)));
  });
  return { child, url };
}

/** Stops a spawned process with SIGTERM and waits for it to exit. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
