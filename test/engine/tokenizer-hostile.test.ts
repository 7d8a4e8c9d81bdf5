/**
 * Hostile tokenizer.json files: `BpeTokenizer.fromJSON` must refuse what the `tokenizers`
 * library refuses, at load, with the file and the field, before anything is built from it.
 */
import { describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { BpeTokenizer } from "../../src/engine/tokenizer/bpe.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const FILE = "tok.json";
const good = () =>
  JSON.parse(
    JSON.stringify(
      trainBpe(["the lowest lower low the newest"], {
        vocabSize: 270,
        specialTokens: ["<|eos|>"],
      }).toJSON(),
    ),
  );

function fromJSONError(json: unknown): KeelError {
  try {
    BpeTokenizer.fromJSON(json, FILE);
  } catch (e) {
    if (isKeelError(e)) {
      expect(e.where?.file).toBe(FILE);
      return e;
    }
    throw new Error(`expected a KeelError, got ${String(e)}`);
  }
  throw new Error("expected a KeelError, nothing was thrown");
}

describe("BpeTokenizer.fromJSON on hostile files", () => {
  it("reads a good file", () => {
    const t = BpeTokenizer.fromJSON(good(), FILE);
    expect(t.decode(t.encode("the lowest <|eos|>"))).toBe("the lowest <|eos|>");
  });

  it("refuses JSON that is not a tokenizer object", () => {
    for (const j of [null, 3, "x", [], { model: null }])
      expect(fromJSONError(j).code).toBe("KEEL_E_UNKNOWN_FORMAT");
  });

  it("refuses ids that are not distinct integers 0…n−1 (a huge id would size the model)", () => {
    for (const [id, msg] of [
      [1e9, /ids run up to 1000000000 but there are \d+ tokens/],
      [-1, /id -1 is not a non-negative integer/],
      [1.5, /id 1.5 is not a non-negative integer/],
      ["3", /id "3" is not a non-negative integer/],
      [0, /id 0 is also the id of/],
    ] as const) {
      const j = good();
      j.model.vocab.zzz = id;
      const e = fromJSONError(j);
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.detail).toMatch(msg);
    }
    const v = good();
    v.model.vocab = [1, 2];
    expect(fromJSONError(v).where?.field).toBe("model.vocab");
  });

  it("refuses malformed merges at load, not at the first encode", () => {
    for (const [m, msg] of [
      [42, /42 is not a pair of tokens/],
      ["a b c", /"a b c" is not a pair of tokens/],
      ["ab", /"ab" is not a pair of tokens/],
      [["a"], /is not a pair of tokens/],
      ["Q Z", /merge "Q Z" uses "QZ", which is not in the vocabulary/],
      ["☃ x", /uses "☃", which is not in the vocabulary/],
    ] as const) {
      const j = good();
      j.model.merges.push(m);
      const e = fromJSONError(j);
      expect(e.where?.field).toBe(`model.merges.${j.model.merges.length - 1}`);
      expect(e.detail).toMatch(msg);
    }
  });

  it("refuses added tokens that are empty, malformed or steal another token's id", () => {
    for (const [t, msg] of [
      [{ id: 400, content: "" }, /expected \{id/],
      [{ id: 400 }, /expected \{id/],
      [{ id: -2, content: "<x>" }, /expected \{id/],
      [{ id: 3, content: "<x>" }, /id 3 is also the id of/],
      [7, /expected \{id/],
    ] as const) {
      const j = good();
      j.added_tokens.push(t);
      expect(fromJSONError(j).detail).toMatch(msg);
    }
    const j = good();
    j.added_tokens = { id: 1 };
    expect(fromJSONError(j).where?.field).toBe("added_tokens");
  });
});

describe("BpeTokenizer.fromJSON errors quote the file's text, cut short", () => {
  it("names the field, not the token, and keeps huge tokens and entries out of the message", () => {
    // The token was the field ("model.vocab.<100 KB>") and a merge entry was printed whole.
    const long = `\u001b[2J${"x".repeat(100_000)}`;
    const v = good();
    v.model.vocab[long] = -1;
    const e = fromJSONError(v);
    expect(e.where?.field).toBe("model.vocab");
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).not.toContain("\u001b");
    const m = good();
    m.model.merges.push(long);
    expect(fromJSONError(m).message.length).toBeLessThan(200);
    const a = good();
    a.added_tokens.push({ id: 999, content: "<y>", lstrip: long });
    expect(fromJSONError(a).message.length).toBeLessThan(200);
  });
});
