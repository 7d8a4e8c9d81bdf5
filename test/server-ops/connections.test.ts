/**
 * What `keel serve` does on its sockets: a request that arrives while the server shuts down, a
 * judgment in flight when it does, a client that sends its request too slowly, and requests Node
 * refuses before Fastify sees them. The socket is the point, so these listen on a real port.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BuildOptions } from "../../src/server/app.js";
import { openStore } from "../../src/store/store.js";
import { parseRawAnswer, rawConnection } from "../helpers/raw-http.js";
import { tempDir } from "../helpers/stores.js";
import { answer, type Fixture, makeFixture, nextTask, onboard } from "../server/helpers.js";

const open: Fixture[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f.close().catch(() => undefined);
});

async function listening(options: BuildOptions = {}) {
  const store = await openStore(join(tempDir(), "k.db"), { create: true });
  const fx = await makeFixture(store, { gold: 0 }, options);
  open.push(fx);
  const url = await fx.app.listen({ port: 0, host: "127.0.0.1" });
  return { fx, port: Number(new URL(url).port), url };
}

const raw = rawConnection;
const parse = parseRawAnswer;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("shutting down", () => {
  it("answers a request arriving on an open connection with keel's 503, and keeps a judgment in flight", async () => {
    const { fx, url, port } = await listening();
    const rater = fx.actors.rater;
    await onboard(fx, rater);
    const first = (await nextTask(fx, rater))!;
    // The judgment is being handled (past authentication, on its way to the ledger) when the
    // shutdown starts, and takes a while to reach it.
    let handling!: () => void;
    const inHandler = new Promise<void>((r) => {
      handling = r;
    });
    const committer = fx.ctx.committer;
    const submit = committer.submit.bind(committer);
    committer.submit = async (...args) => {
      handling();
      await sleep(200);
      return submit(...args);
    };
    const judged = fetch(`${url}/api/tasks/${first.task_id}/judgment`, {
      method: "POST",
      headers: { authorization: `Bearer ${rater.token}`, "content-type": "application/json" },
      body: JSON.stringify({ choice: answer(first) }),
    });
    // A second client is half way through sending its request when the shutdown starts.
    const late = raw(port);
    late.s.write(`GET /api/me HTTP/1.1\r\nHost: keel\r\nAuthorization: Bearer ${rater.token}\r\n`);
    await inHandler;
    const t0 = Date.now();
    const closing = fx.app.close();
    await sleep(100);
    late.s.write("\r\n");
    await late.closed;
    const answer503 = parse(late.text());
    // Before: Fastify's own {"error":"Service Unavailable","statusCode":503}.
    expect(answer503.status).toBe(503);
    expect(answer503.body).toEqual({
      error: { code: "KEEL_E_BUSY", message: expect.stringMatching(/shutting down/) },
    });
    expect(answer503.headers).toContain("connection: close");
    expect(answer503.headers).toContain("retry-after:");
    // The judgment sent before the shutdown was answered with its receipt and is in the ledger.
    const r = await judged;
    expect(r.status).toBe(200);
    const receipt = ((await r.json()) as { receipt: { seq: number } }).receipt;
    // The judgment's connection closed after its answer: kept alive, it held the close for the
    // keep-alive timeout (72 s).
    await closing;
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect((await fx.store.ledgerHead()).seq).toBe(receipt.seq);
  });
});

describe("slow clients", () => {
  it("answers a request not sent whole in time 408, in keel's shape, and a close does not wait on it", async () => {
    const { fx, port } = await listening({ requestTimeoutMs: 300 });
    const slow = raw(port);
    slow.s.write(
      "POST /api/session HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    // Before, with no request timeout, the connection stayed open for as long as the client
    // liked, and so did a shutdown.
    const ended = await Promise.race([slow.closed.then(() => "closed"), sleep(5000)]);
    expect(ended).toBe("closed");
    const r = parse(slow.text());
    expect(r.status).toBe(408);
    expect(r.body).toEqual({ error: { code: "KEEL_E_TIMEOUT", message: expect.any(String) } });
    const t0 = Date.now();
    await fx.app.close();
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe("requests Node refuses", () => {
  it("answers headers past 16 KiB 431 in keel's shape", async () => {
    const { port } = await listening();
    const c = raw(port);
    c.s.write(`GET /healthz HTTP/1.1\r\nHost: keel\r\nX-Big: ${"x".repeat(20_000)}\r\n\r\n`);
    await c.closed;
    const r = parse(c.text());
    expect(r.status).toBe(431);
    expect(r.body).toEqual({ error: { code: "KEEL_E_TOO_LARGE", message: expect.any(String) } });
  });

  it("answers bytes that are not HTTP 400 in keel's shape", async () => {
    const { port } = await listening();
    const c = raw(port);
    c.s.write("HELLO\r\n\r\n");
    await c.closed;
    const r = parse(c.text());
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: { code: "KEEL_E_INVALID_RECORD", message: "the request is not well-formed HTTP" },
    });
  });
});
