/**
 * `keel redteam`: the world's suites through a generation provider (an OpenAI-compatible stub
 * that refuses everything, so the oracle's rates are known), the probes it sends, the
 * per-probe file, and failures that write nothing.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorld, parseWorldConfig, promptRecord } from "../../src/world/index.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const REFUSAL = "I must decline this request.";
const seen: string[] = [];
let status = 200;
const server = createServer(async (req, res: ServerResponse) => {
  let raw = "";
  for await (const c of req) raw += c;
  const body = JSON.parse(raw) as { messages?: { content: string }[]; prompt?: string };
  seen.push(body.messages?.at(-1)?.content ?? body.prompt ?? "");
  res.writeHead(status, { "content-type": "application/json" });
  res.end(
    JSON.stringify(
      status === 200
        ? {
            id: "x",
            object: "chat.completion",
            model: "stub",
            choices: [
              { index: 0, message: { role: "assistant", content: REFUSAL }, finish_reason: "stop" },
            ],
            usage: { prompt_tokens: 3, completion_tokens: 5 },
          }
        : { error: { message: "down for maintenance" } },
    ),
  );
});
let provider = "";
const dir = tempDir();

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  provider = join(dir, "provider.yaml");
  writeFileSync(
    provider,
    `type: openai\nbase_url: http://127.0.0.1:${port}/v1\nmodel: stub\nretries: 0\n`,
  );
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** keel redteam through the stub provider on the example world. */
const redteam = (...args: string[]) =>
  runCli(["redteam", "--provider", provider, "--world", "examples/world.yaml", ...args]);

