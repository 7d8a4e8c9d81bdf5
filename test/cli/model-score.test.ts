import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { distinctResponses } from "../../src/cli/actions/model-score.js";
import { saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { TextCodec, trainTokenizer } from "../../src/train/common/codec.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel model score: each distinct response is scored once", () => {
  it("maps every input to the first occurrence of its (prompt, response)", () => {
    // Three raters' judgments of one comparison (chosen, rejected each), and the same response
    // text under another prompt, which is a different input to a reward model.
    const prompts = ["p", "p", "p", "p", "p", "p", "q", "q"];
    const texts = ["a", "b", "b", "a", "a", "b", "a", "c"];
    const { unique, slot } = distinctResponses(prompts, texts);
    expect(unique).toEqual([0, 1, 6, 7]);
    expect([...slot]).toEqual([0, 1, 1, 0, 0, 1, 2, 3]);
    for (let i = 0; i < texts.length; i++) {
      expect(prompts[unique[slot[i]!]!]).toBe(prompts[i]);
      expect(texts[unique[slot[i]!]!]).toBe(texts[i]);
    }
  });
});

describe("keel model score: what it reads stays, what it prints is escaped", () => {
  it("refuses an --out that is the scored file or a model file, and escapes rater ids", async () => {
    const dir = tempDir();
    const codec = new TextCodec(trainTokenizer(["two plus two is four", "one"], 270));
    const m = new Gpt(
      { vocab: codec.vocabSize, dModel: 8, layers: 1, heads: 2, context: 16 },
      { seed: 1 },
    );
    const model = join(dir, "rm");
    saveCheckpoint(model, m, { tokenizer: codec.tokenizer });
    await m.dispose();
    const rows = ["\u001b[31mEVIL\u001b[0m", "bob"].flatMap((rater, r) =>
      [1, 2, 3, 4, 5].map((i) =>
        JSON.stringify({
          comparison_id: `c${r}${i}`,
          prompt: "two",
          response_a: "four",
          response_b: "one",
          choice: r === 0 ? "a" : "b",
          rater_id: rater,
        }),
      ),
    );
    const file = join(dir, "j.jsonl");
    const text = `${rows.join("\n")}\n`;
    writeFileSync(file, text);
    // the scores replaced the judgments they were computed from
    const over = await runCli(["model", "score", "-m", model, "-i", file, "-o", file]);
    expect(over.code).toBe(64);
    expect(over.stderr).toMatch(/the file being read/);
    expect(readFileSync(file, "utf8")).toBe(text);
    const intoModel = join(model, "model.safetensors");
    const bad = await runCli(["model", "score", "-m", model, "-i", file, "-o", intoModel]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/a file of the model being read/);
    const r = await runCli(["model", "score", "-m", model, "-i", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("\\u001b[31mEVIL\\u001b[0m");
    expect(r.stdout).not.toContain("\u001b");
  }, 60_000);
});

describe("keel model score reads what keel's other commands write", () => {
  it("scores keel model generate --out's completions, and names the fields a row lacks", async () => {
    const dir = tempDir();
    const codec = new TextCodec(trainTokenizer(["two plus two is four", "one"], 270));
    const m = new Gpt(
      { vocab: codec.vocabSize, dModel: 8, layers: 1, heads: 2, context: 16 },
      { seed: 1 },
    );
    const model = join(dir, "m");
    saveCheckpoint(model, m, { tokenizer: codec.tokenizer });
    await m.dispose();
    const answers = join(dir, "answers.jsonl");
    const gen = await runCli([
      "model",
      "generate",
      "-c",
      model,
      "-p",
      "two",
      "-p",
      "one",
      "--max-new-tokens",
      "3",
      "--out",
      answers,
      "-q",
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    const scores = join(dir, "scores.jsonl");
    const r = await runCli(["model", "score", "-m", model, "-i", answers, "-o", scores, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(scores, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.line)).toEqual([1, 2]);
    // the same texts as {prompt, response} rows score the same
    const asResponses = join(dir, "responses.jsonl");
    writeFileSync(
      asResponses,
      readFileSync(answers, "utf8")
        .trim()
        .split("\n")
        .map((l) => {
          const { prompt, completion } = JSON.parse(l);
          return `${JSON.stringify({ prompt, response: completion })}\n`;
        })
        .join(""),
    );
    const same = await runCli(["model", "score", "-m", model, "-i", asResponses, "--json"]);
    expect(JSON.parse(same.stdout).rows.map((x: { score: number }) => x.score)).toEqual(
      rows.map((x) => x.score),
    );
    // a later row with neither field: its line and what it needs
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"prompt":"a","completion":"b"}\n{"prompt":"a","text":"b"}\n');
    const e = await runCli(["model", "score", "-m", model, "-i", bad]);
    expect(e.code).toBe(65);
    expect(e.stderr).toMatch(
      /bad\.jsonl:2: response: needs exactly one of response and completion/,
    );
    // keel generate's candidate pairs have no choice yet: the hint says so
    const cand = join(dir, "cand.jsonl");
    writeFileSync(
      cand,
      '{"comparison_id":"g1","prompt":"two","response_a":"four","response_b":"one"}\n',
    );
    const c = await runCli(["model", "score", "-m", model, "-i", cand]);
    expect(c.code).toBe(65);
    expect(c.stderr).toMatch(/choice: is required/);
    expect(c.stderr).toMatch(/candidate pairs \(keel generate --out\)/);
  }, 60_000);
});
