/**
 * `keel model score` never prints held-out metrics over no pair: judgments that are all ties
 * leave nothing to score, and that is refused with the file named (text and --json alike),
 * rather than accuracy, margin, ECE and NLL from pairEvalMetrics over 0 pairs printed as if
 * measured. A file with one untied judgment among ties scores that one pair.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { TextCodec, trainTokenizer } from "../../src/train/common/codec.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("keel model score: judgments with no untied pair", () => {
  it("is refused naming the file, with no metric printed", async () => {
    const dir = tempDir();
    const codec = new TextCodec(trainTokenizer(["two plus two is four", "one"], 270));
    const m = new Gpt(
      { vocab: codec.vocabSize, dModel: 8, layers: 1, heads: 2, context: 16 },
      { seed: 1 },
    );
    const model = join(dir, "rm");
    saveCheckpoint(model, m, { tokenizer: codec.tokenizer });
    await m.dispose();
    const row = (i: number, choice: string) =>
      JSON.stringify({
        comparison_id: `c${i}`,
        prompt: "two",
        response_a: "four",
        response_b: "one",
        choice,
        rater_id: "r1",
      });
    const ties = join(dir, "ties.jsonl");
    writeFileSync(ties, `${[row(1, "tie"), row(2, "tie")].join("\n")}\n`);
    const text = await runCli(["model", "score", "-m", model, "-i", ties]);
    expect(text.code).toBe(65);
    expect(text.stderr).toContain(
      `KEEL_E_INVALID_RECORD: ${ties}: nothing to score: every judgment is a tie`,
    );
    expect(text.stdout).not.toMatch(/accuracy|NaN|null/);
    const json = await runCli(["model", "score", "-m", model, "-i", ties, "--json"]);
    expect(json.code).toBe(65);
    expect(JSON.parse(json.stderr).error.code).toBe("KEEL_E_INVALID_RECORD");
    expect(json.stdout).toBe("");

    const one = join(dir, "one.jsonl");
    writeFileSync(one, `${[row(1, "tie"), row(2, "a")].join("\n")}\n`);
    const r = await runCli(["model", "score", "-m", model, "-i", one, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ scored: 1, ties_skipped: 1 });
    expect(Number.isFinite(s.metrics.accuracy)).toBe(true);
  });
});