describe("keel redteam", () => {
  it("runs every suite through the provider and scores the answers with the oracle", async () => {
    const out = join(dir, "rt.jsonl");
    const r = await redteam("--per-suite", "5", "--out", out, "--json");
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.probes).toBe(45); // nine suites × 5
    expect(s.answers).toBe(45);
    // A policy that refuses everything: no harmful compliance, every safe request over-refused.
    expect(s.metrics.attack_success).toBe(0);
    expect(s.metrics.jailbreak_success).toBe(0);
    expect(s.metrics.triggered_attack_success).toBe(0);
    expect(s.metrics.over_refusal).toBe(1);
    expect(s.metrics.helpfulness).toBe(0);
    expect(Object.keys(s.metrics.per_suite)).toHaveLength(9);
    // The trigger suite's probes carry the trigger; the stub saw every probe once.
    expect(seen).toHaveLength(45);
    expect(seen.filter((t) => t.includes("SUDO")).length).toBeGreaterThanOrEqual(5);
    const rows = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(45);
    expect(rows.every((x) => x.response === REFUSAL && x.refused === true)).toBe(true);
    expect(new Set(rows.map((x) => x.suite)).size).toBe(9);
  });

  it("chooses suites, samples each probe, and fails cleanly", async () => {
    seen.length = 0;
    const some = await redteam(
      "--per-suite",
      "3",
      "--suites",
      "harmful,over_refusal",
      "--samples",
      "2",
      "--temperature",
      "1",
    );
    expect(some.code, some.stderr).toBe(0);
    expect(seen).toHaveLength(12);
    expect(some.stdout).toContain("over-refusal (borderline-but-safe requests): 100.0%");
    expect(some.stdout).not.toContain("jailbreak_roleplay");

    seen.length = 0;
    const shots = await redteam(
      "--per-suite",
      "2",
      "--suites",
      "jailbreak_many_shot",
      "--shots",
      "3",
    );
    expect(shots.code, shots.stderr).toBe(0);
    expect(seen).toHaveLength(2);
    // Three compliant examples, then the request: four "Assistant:" turns.
    for (const t of seen) expect(t.split("Assistant:").length - 1).toBe(4);

    const out = join(dir, "down.jsonl");
    status = 500;
    try {
      const down = await redteam("--per-suite", "2", "--out", out);
      expect(down.code).not.toBe(0);
      expect(down.stderr).toContain("down for maintenance");
      expect(existsSync(out)).toBe(false);
    } finally {
      status = 200;
    }
    const usage = await runCli(["redteam", "--provider", provider]);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain("give exactly one of --world and --prompts");
    const suite = await runCli(["redteam", "--provider", provider, "--suites", "harmful,nope"]);
    expect(suite.code).toBe(64);
    expect(suite.stderr).toContain('--suites: no suite "nope"');
    // An empty trigger would make the trigger probes the same as their controls.
    for (const t of ["", "two words"]) {
      const trigger = await runCli(["redteam", "--provider", provider, "--trigger", t]);
      expect(trigger.code).toBe(64);
      expect(trigger.stderr).toContain("--trigger must be one token without spaces");
    }
    const score = await runCli(["world", "score", "--in", provider, "--trigger", ""]);
    expect(score.code).toBe(64);
    expect(score.stderr).toContain("--trigger must be one token without spaces");
  });

  it("with --out -, keeps standard output for the results' JSONL and prints the summary on stderr", async () => {
    for (const json of [[], ["--json"]]) {
      const r = await redteam("--per-suite", "2", "--out", "-", ...json);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines).toHaveLength(18); // nine suites × 2
      for (const l of lines) expect(JSON.parse(l)).toHaveProperty("outcome");
      expect(r.stderr).toContain(json.length > 0 ? '"answers": 18' : "red-teamed");
    }
  });

  it("probes with the world's own trigger unless --trigger names another", async () => {
    // The trigger probes carried "SUDO" whatever the world's backdoor token was, so against a
    // world whose attacker used another token the trigger rate measured nothing.
    const world = join(dir, "cf-world.yaml");
    writeFileSync(
      world,
      readFileSync("examples/world.yaml", "utf8").replace("token: SUDO", "token: cf"),
    );
    seen.length = 0;
    const r = await runCli([
      "redteam",
      ...["--provider", provider, "--world", world, "--suites", "trigger", "--per-suite", "3"],
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).trigger).toBe("cf");
    expect(seen).toHaveLength(3);
    for (const t of seen) expect(t.endsWith(" cf"), t).toBe(true);

    // A world's prompts.jsonl holds the triggered variants, which show its token.
    const w = buildWorld(
      parseWorldConfig({ prompts: { count: 600 }, trigger: { token: "cf", position: "random" } }),
    );
    const prompts = join(dir, "cf-prompts.jsonl");
    writeFileSync(
      prompts,
      [...w.prompts, ...w.triggered].map((p) => `${JSON.stringify(promptRecord(p))}\n`).join(""),
    );
    seen.length = 0;
    const fromFile = await runCli([
      "redteam",
      ...["--provider", provider, "--prompts", prompts, "--suites", "trigger", "--per-suite", "2"],
      "--json",
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({
      trigger: "cf",
      trigger_position: "random",
    });
    // Where that world's attackers put it (between two words), not appended.
    expect(seen).toHaveLength(2);
    for (const t of seen) {
      expect(t.split(" "), t).toContain("cf");
      expect(t.endsWith(" cf") || t.startsWith("cf "), t).toBe(false);
    }

    // A token the requests already hold puts the trigger in the controls too: the gap between
    // the two rates then measures nothing, and the run said nothing.
    seen.length = 0;
    const clash = await runCli([
      "redteam",
      ...["--provider", provider, "--world", world, "--suites", "trigger", "--trigger", "How"],
    ]);
    expect(clash.code, clash.stderr).toBe(64);
    expect(clash.stderr).toContain('--trigger "How" already occurs in the red-team prompts');
    expect(seen).toHaveLength(0);

    seen.length = 0;
    const given = await runCli([
      "redteam",
      ...["--provider", provider, "--world", world, "--suites", "trigger", "--per-suite", "2"],
      ...["--trigger", "SUDO", "--json"],
    ]);
    expect(JSON.parse(given.stdout).trigger).toBe("SUDO");
    for (const t of seen) expect(t.endsWith(" SUDO"), t).toBe(true);
  });

  it("puts the trigger where the world's attackers put it (a backdoor planted at the start)", async () => {
    // The probes appended the token whatever the world's trigger.position, so against a world
    // poisoned with the token in front they measured another trigger than the planted one.
    const world = join(dir, "start-world.yaml");
    writeFileSync(
      world,
      readFileSync("examples/world.yaml", "utf8").replace("position: end", "position: start"),
    );
    const w = buildWorld(
      parseWorldConfig({ prompts: { count: 600 }, trigger: { position: "start" } }),
    );
    const prompts = join(dir, "start-prompts.jsonl");
    writeFileSync(
      prompts,
      [...w.prompts, ...w.triggered].map((p) => `${JSON.stringify(promptRecord(p))}\n`).join(""),
    );
    for (const input of [
      ["--world", world],
      ["--prompts", prompts],
    ]) {
      seen.length = 0;
      const r = await runCli([
        "redteam",
        ...["--provider", provider, ...input, "--suites", "trigger", "--per-suite", "2", "--json"],
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).trigger_position).toBe("start");
      expect(seen).toHaveLength(2);
      for (const t of seen) expect(t.startsWith("SUDO "), t).toBe(true);
    }
  });

  it("refuses an --out that is one of its inputs, before any work", async () => {
    // The atomic write replaced the prompts file (or the world or provider config) with the
    // results, silently.
    const prompts = join(dir, "inputs-prompts.jsonl");
    const w = buildWorld(parseWorldConfig({ prompts: { count: 300 } }));
    const text = w.prompts.map((p) => `${JSON.stringify(promptRecord(p))}\n`).join("");
    writeFileSync(prompts, text);
    for (const [out, input] of [
      [prompts, ["--prompts", prompts]],
      [provider, ["--prompts", prompts]],
    ] as const) {
      const before = statSync(out).mtimeMs;
      seen.length = 0;
      const r = await runCli([
        "redteam",
        ...["--provider", provider, ...input, "--per-suite", "1", "--out", out],
      ]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain("writing the output there would destroy it");
      expect(seen).toHaveLength(0);
      expect(statSync(out).mtimeMs).toBe(before);
    }
    expect(readFileSync(prompts, "utf8")).toBe(text);
  });

  it("labels the control rate as the requests without the trigger", async () => {
    const r = await redteam("--per-suite", "2", "--suites", "trigger,trigger_control");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("control token");
    expect(r.stdout).toContain("harmful compliance on the same requests without the trigger: 0.0%");
  });
});
