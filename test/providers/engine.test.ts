/**
 * The engine provider over a tiny checkpoint: greedy answers, stop strings, length limits,
 * a batch equal to single calls, chat rendering, token-aligned streaming; and the engine
 * reward provider against the reward scorer it wraps.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import {
  EngineProvider,
  EngineRewardProvider,
  parseEngineConfig,
  renderChat,
  type StreamEvent,
} from "../../src/providers/index.js";
import { TextCodec, trainTokenizer } from "../../src/train/common/codec.js";
import { RewardScorer } from "../../src/train/rm/ensemble.js";
import { ResponseRecordSchema } from "../../src/world/records.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { PAIRS, tinyCheckpoint } from "./tiny.js";

let ckpt: string;
let p: EngineProvider;
beforeAll(async () => {
  ckpt = await tinyCheckpoint(tempDir());
  p = new EngineProvider(parseEngineConfig({ checkpoint: ckpt, temperature: 0 }));
});
afterAll(async () => {
  await p?.close();
});

describe("EngineProvider", () => {
  it("answers greedily, cuts at stop strings and at max tokens", async () => {
    for (const [q, a] of PAIRS) {
      const r = await p.generate({ prompt: q });
      expect(r.ok && r.value).toMatchObject({ text: a, finishReason: "stop", model: "tiny" });
    }
    const stopped = await p.generate({ prompt: PAIRS[0]![0], stop: [","] });
    expect(stopped.ok && stopped.value.text).toBe("hi there");
    const short = await p.generate({ prompt: PAIRS[0]![0], maxTokens: 1 });
    expect(short.ok && short.value).toMatchObject({
      finishReason: "length",
      usage: { completionTokens: 1 },
    });
    expect(short.ok && PAIRS[0]![1].startsWith(short.value.text)).toBe(true);
  });

  it("gives the same answers as keel model generate, which prompts a trained model as its trainers did", async () => {
    const r = await runCli([
      ...["model", "generate", "--checkpoint", ckpt, "--temperature", "0", "--json"],
      ...PAIRS.flatMap(([q]) => ["--prompt", q]),
    ]);
    expect(r.code).toBe(0);
    const want = PAIRS.map(([q, a]) => ({ prompt: q, completion: a, finish: "stop" }));
    expect(JSON.parse(r.stdout)).toEqual(want);

    // The same prompts from a file (strings and {"prompt"} rows), one per engine batch.
    const file = `${tempDir()}/prompts.jsonl`;
    writeFileSync(
      file,
      PAIRS.map(([q], i) => JSON.stringify(i % 2 ? q : { prompt: q })).join("\n"),
    );
    const f = await runCli([
      ...["model", "generate", "--checkpoint", ckpt, "--temperature", "0", "--json"],
      ...["--prompts", file, "--batch-size", "1"],
    ]);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout)).toEqual(want);
    const none = await runCli(["model", "generate", "--checkpoint", ckpt]);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain("no prompts");
    // A world's prompts.jsonl, one split of it.
    const world = `${tempDir()}/prompts.jsonl`;
    writeFileSync(
      world,
      PAIRS.map(([q], i) =>
        JSON.stringify({ id: `p${i}`, split: i === 1 ? "eval" : "train", content: q }),
      ).join("\n"),
    );
    const w = await runCli([
      ...["model", "generate", "--checkpoint", ckpt, "--temperature", "0", "--json"],
      ...["--prompts", world, "--split", "eval"],
    ]);
    expect(w.code, w.stderr).toBe(0);
    expect(JSON.parse(w.stdout)).toEqual([want[1]]);
  });

  it("writes --out as JSONL that keel world score reads as it is", async () => {
    const dir = tempDir();
    const out = `${dir}/answers.jsonl`;
    const r = await runCli([
      ...["model", "generate", "--checkpoint", ckpt, "--temperature", "0", "--out", out],
      ...PAIRS.flatMap(([q]) => ["--prompt", q]),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${out} (${PAIRS.length} completions)`);
    const rows = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toEqual(PAIRS.map(([q, a]) => ({ prompt: q, completion: a, finish: "stop" })));
    for (const row of rows) expect(ResponseRecordSchema.safeParse(row).success).toBe(true);
    // Two of the tiny model's prompts are not world prompts (skipped); the third is a harmful
    // world request, and the model's answer to it complies.
    const scored = await runCli(["world", "score", "--in", out, "--skip-unknown", "--json"]);
    expect(scored.code, scored.stderr).toBe(0);
    expect(JSON.parse(scored.stdout)).toMatchObject({
      skipped: PAIRS.length - 1,
      overall: { n: 1, harmful: 1 },
    });
    // A directory that does not exist: a clear error, no file.
    const bad = await runCli([
      ...["model", "generate", "--checkpoint", ckpt, "--temperature", "0"],
      ...["--prompt", PAIRS[0]![0], "--out", `${dir}/missing/answers.jsonl`],
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`${dir}/missing/answers.jsonl`);
  });

  it("runs a batch like single calls, renders chats, and streams token-aligned pieces", async () => {
    const batch = await p.generateBatch(PAIRS.map(([q]) => ({ prompt: q })));
    expect(batch.map((r) => r.ok && r.value.text)).toEqual(PAIRS.map(([, a]) => a));
    expect(renderChat([{ role: "user", content: "hello" }])).toBe("hello");
    expect(
      renderChat([
        { role: "system", content: "be brief" },
        { role: "user", content: "hi" },
      ]),
    ).toBe("System: be brief\n\nUser: hi");
    const chat = await p.generate({ messages: [{ role: "user", content: PAIRS[1]![0] }] });
    expect(chat.ok && chat.value.text).toBe(PAIRS[1]![1]);
    const events: StreamEvent[] = [];
    for await (const e of p.stream({ prompt: PAIRS[2]![0] })) events.push(e);
    const pieces = events.filter((e) => e.type === "delta").map((e) => e.text);
    expect(pieces.join("")).toBe(PAIRS[2]![1]);
    expect(pieces.length).toBeGreaterThan(3);
    expect(events.at(-1)).toMatchObject({ type: "done", finishReason: "stop" });
    const bad = await p.generate({});
    expect(!bad.ok && bad.error.code).toBe("KEEL_E_USAGE");
  });

  it("gives each request of a batch its own max tokens and temperature", async () => {
    // The batch took the first request's options for every row: the second request's greedy
    // answer was cut at one token, and the third one sampled at temperature 1.5.
    const hot = new EngineProvider(parseEngineConfig({ checkpoint: ckpt, temperature: 0 }));
    try {
      const [q0, a0] = PAIRS[0]!;
      const [q1, a1] = PAIRS[1]!;
      const [q2, a2] = PAIRS[2]!;
      const batch = await hot.generateBatch([
        { prompt: q0, maxTokens: 1 },
        { prompt: q1 },
        { prompt: q2, temperature: 0 },
        { prompt: q0, temperature: 1.5, seed: 3 },
      ]);
      expect(batch.map((r) => r.ok && r.value.finishReason)).toEqual([
        "length",
        "stop",
        "stop",
        expect.any(String),
      ]);
      expect(batch[0]!.ok && a0.startsWith(batch[0]!.value.text)).toBe(true);
      expect(batch[1]!.ok && batch[1]!.value.text).toBe(a1);
      expect(batch[2]!.ok && batch[2]!.value.text).toBe(a2);
      const alone = await hot.generate({ prompt: q0, temperature: 1.5, seed: 3 });
      expect(batch[3]!.ok && alone.ok && batch[3]!.value.text).toBe(alone.ok && alone.value.text);
    } finally {
      await hot.close();
    }
  });

  it("samples repeatably for a given seed", async () => {
    const s = new EngineProvider(parseEngineConfig({ checkpoint: ckpt, temperature: 1.5 }));
    try {
      const a = await s.generate({ prompt: "hello", seed: 11 });
      const b = await s.generate({ prompt: "hello", seed: 11 });
      expect(a.ok && b.ok && a.value.text === b.value.text).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe("EngineProvider on a model with more ids than its tokenizer", () => {
  const dir = tempDir();
  it("samples only ids its tokenizer can decode", async () => {
    // model init allows a vocabulary larger than the tokenizer's; untrained, such a model gives
    // the extra ids about a third of the probability.
    const corpus = PAIRS.flat();
    const codec = new TextCodec(trainTokenizer(corpus, 280));
    const model = new Gpt(
      { vocab: codec.vocabSize + 128, dModel: 16, layers: 1, heads: 2, context: 48 },
      { seed: 3, threads: 1 },
    );
    saveCheckpoint(join(dir, "wide"), model, { tokenizer: codec.tokenizer });
    await model.dispose();
    const wide = new EngineProvider(
      parseEngineConfig({ checkpoint: join(dir, "wide"), temperature: 1 }),
    );
    try {
      for (let seed = 0; seed < 4; seed++) {
        const r = await wide.generate({ prompt: "hello", maxTokens: 30, seed });
        expect(r.ok, r.ok ? "" : r.error.message).toBe(true);
      }
    } finally {
      await wide.close();
    }
  });
});

describe("EngineRewardProvider", () => {
  it("scores like the reward scorer it wraps", async () => {
    const r = new EngineRewardProvider({ dir: ckpt });
    const scorer = RewardScorer.load(ckpt);
    try {
      const items = PAIRS.map(([prompt, response]) => ({ prompt, response }));
      const got = await r.score(items);
      const want = await scorer.score(
        items.map((i) => i.prompt),
        items.map((i) => i.response),
      );
      expect(got.ok).toBe(true);
      if (got.ok)
        got.value.rewards.forEach((x, i) => {
          expect(x).toBeCloseTo(want.score[i]!, 6);
        });
      expect(r.kind).toBe("reward");
      expect(await r.score([])).toEqual({ ok: true, value: { rewards: [] } });
    } finally {
      await r.close();
      await scorer.dispose();
    }
  });
});
