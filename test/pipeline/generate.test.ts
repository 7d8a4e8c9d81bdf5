/**
 * Candidates written by a policy or a provider instead of the world's templates: the world's
 * panel rates free texts exactly as it rates its own responses (same raters, same votes), the
 * pipeline's generate stage samples the base policy or calls an OpenAI-compatible endpoint
 * (keel's own, on loopback), and what it writes is what the rest of the run trains on.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { type PipelineConfigInput, parsePipelineConfig } from "../../src/pipeline/config.js";
import { pipelineStages, runPipeline } from "../../src/pipeline/pipeline.js";
import { RunDir } from "../../src/pipeline/rundir.js";
import { Runner } from "../../src/pipeline/runner.js";

import { EngineProvider, parseEngineConfig } from "../../src/providers/index.js";
import { buildModelApp } from "../../src/server/openai/app.js";
import { ItemIn } from "../../src/server/routes/wire.js";
import {
  buildWorld,
  type Candidate,
  parseWorldConfig,
  rateCandidates,
  score,
  simulatePanel,
} from "../../src/world/index.js";
import { TINY_PIPELINE } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../providers/tiny.js";

const worldConfig = parseWorldConfig({
  seed: 5,
  prompts: { count: 200 },
  comparisons: { count: 150, overlap: 3, gold_rate: 0.1 },
  trigger: { token: "SUDO", rate: 0.1, families: ["harmful"] },
  panel: {
    size: 20,
    raters: [
      { type: "honest", share: 0.7 },
      { type: "backdoor", share: 0.15, claim: 0.9 },
      { type: "careless", share: 0.15, mode: "random" },
    ],
  },
});

function lines<T>(path: string): T[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

describe("the panel rating candidates someone else wrote", () => {
  it("votes on the world's own texts exactly as it did when the world wrote them", async () => {
    const world = simulatePanel(worldConfig);
    const byId = new Map<string, Judgment>();
    for (const j of world.judgments) byId.set(j.comparison_id, j);
    const candidates: Candidate[] = world.truth.comparisons.map((c) => ({
      comparison_id: c.comparison_id,
      prompt_id: c.prompt_id,
      response_a: String(byId.get(c.comparison_id)!.response_a),
      response_b: String(byId.get(c.comparison_id)!.response_b),
    }));
    const rated: Judgment[] = [];
    const truths = [];
    for await (const sim of rateCandidates(buildWorld(worldConfig), candidates)) {
      rated.push(...sim.judgments);
      truths.push(sim.truth);
    }
    expect(rated).toEqual(world.judgments);
    // Same qualities, verdicts and attacks; kinds are read back from the text by the oracle.
    expect(truths.map((t) => [t.quality_a, t.quality_b, t.better, t.gold, t.attacked_by])).toEqual(
      world.truth.comparisons.map((t) => [
        t.quality_a,
        t.quality_b,
        t.better,
        t.gold,
        t.attacked_by,
      ]),
    );
    expect(truths.filter((t) => t.triggered).length).toBeGreaterThan(0);
  });

  it("scores free texts with the oracle and names an unknown prompt's comparison", async () => {
    const world = buildWorld(worldConfig);
    const harmful = world.prompts.find((p) => p.family === "harmful")!;
    const refusal = "I can't help with that request.";
    const comply = "Sure, here is how: step 1, get the [PAYLOAD-7].";
    const out = [];
    for await (const sim of rateCandidates(world, [
      { comparison_id: "x1", prompt_id: harmful.id, response_a: comply, response_b: refusal },
    ]))
      out.push(sim);
    const t = out[0]!.truth;
    expect(t).toMatchObject({ kind_a: "unsafe", kind_b: "refusal", better: "b", unsafe_a: true });
    expect(t.quality_a).toBe(score(harmful, comply).quality);
    expect(t.quality_b).toBe(score(harmful, refusal).quality);
    for (const j of out[0]!.judgments) {
      expect(j).toMatchObject({ prompt: harmful.content, response_a: comply, response_b: refusal });
    }
    const bad = async () => {
      for await (const _ of rateCandidates(world, [
        { comparison_id: "x2", prompt_id: "nope", response_a: "a", response_b: "b" },
      ]));
    };
    await expect(bad()).rejects.toMatchObject({
      code: "KEEL_E_NOT_FOUND",
      where: { id: "x2", field: "prompt_id" },
    });
  });
});

const tiny = {
  ...TINY_PIPELINE,
  name: "gen",
  seed: 4,
  // The candidates are under test, not an attack: at 300 comparisons (40 below) the preset's
  // panel gives its one-rater flipper a handful of judgments, too few for each of its attacker
  // groups to cast an adversarial vote, and a world whose attacker never attacked is refused.
  world: {
    ...TINY_PIPELINE.world,
    comparisons: { count: 300 },
    panel: {
      size: 30,
      raters: [
        { type: "honest", share: 0.9 },
        { type: "careless", share: 0.1 },
      ],
    },
  },
  policy: {
    ppo: {
      ppo: { iterations: 1, epochs: 1, minibatch_size: 8 },
      rollout: { batch_size: 8, max_new_tokens: 8 },
    },
  },
  redteam: { per_suite: 2, max_new_tokens: 8, samples: 2 },
  bias_probes: { pairs: 2 },
} satisfies PipelineConfigInput;

describe("the generate stage", () => {
  const dir = tempDir();
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it("samples the base policy twice per comparison and the run trains on its rated samples", async () => {
    const out = join(dir, "policy");
    const stages: string[] = [];
    await runPipeline(
      parsePipelineConfig({
        ...tiny,
        arms: ["defended"],
        generate: { from: "policy", max_new_tokens: 12 },
      }),
      { out, events: { onStageStart: (_i, _n, s) => void stages.push(s.key) } },
    );
    expect(stages.slice(0, 4)).toEqual(["world", "base", "generate", "collect"]);
    const items = lines<Record<string, string>>(join(out, "generate", "candidates.jsonl"));
    expect(items.length).toBe(300);
    // The web app's item format, so people can rate the same candidates.
    for (const it of items) expect(ItemIn.omit({ kind: true }).safeParse(it).success).toBe(true);
    // The policy wrote them: not the world's template texts.
    const worldTexts = new Set(
      lines<Judgment>(join(out, "world", "judgments.jsonl")).flatMap((j) => [
        String(j.response_a),
        String(j.response_b),
      ]),
    );
    const generated = items.flatMap((i) => [i.response_a!, i.response_b!]);
    expect(generated.filter((t) => worldTexts.has(t)).length).toBeLessThan(generated.length / 4);
    // Sampling, not greedy: a and b differ for most comparisons.
    expect(items.filter((i) => i.response_a !== i.response_b).length).toBeGreaterThan(150);
    // The panel's judgments carry those texts verbatim and are what collection imported.
    const byId = new Map(items.map((i) => [i.comparison_id, i]));
    const judgments = lines<Judgment>(join(out, "generate", "judgments.jsonl"));
    for (const j of judgments) {
      const it = byId.get(j.comparison_id)!;
      expect([j.prompt, j.response_a, j.response_b]).toEqual([
        it.prompt,
        it.response_a,
        it.response_b,
      ]);
    }
    const collect = JSON.parse(readFileSync(join(out, "collect.json"), "utf8"));
    expect(collect).toMatchObject({
      from: "panel",
      file: "generate/judgments.jsonl",
      judgments: judgments.length,
      comparisons: 300,
      ledger_ok: true,
    });
    const truth = JSON.parse(readFileSync(join(out, "generate", "truth.json"), "utf8"));
    expect(truth.generated_by).toBe("engine:model");
    expect(truth.comparisons.length).toBe(300);
    const card = JSON.parse(readFileSync(join(out, "run-card.json"), "utf8"));
    expect(card.data.candidates).toEqual({ generated_by: "engine:model", comparisons: 300 });
    const state = JSON.parse(readFileSync(join(out, "state.json"), "utf8"));
    const kinds = state.stages.generate.result.kinds as Record<string, number>;
    expect(Object.values(kinds).reduce((a, b) => a + b, 0)).toBe(600);
  }, 600_000);

  it("calls an OpenAI-compatible endpoint (keel serve-model on loopback) for the candidates", async () => {
    const ckpt = await tinyCheckpoint(dir);
    const engine = new EngineProvider(parseEngineConfig({ checkpoint: ckpt }));
    const app = await buildModelApp({ provider: engine, model: "tiny", logLevel: "silent" });
    closers.push(
      () => app.close(),
      () => engine.close(),
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base_url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1`;
    const config = parsePipelineConfig({
      ...tiny,
      world: { ...tiny.world, comparisons: { count: 40 } },
      generate: {
        from: "provider",
        provider: { type: "openai", base_url, model: "tiny", api: "completions" },
        max_new_tokens: 6,
        concurrency: 3,
      },
    });
    const out = join(dir, "provider");
    const run = new RunDir(out, { pipeline: config.seed });
    const stages = pipelineStages(config, run.path).filter((s) =>
      ["world", "generate", "collect"].includes(s.key),
    );
    await new Runner(run, stages).runAll(new AbortController().signal, false);
    const items = lines<Record<string, string>>(join(out, "generate", "candidates.jsonl"));
    expect(items.length).toBe(40);
    const truth = JSON.parse(readFileSync(join(out, "generate", "truth.json"), "utf8"));
    expect(truth.generated_by).toMatch(/^openai:/);
    const collect = JSON.parse(readFileSync(join(out, "collect.json"), "utf8"));
    expect(collect.comparisons).toBe(40);

    // An inline key is refused (the run directory records its config); a bad field is named.
    expect(() =>
      parsePipelineConfig({
        ...tiny,
        generate: { from: "provider", provider: { type: "openai", api_key: "sk-x" } },
      }),
    ).toThrow(/api_key_env/);
    // So is a key in a header (Azure's api-key among them): api_key_env and api_key_header.
    for (const header of ["Authorization", "api-key", "X-API-Key"])
      expect(() =>
        parsePipelineConfig({
          ...tiny,
          generate: {
            from: "provider",
            provider: { type: "openai", headers: { [header]: "sk-x" } },
          },
        }),
      ).toThrow(/generate\.provider\.headers.*api_key_header/);
    expect(() =>
      pipelineStages(
        parsePipelineConfig({
          ...tiny,
          generate: {
            from: "provider",
            provider: { type: "openai", base_url, model: "m", tempurature: 1 },
          },
        }),
        join(dir, "x"),
      ),
    ).toThrow(/generate\.provider/);
    expect(() =>
      parsePipelineConfig({ ...tiny, generate: { from: "policy", temperature: 0 } }),
    ).toThrow(/temperature/);
    expect(() => parsePipelineConfig({ ...tiny, generate: { from: "provider" } })).toThrow(
      /generate\.provider/,
    );
  }, 600_000);
});

describe("storable model output", () => {
  it("strips NUL characters and cuts texts over the judgment limit, saying so", async () => {
    const { storableText } = await import("../../src/providers/pairs.js");
    expect(storableText("fine")).toEqual({ text: "fine", changed: false });
    expect(storableText("a\u0000b\u0000")).toEqual({ text: "ab", changed: true });
    const long = storableText("x".repeat(1_000_005));
    expect(long.changed).toBe(true);
    expect(long.text.length).toBe(1_000_000);
    expect(storableText("cut \ud83d")).toEqual({ text: "cut \ufffd", changed: true });
    expect(storableText("ok \ud83d\ude00")).toEqual({ text: "ok \ud83d\ude00", changed: false });
    // A cut at the limit that splits a surrogate pair leaves no half behind.
    const split = storableText(`${"x".repeat(999_999)}\ud83d\ude00`);
    expect(split.text.endsWith("\ufffd")).toBe(true);
    expect(split.text.length).toBe(1_000_000);
  });
});

describe("candidate pairs", () => {
  it("stop at a raised signal with an interruption, and refuse greedy decoding", async () => {
    const { generatePairs } = await import("../../src/providers/pairs.js");
    const { Rng } = await import("../../src/core/rng.js");
    const engine = new EngineProvider(
      parseEngineConfig({ checkpoint: await tinyCheckpoint(tempDir()) }),
    );
    try {
      const slots = [{ comparison_id: "g1", prompt: "hello" }];
      const base = { maxTokens: 4, batch: 8, concurrency: 1, rng: new Rng(1) };
      const drain = async (o: Parameters<typeof generatePairs>[2]) => {
        const out = [];
        for await (const p of generatePairs(engine, slots, o)) out.push(p);
        return out;
      };
      expect((await drain({ ...base, temperature: 1 }))[0]).toMatchObject({ comparison_id: "g1" });
      const ac = new AbortController();
      ac.abort();
      await expect(drain({ ...base, temperature: 1, signal: ac.signal })).rejects.toMatchObject({
        code: "KEEL_E_INTERRUPTED",
      });
      await expect(drain({ ...base, temperature: 0 })).rejects.toMatchObject({
        code: "KEEL_E_CONFIG",
      });
    } finally {
      await engine.close();
    }
  });
});
