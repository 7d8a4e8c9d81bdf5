import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { BpeTokenizer, MAX_PRETOKEN } from "../../src/engine/tokenizer/bpe.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const CORPUS = [
  "The quick brown fox jumps over the lazy dog.",
  "the lowest lower low, lowly; the newest newer new!",
  "How do I kill a Python process? Use `kill -9 1234` or pkill python3.",
  "Numbers: 12345 and 3.14159, dates 2024-01-31; emails a.b@example.com",
  "Café naïve résumé — 東京 🚀 emoji   spaces\ttabs\nnewlines",
  "I'm sure you'll see they've done it; we'd say it's theirs.",
];
const PROBES = [
  ...CORPUS,
  "unseen words: floccinaucinihilipilification, zyzzyva",
  "  leading and trailing   ",
  "<|endoftext|>the end<|pad|>",
  "mixed 東京タワー and 🚀🚀 with ümlauts",
  "",
];

describe("byte-level BPE", () => {
  const tok = trainBpe(Array.from({ length: 5 }, () => CORPUS).flat(), {
    vocabSize: 400,
    minFrequency: 2,
    specialTokens: ["<|endoftext|>", "<|pad|>"],
  });

  it("learns merges and round-trips any text exactly", () => {
    expect(tok.merges.length).toBeGreaterThan(20);
    for (const s of PROBES) expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.encode("the lowest").length).toBeLessThan(
      new TextEncoder().encode("the lowest").length,
    );
  });

  it("merges a pair that occurs minFrequency times (default 2), and never a pair that no longer occurs", () => {
    // "ab ab": a·b twice, Ġ·a once
    expect(trainBpe(["ab ab"], { vocabSize: 300 }).merges).toEqual([["a", "b"]]);
    // minFrequency 0: after a·b then ab·c nothing is left to merge (b·c went with the first)
    expect(trainBpe(["abc"], { vocabSize: 300, minFrequency: 0 }).merges).toEqual([
      ["a", "b"],
      ["ab", "c"],
    ]);
  });

  it("is deterministic", () => {
    const again = trainBpe(Array.from({ length: 5 }, () => CORPUS).flat(), {
      vocabSize: 400,
      specialTokens: ["<|endoftext|>", "<|pad|>"],
    });
    expect(again.merges).toEqual(tok.merges);
  });

  it("tokenizer.json loads in @huggingface/tokenizers and encodes identically", () => {
    const json = JSON.parse(JSON.stringify(tok.toJSON()));
    const hf = new Tokenizer(json, {});
    for (const s of PROBES) {
      expect(hf.encode(s, { add_special_tokens: false }).ids).toEqual(tok.encode(s));
      if (s !== "") expect(hf.decode(tok.encode(s))).toBe(tok.decode(tok.encode(s)));
    }
    const back = BpeTokenizer.fromJSON(json);
    for (const s of PROBES) expect(back.encode(s)).toEqual(tok.encode(s));
  });

  it("encodes hostile long runs in linear time, without overflowing the stack, and round-trips them", () => {
    // One pre-token of 60,000 letters took minutes when merged whole (quadratic); 200,000
    // spaces overflowed the call stack (push(...ids)).
    let word = "";
    for (let i = 0; i < 30_000; i++)
      word += "he"[i % 2]! + String.fromCharCode(97 + ((i * 7) % 26));
    for (const s of [word, " ".repeat(200_000), `${"lowest ".repeat(5_000)}${word}`]) {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
    }
    // Longer pre-tokens are merged MAX_PRETOKEN characters at a time.
    const long = "lowestnewestwidest".repeat(10).slice(0, MAX_PRETOKEN + 3);
    expect(tok.encode(long)).toEqual([
      ...tok.encode(long.slice(0, MAX_PRETOKEN)),
      ...tok.encode(long.slice(MAX_PRETOKEN)),
    ]);
  });

  it("maps special tokens to their ids", () => {
    const ids = tok.encode("<|endoftext|>");
    expect(ids).toEqual([tok.tokenToId("<|endoftext|>")]);
    expect(tok.decode(tok.encode("a<|pad|>b"), { skipSpecial: true })).toBe("ab");
  });
});
