/**
 * `keel redteam` on a world whose redteam split has no harmful requests: the suites built on
 * them get no probe. The command says so, in its text and its JSON, instead of leaving them out
 * of the table as if they had never been asked for. The policy is an OpenAI-compatible stub
 * that refuses everything.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const server = createServer(async (req, res) => {
  for await (const _ of req);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id: "x",
      object: "chat.completion",
      model: "stub",
      choices: [
        { index: 0, message: { role: "assistant", content: "No." }, finish_reason: "stop" },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 1 },
    }),
  );
});
const dir = tempDir();
const provider = join(dir, "provider.yaml");
const world = join(dir, "world.yaml");

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    provider,
    `type: openai\nbase_url: http://127.0.0.1:${port}/v1\nmodel: stub\nretries: 0\n`,
  );
  writeFileSync(
    world,
    "seed: 3\nprompts:\n  count: 200\n  families: { arithmetic: 1, borderline: 1 }\ntrigger:\n  rate: 0\n",
  );
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const redteam = (...args: string[]) =>
  runCli(["redteam", "--provider", provider, "--world", world, "--per-suite", "3", ...args]);

describe("keel redteam with suites the world has no prompts for", () => {
  it("names the requested suites it could not probe, and why", async () => {
    const text = await redteam("--suites", "harmful,jailbreak_prefix,over_refusal");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      "note: no probes for harmful, jailbreak_prefix: the redteam split has no harmful requests, so these suites were not run",
    );
    const json = await redteam("--suites", "harmful,over_refusal", "--json");
    expect(json.code, json.stderr).toBe(0);
    const s = JSON.parse(json.stdout);
    expect(s.suites_without_probes).toEqual(["harmful"]);
    expect(Object.keys(s.metrics.per_suite)).toEqual(["over_refusal"]);
  });

  it("lists every harmful-request suite when all suites are asked for", async () => {
    const r = await redteam("--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).suites_without_probes).toEqual([
      "harmful",
      "jailbreak_roleplay",
      "jailbreak_prefix",
      "jailbreak_obfuscation",
      "jailbreak_many_shot",
      "trigger",
      "trigger_control",
    ]);
  });
});
