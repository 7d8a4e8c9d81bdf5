/**
 * An OpenAI-compatible stream (streamSse) to a client that does not read: the writer waits for
 * the socket to drain instead of pulling the whole answer from the generator into memory.
 * Before, every frame was written at once, whatever the client took (64 MB buffered here for
 * a client that read nothing). A client that goes away ends the generator, and one that takes
 * nothing for the stall time (60 s in the server; shortened here) is disconnected, so it does not
 * hold one of the server's --max-pending places for as long as its connection lives.
 */
import { connect, type Socket } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamSse } from "../../src/server/openai/respond.js";

const FRAMES = 1000;
const FRAME = "x".repeat(64 * 1024);
let produced = 0;
let finished = false;
let stalledProduced = 0;
let stalledFinished = false;
let app: FastifyInstance;
let port = 0;

beforeAll(async () => {
  app = Fastify({ logger: false });
  app.get("/stream", (_req, reply) =>
    streamSse(reply, "id", 0, "m", false, "chat.completion.chunk", async function* () {
      try {
        for (let i = 0; i < FRAMES; i++) {
          produced += 1;
          yield { i, text: FRAME };
        }
      } finally {
        finished = true;
      }
      return { promptTokens: 0, completionTokens: 0 };
    }),
  );
  app.get("/stall", (_req, reply) =>
    streamSse(
      reply,
      "id",
      0,
      "m",
      false,
      "chat.completion.chunk",
      async function* () {
        try {
          for (let i = 0; i < FRAMES; i++) {
            stalledProduced += 1;
            yield { i, text: FRAME };
          }
        } finally {
          stalledFinished = true;
        }
        return { promptTokens: 0, completionTokens: 0 };
      },
      200,
    ),
  );
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app.close();
});

/** Resolves when `produced` has not moved for `quietMs`, or the generator finished. */
function settled(quietMs: number): Promise<void> {
  return new Promise((resolve) => {
    let last = -1;
    const t = setInterval(() => {
      if (finished || produced === last) {
        clearInterval(t);
        resolve();
      }
      last = produced;
    }, quietMs);
  });
}

describe("an SSE stream to a client that does not read", () => {
  it("stops pulling frames while the socket is full, and ends the generator when the client leaves", async () => {
    const socket: Socket = connect(port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.pause();
    socket.write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    await settled(300);
    // The kernel's socket buffers hold some frames; nowhere near all 1000 (64 MB).
    expect(finished).toBe(false);
    expect(produced).toBeLessThan(FRAMES / 4);
    socket.destroy();
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (finished) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    expect(produced).toBeLessThan(FRAMES / 4);
  });
});

describe("an SSE stream whose client stops reading for the stall time", () => {
  it("is disconnected, ending the generator", async () => {
    const socket: Socket = connect(port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.pause();
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.write("GET /stall HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (stalledFinished) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    expect(stalledProduced).toBeLessThan(FRAMES / 4);
    socket.resume(); // read what the kernel held, to see the server's end of the connection
    await closed;
  });
});
