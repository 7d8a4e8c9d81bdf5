/**
 * A prompt longer than a keel checkpoint's context: the engine provider keeps its last tokens
 * by default (as the trainers and `keel model generate` do), and refuses it when asked to, which
 * `keel serve-model` does, so an OpenAI client gets a 400 naming the field instead of an answer
 * to the prompt's last part (a chat cut from the front loses its system message unannounced).
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedProvider } from "../../src/cli/actions/serve-model.js";
import type { ServeModelFlags } from "../../src/cli/commands/serve-model.js";
import { EngineProvider, parseEngineConfig } from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { tempDir } from "../helpers/stores.js";
import { PAIRS, tinyCheckpoint } from "./tiny.js";

const LONG = "hello ".repeat(200); // far past the tiny model's 48-token context
let ckpt: string;
const closing: { close(): Promise<unknown> }[] = [];
beforeAll(async () => {
  ckpt = await tinyCheckpoint(tempDir());
});
afterAll(async () => {
  for (const c of closing) await c.close();
});

describe("EngineProvider: a prompt past the context", () => {
  it("keeps its last tokens by default and refuses it with prompt_overflow: refuse", async () => {
    const keep = new EngineProvider(parseEngineConfig({ checkpoint: ckpt, temperature: 0 }));
    closing.push(keep);
    const kept = await keep.generate({ prompt: LONG, maxTokens: 2 });
    expect(kept.ok && kept.value.usage.promptTokens).toBe(47);

    const refuse = new EngineProvider(
      parseEngineConfig({ checkpoint: ckpt, temperature: 0, prompt_overflow: "refuse" }),
    );
    closing.push(refuse);
    const r = await refuse.generate({ messages: [{ role: "user", content: LONG }] });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe("KEEL_E_INVALID_RECORD");
    expect(!r.ok && r.error.where?.field).toBe("messages");
    expect(!r.ok && r.error.message).toMatch(/the prompt is \d+ tokens; tiny's context is 48/);

    // In a batch the long prompt fails alone; the others answer as single calls do.
    const [q, a] = PAIRS[1]!;
    const batch = await refuse.generateBatch([{ prompt: q }, { prompt: LONG }, { prompt: q }]);
    expect(batch.map((b) => b.ok)).toEqual([true, false, true]);
    expect(batch[0]!.ok && batch[0]!.value.text).toBe(a);
    expect(batch[2]!.ok && batch[2]!.value.text).toBe(a);
    const streamed = [];
    for await (const ev of refuse.stream({ prompt: LONG })) streamed.push(ev.type);
    expect(streamed).toEqual(["error"]);
  }, 60_000);
});

describe("keel serve-model's provider refuses a prompt past the context", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const flags = { checkpoint: ckpt, port: 0, host: "127.0.0.1", seed: 0 } as ServeModelFlags;
    const served = servedProvider(flags);
    closing.push(served.provider as EngineProvider);
    app = await buildModelApp({
      provider: served.provider,
      model: served.model,
      chatMaxTokens: served.chatDefault,
      ...(served.cap === undefined ? {} : { maxTokens: served.cap }),
      logLevel: "silent",
    });
    closing.push(app);
  });

  it("answers 400 with OpenAI's error shape, for chat and completions", async () => {
    for (const [url, body] of [
      ["/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: LONG }] }],
      ["/v1/completions", { model: "tiny", prompt: LONG }],
    ] as const) {
      const res = await app.inject({ method: "POST", url, payload: body });
      expect(res.statusCode, res.body).toBe(400);
      const e = res.json().error;
      expect(e.type).toBe("invalid_request_error");
      expect(e.param).toBe(url.includes("chat") ? "messages" : "prompt");
      expect(e.message).toMatch(/context is 48 tokens/);
    }
    const fits = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "tiny", messages: [{ role: "user", content: PAIRS[1]![0] }] },
    });
    expect(fits.statusCode).toBe(200);
  }, 60_000);
});
