/**
 * Upstreams that misbehave in ways a careless or hostile endpoint does: a redirect to another
 * host, a body that drips past the timeout or is cut mid-way, a caller's abort mid-body, error
 * messages carrying terminal escapes or a megabyte of text, a 200 that is not JSON, and reward
 * logs that parse as Infinity. Each must come back as the right catalogue error (never
 * KEEL_E_INTERNAL, which reads as a bug in keel), with upstream text made safe to print.
 */
import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { send } from "../../src/providers/http/request.js";
import { Backoff } from "../../src/providers/http/retry.js";
import {
  Limiter,
  OpenAiProvider,
  parseOpenAiConfig,
  parseRemoteRewardConfig,
  RemoteRewardProvider,
  type StreamEvent,
} from "../../src/providers/index.js";
import { RayJobClient } from "../../src/providers/ray/index.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = () => {};
let otherHits = 0;
/** The body of the last request the server read. */
let lastBody = "";
const server = createServer(async (req, res) => {
  let raw = "";
  for await (const c of req) raw += c;
  lastBody = raw;
  handler(req, res);
});
// Another host (127.0.0.2) that a redirect points at.
const other: Server = createServer((_req, res) => {
  otherHits++;
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ choices: [{ message: { content: "from elsewhere" } }] }));
});
let base = "";
let otherUrl = "";
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => other.listen(0, "127.0.0.2", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  otherUrl = `http://127.0.0.2:${(other.address() as AddressInfo).port}/v1/chat/completions`;
});
afterAll(async () => {
  server.closeAllConnections();
  other.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => other.close(() => r()));
});

const provider = (o: Record<string, unknown> = {}) =>
  new OpenAiProvider(
    parseOpenAiConfig({ base_url: base, model: "m", retries: 0, api_key: "SECRET", ...o }),
  );

/** Headers and the start of a body, then `rest` (drip forever, or drop the connection). */
function halfBody(rest: "drip" | "reset", contentType = "application/json"): Handler {
  return (_req, res) => {
    res.writeHead(200, { "content-type": contentType });
    res.write(contentType === "text/event-stream" ? 'data: {"choices":[]}\n\n' : '{"choices":');
    if (rest === "reset") {
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    const t = setInterval(() => res.write(" "), 20);
    res.on("close", () => clearInterval(t));
  };
}

async function streamError(p: OpenAiProvider, signal?: AbortSignal) {
  const events: StreamEvent[] = [];
  for await (const e of p.stream({ prompt: "x", ...(signal ? { signal } : {}) })) events.push(e);
  const last = events.at(-1)!;
  return last.type === "error" ? last.error : undefined;
}

describe("a hostile OpenAI-compatible upstream", () => {
  it("does not follow a redirect to another host, and says where it pointed", async () => {
    otherHits = 0;
    for (const status of [302, 307, 308]) {
      handler = (_req, res) => {
        res.writeHead(status, { location: otherUrl });
        res.end();
      };
      const r = await provider({ retries: 2 }).generate({ prompt: "a secret prompt" });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe("KEEL_E_UPSTREAM");
        expect(r.error.message).toContain(`HTTP ${status}, a redirect to ${otherUrl}`);
      }
    }
    expect(otherHits).toBe(0);
  });

  it("a body that drips past the timeout, or is cut, is an upstream error, not an internal one", async () => {
    handler = halfBody("drip");
    const slow = await provider({ timeout_ms: 200 }).generate({ prompt: "x" });
    expect(!slow.ok && slow.error.code).toBe("KEEL_E_UPSTREAM");
    expect(!slow.ok && slow.error.message).toMatch(/timed out after 200 ms/);
    handler = halfBody("reset");
    const cut = await provider().generate({ prompt: "x" });
    expect(!cut.ok && cut.error.code).toBe("KEEL_E_UPSTREAM");
    expect(!cut.ok && cut.error.message).toMatch(/reading the answer failed/);

    handler = halfBody("drip", "text/event-stream");
    const slowStream = await streamError(provider({ timeout_ms: 200 }));
    expect(slowStream?.code).toBe("KEEL_E_UPSTREAM");
    expect(slowStream?.message).toMatch(/timed out after 200 ms/);
    handler = halfBody("reset", "text/event-stream");
    expect((await streamError(provider()))?.code).toBe("KEEL_E_UPSTREAM");
  });

  it("the caller's abort mid-body is an interruption", async () => {
    handler = halfBody("drip");
    const ac = new AbortController();
    setTimeout(() => ac.abort("stop"), 100);
    const r = await provider().generate({ prompt: "x", signal: ac.signal });
    expect(!r.ok && r.error.code).toBe("KEEL_E_INTERRUPTED");
    handler = halfBody("drip", "text/event-stream");
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort("stop"), 100);
    expect((await streamError(provider(), ac2.signal))?.code).toBe("KEEL_E_INTERRUPTED");
  });

  it("quotes an upstream's error without terminal escapes, and at most 500 characters of it", async () => {
    const evil = "\u001b[2J\u001b]0;owned\u0007\rkeel: all fine \u202egnp.exe";
    handler = (_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: evil } }));
    };
    const r = await provider().generate({ prompt: "x" });
    expect(!r.ok && r.error.code).toBe("KEEL_E_UPSTREAM");
    const m = !r.ok ? r.error.message : "";
    expect(m).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(m).toContain("\\u001b[2J");
    handler = (_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "y".repeat(900_000) } }));
    };
    const long = await provider().generate({ prompt: "x" });
    expect(!long.ok && long.error.message.length).toBeLessThan(1000);
    // A traceback's last line says what went wrong: the end is kept, not the start.
    handler = (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`Traceback\n${"  frame\n".repeat(200)}ValueError: bad shape`);
    };
    const trace = await provider().generate({ prompt: "x" });
    expect(!trace.ok && trace.error.message).toMatch(/…[^…]*ValueError: bad shape/);
  });

  it("names a 200 answer that is not JSON as such", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>\u001b[31mlogin</html>");
    };
    const r = await provider().generate({ prompt: "x" });
    expect(!r.ok && r.error.code).toBe("KEEL_E_UPSTREAM");
    expect(!r.ok && r.error.message).toMatch(/the answer is not JSON \(it begins "<html>\\\\u001b/);
  });
});

