/**
 * `keel serve` as an operator runs it: its flags for the address, and how it stops. The stop is
 * checked on a real `keel serve` process (from the sources) with a real signal.
 */
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../providers/tiny.js";
import { spawnKeel } from "../scale/helpers.js";

async function store(): Promise<string> {
  const path = join(tempDir(), "k.db");
  await (await openStore(path, { create: true })).close();
  return path;
}

describe("keel serve's address", () => {
  it("refuses a port past 65535 as a usage error naming --port", async () => {
    const r = await runCli(["serve", "--db", await store(), "--no-web", "--port", "70000"]);
    expect(r.code).toBe(64);
    // Before: Node's "options.port should be >= 0 and < 65536", after opening the store.
    expect(r.stderr).toContain('--port must be at most 65535, got "70000"');
  });

  it("writes an IPv6 address it cannot listen on in brackets", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "::1", () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runCli([
        "serve",
        ...["--db", await store(), "--no-web", "--log-level", "silent"],
        ...["--host", "::1", "--port", String(port)],
      ]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`cannot listen on [::1]:${port}: the address is already in use`);
    } finally {
      taken.close();
    }
  });
});

/**
 * Starts `args` (a server with --shutdown-timeout 0.5), holds one connection open with half a
 * request, sends SIGTERM and returns the exit code (or why there is none) and stdout.
 */
async function stopWithSlowClient(args: readonly string[], path: string) {
  const { child, url } = await spawnKeel([...args, "--shutdown-timeout", "0.5"]);
  let out = "";
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
  });
  // A client that sends half a request and then nothing: the request timeout (120 s) would
  // end it in the end, and before, the shutdown waited for it that long.
  const slow = connect(Number(new URL(url).port), "127.0.0.1");
  slow.on("error", () => undefined);
  slow.write(
    `POST ${path} HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
  );
  await new Promise((r) => setTimeout(r, 200));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  const code = await Promise.race([
    exited,
    new Promise((r) => setTimeout(() => r("still running 20 s after SIGTERM"), 20_000)),
  ]);
  slow.destroy();
  if (typeof code === "string") child.kill("SIGKILL");
  return { code, out };
}

describe("stopping keel serve", () => {
  it("cuts a connection still open --shutdown-timeout after SIGTERM, and exits", async () => {
    const db = await store();
    const { code, out } = await stopWithSlowClient(
      ["serve", ...["--db", db, "--no-web", "--port", "0", "--log-level", "warn"]],
      "/api/session",
    );
    expect(code).toBe(0);
    expect(out).toContain("keel stopped");
  });

  it("serve-model and serve-rm cut it the same way (they waited for it before)", async () => {
    const ckpt = await tinyCheckpoint(tempDir());
    const quiet = ["--port", "0", "--log-level", "warn"];
    for (const [args, path] of [
      [["serve-model", "--checkpoint", ckpt, ...quiet], "/v1/completions"],
      [["serve-rm", "--reward-model", ckpt, ...quiet], "/get_reward"],
    ] as const) {
      const { code, out } = await stopWithSlowClient(args, path);
      expect(code, args[0]).toBe(0);
      expect(out).toContain("keel stopped");
    }
  });
});
