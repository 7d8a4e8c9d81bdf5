/**
 * A provider as a red-team policy: answers in prompt order, and a failure that names the
 * provider once and the prompt it failed on.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { OpenAiProvider, parseOpenAiConfig } from "../../src/providers/openai.js";
import { FILTERED_NOTICE, policyText, providerPolicy } from "../../src/providers/policy.js";
import { fail, type GenerationProvider, ok, type StreamEvent } from "../../src/providers/types.js";
import { runRedteam } from "../../src/redteam/metrics.js";
import { buildSuites } from "../../src/redteam/suites.js";
import { buildWorld, parseWorldConfig, promptsOf } from "../../src/world/index.js";
import { seedEcho } from "./stubs.js";

const provider = (failOn: string, message: (id: string) => string): GenerationProvider => ({
  id: () => "stub:m",
  generate: async (r) =>
    r.prompt === failOn
      ? fail(new KeelError("KEEL_E_UPSTREAM", message("stub:m")))
      : ok({
          text: `<${r.prompt}>`,
          finishReason: "stop",
          usage: { promptTokens: 0, completionTokens: 0 },
          model: "m",
        }),
});

describe("providerPolicy", () => {
  it("answers in prompt order and names the provider once in a failure", async () => {
    const opts = { maxTokens: 4, temperature: 0, seed: 1, concurrency: 2 };
    const ok1 = providerPolicy(
      provider("none", () => ""),
      opts,
    );
    expect(await ok1(["a", "b", "c"])).toEqual(["<a>", "<b>", "<c>"]);
    for (const message of [
      (id: string) => `${id}: POST /v1 answered HTTP 500`,
      () => "bare failure",
    ]) {
      const p = providerPolicy(provider("b", message), opts);
      const e = await p(["a", "b"]).catch((x: unknown) => x as KeelError);
      expect(e).toBeInstanceOf(KeelError);
      const m = (e as KeelError).detail;
      expect(m.startsWith("stub:m: ")).toBe(true);
      expect(m.split("stub:m").length - 1).toBe(1);
      expect((e as KeelError).where).toMatchObject({ id: 'prompt "b"' });
    }
  });
});

describe("providerPolicy's seeds", () => {
  it("give each request the next seed, across calls, from the one it was given", async () => {
    const seen: (number | undefined)[] = [];
    const echo = seedEcho(seen);
    const p = providerPolicy(echo, { maxTokens: 4, temperature: 1, seed: 40, concurrency: 1 });
    expect(await p(["a", "b"])).toEqual(["a#40", "b#41"]);
    expect(await p(["c"])).toEqual(["c#42"]);
    expect(seen).toEqual([40, 41, 42]);
  });
});

describe("providerPolicy over an endpoint whose content filter stops answers", () => {
  it("counts a filtered answer as a refusal, not an empty one", async () => {
    // Azure OpenAI's two shapes: a filtered completion (content null, finish content_filter),
    // and a filtered prompt (HTTP 400, error code content_filter).
    const seen = { completion: 0, prompt: 0 };
    const server = createServer(async (req, res) => {
      let raw = "";
      for await (const c of req) raw += c;
      const prompt = (JSON.parse(raw) as { messages: { content: string }[] }).messages[0]!.content;
      const filtered = prompt.includes("[");
      if (filtered && prompt.length % 2 === 1) {
        seen.prompt++;
        res.writeHead(400, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            error: {
              message: "The response was filtered due to the prompt triggering a content policy.",
              type: null,
              param: "prompt",
              code: "content_filter",
              status: 400,
            },
          }),
        );
        return;
      }
      if (filtered) seen.completion++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          model: "m",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: filtered ? null : "Paris." },
              finish_reason: filtered ? "content_filter" : "stop",
            },
          ],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const base_url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const policy = providerPolicy(
        new OpenAiProvider(parseOpenAiConfig({ base_url, model: "m", retries: 0 })),
        { maxTokens: 8, temperature: 0, seed: 1, concurrency: 2 },
      );
      const world = buildWorld(
        parseWorldConfig({ prompts: { count: 400 }, comparisons: { count: 10 } }),
        3,
      );
      const probes = buildSuites(promptsOf(world, "redteam"), {
        perSuite: 5,
        trigger: "SUDO",
        seed: 1,
        suites: ["harmful"],
      });
      expect(probes.length).toBeGreaterThan(0);
      const { metrics } = await runRedteam(policy, probes);
      expect(seen.prompt).toBeGreaterThan(0);
      expect(seen.completion).toBeGreaterThan(0);
      expect(metrics.per_suite.harmful).toMatchObject({ refused: 1, empty: 0, harmful: 0 });
      // A stream of a filtered prompt ends as a filtered answer too.
      const provider = new OpenAiProvider(parseOpenAiConfig({ base_url, model: "m", retries: 0 }));
      const events: StreamEvent[] = [];
      for await (const e of provider.stream({ prompt: "[x]" })) events.push(e);
      expect(events).toEqual([
        {
          type: "done",
          finishReason: "content_filter",
          usage: { promptTokens: 0, completionTokens: 0 },
          model: "m",
        },
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("keeps the text that came before the filter, harmful markers and all", () => {
    const g = (text: string) => ({
      text,
      finishReason: "content_filter" as const,
      usage: { promptTokens: 0, completionTokens: 0 },
      model: "m",
    });
    expect(policyText(g(""))).toBe(FILTERED_NOTICE);
    expect(policyText(g("Step 1: obtain [PRECURSOR-3]"))).toBe(
      `Step 1: obtain [PRECURSOR-3]\n\n${FILTERED_NOTICE}`,
    );
    expect(policyText({ ...g("fine"), finishReason: "stop" })).toBe("fine");
  });
});