describe("an upstream that echoes the API key", () => {
  it("does not get it into keel's messages", async () => {
    const key = "sk-test-0123456789abcdef";
    handler = (req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: { message: `invalid header: ${req.headers.authorization}` } }),
      );
    };
    const r = await provider({ api_key: key }).generate({ prompt: "x" });
    expect(!r.ok && r.error.message).toMatch(/answered HTTP 401: invalid header: \*\*\*$/);
    handler = (req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: {"error":"bad key ${req.headers["x-api-key"]}"}\n\n`);
    };
    const e = await streamError(provider({ headers: { "x-api-key": key } }));
    expect(e?.message).toMatch(/answered with an error: bad key \*\*\*$/);
    // OpenAI's own 401 quotes the key alone, without the "Bearer " it was sent with; a key of
    // 8 characters is long enough to be scrubbed.
    for (const k of [key, "sk-12345"]) {
      handler = (req, res) => {
        res.writeHead(401, { "content-type": "application/json" });
        const sent = String(req.headers.authorization).replace("Bearer ", "");
        res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${sent}.` } }));
      };
      const bare = await provider({ api_key: k }).generate({ prompt: "x" });
      expect(!bare.ok && bare.error.message).toMatch(
        /HTTP 401: Incorrect API key provided: \*\*\*\.$/,
      );
    }
  });
});

describe("api_key_header", () => {
  it("sends the key in the named header as it is, not as Authorization: Bearer", async () => {
    const seen: (string | undefined)[] = [];
    handler = (req, res) => {
      seen.push(req.headers["api-key"] as string | undefined, req.headers.authorization);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ message: { content: "hi" }, finish_reason: "stop" }] }));
    };
    const r = await provider({ api_key: "azure-key-123", api_key_header: "api-key" }).generate({
      prompt: "x",
    });
    expect(r.ok).toBe(true);
    expect(seen).toEqual(["azure-key-123", undefined]);
  });
});

describe("an upstream that reports an error with status 200", () => {
  it("mid-stream is an error, not the text so far as a finished answer", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n');
      res.write('data: {"error":{"message":"CUDA out of memory\\u001b[2J","code":500}}\n\n');
      res.end("data: [DONE]\n\n");
    };
    const e = await streamError(provider());
    expect(e?.code).toBe("KEEL_E_UPSTREAM");
    expect(e?.message).toMatch(
      /\/chat\/completions answered with an error: CUDA out of memory\\u001b\[2J$/,
    );
  });

  it("as a whole answer is quoted, not reported as a missing field", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"object":"error","message":"model overloaded","code":503}');
    };
    const r = await provider({ api: "completions" }).generate({ prompt: "x" });
    expect(!r.ok && r.error.message).toMatch(
      /\/completions answered with an error: model overloaded$/,
    );
  });
});

describe("the concurrency limit against an upstream that sends its headers first", () => {
  it("counts a call until its body has been read", async () => {
    const open = { now: 0, max: 0 };
    handler = (_req, res) => {
      open.now++;
      open.max = Math.max(open.max, open.now);
      res.on("close", () => open.now--);
      res.writeHead(200, { "content-type": "application/json" });
      res.flushHeaders();
      setTimeout(() => res.end(JSON.stringify({ choices: [{ message: { content: "ok" } }] })), 100);
    };
    const p = provider({ concurrency: 2 });
    const all = await Promise.all(Array.from({ length: 6 }, () => p.generate({ prompt: "x" })));
    expect(all.every((r) => r.ok)).toBe(true);
    expect(open.max).toBe(2);
  });

  it("counts a stream until it ends, and frees its slot when the reader stops at [DONE]", async () => {
    for (const keepOpen of [false, true]) {
      const open = { now: 0, max: 0 };
      handler = (_req, res) => {
        open.now++;
        open.max = Math.max(open.max, open.now);
        res.on("close", () => open.now--);
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.flushHeaders();
        setTimeout(() => {
          res.write('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n');
          // An upstream that keeps the connection open after [DONE].
          if (!keepOpen) res.end();
        }, 100);
      };
      const p = provider({ concurrency: 2 });
      const limiter = (p as unknown as { http: { limiter: { active: number } } }).http.limiter;
      const runs = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const events: StreamEvent[] = [];
          for await (const e of p.stream({ prompt: "x" })) events.push(e);
          return events.at(-1)?.type;
        }),
      );
      expect(runs, `keepOpen ${keepOpen}`).toEqual(Array(5).fill("done"));
      // (A connection kept open is closed by keel when it stops reading; the server may learn of
      // it after the next request has arrived, so only the closed case counts exactly.)
      if (!keepOpen) expect(open.max).toBe(2);
      expect(limiter.active).toBe(0);
    }
  });
});

describe("the limiter's waiters", () => {
  it("share one listener on a common signal, and still leave the queue when it aborts", async () => {
    const l = new Limiter(1);
    let release!: () => void;
    const first = l.run(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const waiters = Array.from({ length: 20 }, (_, i) =>
      l.run(async () => {
        await gate;
        return i;
      }, ac.signal),
    );
    expect(l.queued).toBe(20);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    await new Promise((r) => setImmediate(r));
    release();
    await first;
    expect(l.queued).toBe(19);
    ac.abort("enough");
    const rest = await Promise.allSettled(waiters.slice(1));
    expect(rest.every((r) => r.status === "rejected")).toBe(true);
    open();
    expect(await waiters[0]).toBe(0);
    expect(l.queued).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    // A fresh signal: its listener goes once the last of its waiters starts.
    const ac2 = new AbortController();
    const hold = l.run(() => new Promise<void>((r) => (release = r)));
    const two = [l.run(async () => 1, ac2.signal), l.run(async () => 2, ac2.signal)];
    expect(getEventListeners(ac2.signal, "abort")).toHaveLength(1);
    await new Promise((r) => setImmediate(r));
    release();
    await hold;
    expect(await Promise.all(two)).toEqual([1, 2]);
    expect(getEventListeners(ac2.signal, "abort")).toHaveLength(0);
    expect(l.active).toBe(0);
  });
});

describe("header values in a provider config", () => {
  it("are checked with the config, not refused by every call as a network error", () => {
    const parse = (o: Record<string, unknown>) => () =>
      parseOpenAiConfig({ base_url: "http://127.0.0.1:1/v1", model: "m", ...o });
    expect(parse({ headers: { "x-a": "b\r\nx-injected: 1" } })).toThrow(
      /headers\.x-a: must be Latin-1 text without line breaks or NUL/,
    );
    expect(parse({ headers: { "bad name": "v" } })).toThrow(/headers\.bad name/);
    expect(parse({ api_key: "k\u2603" })).toThrow(/api_key: must be Latin-1/);
    expect(() =>
      parseRemoteRewardConfig({ url: "http://127.0.0.1:1/get_reward", api_key: "a\nb" }),
    ).toThrow(/api_key: must be Latin-1/);
    process.env.KEEL_TEST_BAD_KEY = "sk-a\nb";
    expect(parse({ api_key_env: "KEEL_TEST_BAD_KEY" })).toThrow(/the key in KEEL_TEST_BAD_KEY/);
    // A key file's final newline is dropped by fetch, as before.
    process.env.KEEL_TEST_BAD_KEY = "sk-abc\n";
    expect(parse({ api_key_env: "KEEL_TEST_BAD_KEY", headers: { "x-b": " ok " } })).not.toThrow();
    delete process.env.KEEL_TEST_BAD_KEY;
  });
});

describe("upstream URLs in a provider config", () => {
  it("refuse a user name or password, without printing them, and a query the path would join", () => {
    const secret = "sekret-pw";
    const cases: [() => unknown, RegExp][] = [
      [
        () => parseOpenAiConfig({ base_url: `http://u:${secret}@127.0.0.1:1/v1`, model: "m" }),
        /^openai provider: base_url: must not carry a user name or password/,
      ],
      [
        () => parseRemoteRewardConfig({ url: `http://u:${secret}@127.0.0.1:1/get_reward` }),
        /^remote reward provider: url: must not carry a user name or password/,
      ],
      [
        () => new RayJobClient({ address: `http://u:${secret}@127.0.0.1:1` }),
        /^--ray-address must not carry a user name or password/,
      ],
      [
        () => parseOpenAiConfig({ base_url: "http://127.0.0.1:1/v1?key=k", model: "m" }),
        /^openai provider: base_url: must not have a query/,
      ],
    ];
    for (const [f, re] of cases) {
      const e = (() => {
        try {
          f();
        } catch (x) {
          return x as KeelError;
        }
      })();
      expect(e).toBeInstanceOf(KeelError);
      expect(e!.message).toMatch(re);
      expect(e!.message).not.toContain(secret);
    }
  });
});

describe("a hostile remote reward model", () => {
  it("sends OpenRLHF's request, and refuses more or fewer rewards than queries", async () => {
    let rewards: number[] = [];
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ rewards }));
    };
    const rm = new RemoteRewardProvider(parseRemoteRewardConfig({ url: base, retries: 0 }));
    const items = [
      { prompt: "p1 ", response: "a", label: "x" },
      { prompt: "p2 ", response: "b" },
    ];
    rewards = [0.25, -1];
    expect(await rm.score(items)).toEqual({ ok: true, value: { rewards: [0.25, -1] } });
    expect(JSON.parse(lastBody)).toEqual({
      query: ["p1 a", "p2 b"],
      prompts: ["p1 ", "p2 "],
      labels: ["x", ""],
    });
    for (const wrong of [[0.5], [0.5, 1, 2]]) {
      rewards = wrong;
      const r = await rm.score(items);
      expect(!r.ok && r.error.code).toBe("KEEL_E_UPSTREAM");
      expect(!r.ok && r.error.message).toContain(`${wrong.length} rewards for 2 queries`);
    }
  });

  it("drops extra logs that are not finite (1e999 parses as Infinity)", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"rewards":[0.5,1],"extra_logs":{"big":[1e999,1],"ok":[1,2]}}');
    };
    const rm = new RemoteRewardProvider(parseRemoteRewardConfig({ url: base, retries: 0 }));
    const r = await rm.score([
      { prompt: "p", response: "a" },
      { prompt: "p", response: "b" },
    ]);
    expect(r).toEqual({ ok: true, value: { rewards: [0.5, 1], extras: { ok: [1, 2] } } });
  });
});

describe("send, the call under every provider", () => {
  /** A backoff that records what each wait was asked for, and waits for nothing. */
  class RecordingBackoff extends Backoff {
    readonly asked: [number, string | null | undefined][] = [];
    onDelay = () => {};
    override delay(k: number, retryAfter?: string | null): number {
      this.asked.push([k, retryAfter]);
      this.onDelay();
      return 0;
    }
  }
  const client = (backoff: Backoff) => ({
    name: "up",
    timeoutMs: 5000,
    backoff,
    limiter: new Limiter(1),
  });

  it("waits between attempts only, with the Retry-After the upstream sent", async () => {
    const statuses = [429, 503, 503];
    handler = (_req, res) => {
      const status = statuses.shift() ?? 500;
      res.writeHead(status, status === 429 ? { "retry-after": "7" } : {});
      res.end("busy");
    };
    const backoff = new RecordingBackoff({ retries: 2, baseDelayMs: 0, maxDelayMs: 0 });
    await expect(send(client(backoff), "POST", base, {})).rejects.toThrow(
      /HTTP 503: busy \(gave up after 3 attempts\)/,
    );
    expect(backoff.asked).toEqual([
      [1, "7"],
      [2, null],
    ]);
  });

  it("makes the caller's abort an interruption, during a call or while it waits to retry", async () => {
    const during = new AbortController();
    handler = () => during.abort("stop"); // never answers
    const once = new Backoff({ retries: 0, baseDelayMs: 0, maxDelayMs: 0 });
    await expect(send(client(once), "POST", base, {}, during.signal)).rejects.toMatchObject({
      code: "KEEL_E_INTERRUPTED",
    });
    const waiting = new AbortController();
    handler = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    const backoff = new RecordingBackoff({ retries: 2, baseDelayMs: 0, maxDelayMs: 0 });
    backoff.onDelay = () => waiting.abort();
    const e = await send(client(backoff), "POST", base, {}, waiting.signal).catch((x) => x);
    expect(e).toBeInstanceOf(KeelError);
    expect(e).toMatchObject({ code: "KEEL_E_INTERRUPTED" });
  });
});
