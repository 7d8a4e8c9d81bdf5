/**
 * Hostile or careless input to `trainBpe` (options it cannot honour are KEEL_E_CONFIG, and
 * what it learns is what the encoder applies) and a vocabulary `fromJSON` must refuse.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { BpeTokenizer, MAX_PRETOKEN } from "../../src/engine/tokenizer/bpe.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isKeelError(e) && e.code === "KEEL_E_CONFIG") return e.detail ?? e.message;
    throw e;
  }
  throw new Error("expected KEEL_E_CONFIG, nothing was thrown");
}

describe("trainBpe on hostile options and input", () => {
  it("refuses a vocabulary size that is not an integer (NaN trained no merges) or too large", () => {
    for (const v of [Number.NaN, 300.5, Number.POSITIVE_INFINITY])
      expect(configError(() => trainBpe(["low low"], { vocabSize: v }))).toMatch(
        /is not an integer/,
      );
    // Pair keys hold two 20-bit ids: larger vocabularies would merge the wrong pairs.
    expect(configError(() => trainBpe(["low low"], { vocabSize: 2 ** 21 }))).toMatch(
      /vocabSize 2097152 is above 1048576/,
    );
  });

  it("refuses a minimum frequency that is not a non-negative integer (NaN trained as 1)", () => {
    for (const f of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY])
      expect(configError(() => trainBpe(["low low"], { vocabSize: 300, minFrequency: f }))).toMatch(
        /minFrequency .* is not a non-negative integer/,
      );
    expect(
      trainBpe(["low low"], { vocabSize: 300, minFrequency: 0 }).merges.length,
    ).toBeGreaterThan(0);
  });

  it("refuses empty and repeated special tokens", () => {
    // An empty one matched between every two characters: encode("hey") gave h, <>, e, <>, y.
    expect(
      configError(() => trainBpe(["hello hello"], { vocabSize: 300, specialTokens: [""] })),
    ).toMatch(/special token "" is empty/);
    expect(
      configError(() =>
        trainBpe(["hello hello"], { vocabSize: 300, specialTokens: ["<s>", "</s>", "<s>"] }),
      ),
    ).toMatch(/special token "<s>" is given twice/);
  });

  it("learns no merge across the MAX_PRETOKEN pieces the encoder merges a long run in", () => {
    // 129 letters: the encoder merges "b a…a c" and "d" separately, so "c d" is useless, and
    // counting whole lines of letters made training take minutes.
    const word = `b${"a".repeat(MAX_PRETOKEN - 2)}cd`;
    const tok = trainBpe([word, word], { vocabSize: 1000 });
    expect(tok.merges.length).toBeGreaterThan(0);
    expect(tok.merges.filter(([a, b]) => (a + b).includes("d"))).toEqual([]);
    expect(tok.decode(tok.encode(word))).toBe(word);
    expect(tok.encode(word).at(-1)).toBe(tok.tokenToId("d"));
  });
});

describe("BpeTokenizer.fromJSON", () => {
  it("refuses a vocabulary without all 256 byte characters at load, naming the byte", () => {
    // It loaded, then failed every text holding the byte with a hint blaming the merges.
    const json = JSON.parse(JSON.stringify(trainBpe(["low low"], { vocabSize: 260 }).toJSON()));
    const vocab = json.model.vocab as Record<string, number>;
    const last = Object.keys(vocab).find((k) => vocab[k] === Object.keys(vocab).length - 1)!;
    vocab[last] = vocab.A!;
    delete vocab.A;
    try {
      BpeTokenizer.fromJSON(json, "tok.json");
      expect.unreachable("loaded a vocabulary without byte 0x41");
    } catch (e) {
      if (!isKeelError(e)) throw e;
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where).toEqual({ file: "tok.json", field: "model.vocab" });
      expect(e.detail).toMatch(/byte 0x41 \("A"\) has no token/);
    }
  });
});

describe("BpeTokenizer.fromJSON on options its encoder does not implement", () => {
  it("refuses them, naming the field, instead of encoding unlike Hugging Face", () => {
    // A lowercasing normalizer or a word suffix loaded and was ignored: other ids, silently.
    const good = () =>
      JSON.parse(JSON.stringify(trainBpe(["The lower lowest"], { vocabSize: 270 }).toJSON()));
    for (const [field, value] of [
      ["normalizer", { type: "Lowercase" }],
      ["pre_tokenizer.add_prefix_space", true],
      ["pre_tokenizer.use_regex", false],
      ["model.continuing_subword_prefix", "##"],
      ["model.end_of_word_suffix", "</w>"],
      ["model.ignore_merges", true],
    ] as const) {
      const j = good();
      const [head, key] = field.split(".") as [string, string?];
      if (key) j[head][key] = value;
      else j[head] = value;
      try {
        BpeTokenizer.fromJSON(j, "tok.json");
        expect.unreachable(`loaded ${field}`);
      } catch (e) {
        if (!isKeelError(e)) throw e;
        expect(e.code).toBe("KEEL_E_UNSUPPORTED");
        expect(e.where).toEqual({ file: "tok.json", field });
      }
    }
    // Off in any of the spellings other tools write: loads.
    const gpt2Like = good();
    Object.assign(gpt2Like.model, { continuing_subword_prefix: "", end_of_word_suffix: "" });
    delete gpt2Like.model.ignore_merges;
    expect(BpeTokenizer.fromJSON(gpt2Like).encode("lower")).toEqual(
      BpeTokenizer.fromJSON(good()).encode("lower"),
    );
  });
});

describe("special tokens that read like vocabulary tokens", () => {
  it("encode to the special token's id, as in @huggingface/tokenizers", () => {
    // "h" is also byte 0x68's token: encode gave 104 where tokenizers gives the special's id.
    const tok = trainBpe(["hello hello"], { vocabSize: 300, specialTokens: ["h"] });
    const special = tok.vocabSize - 1;
    expect(tok.tokenToId("h")).toBe(special);
    const ids = tok.encode("hello h");
    expect([ids[0], ids.at(-1)]).toEqual([special, special]);
    const hf = new Tokenizer(JSON.parse(JSON.stringify(tok.toJSON())), {});
    expect(hf.encode("hello h", { add_special_tokens: false }).ids).toEqual(ids);
    expect(tok.decode(ids)).toBe("hello h");
  });
});

describe("trainBpe on special tokens inside the corpus", () => {
  it("cuts them out before counting, as the encoder does, so no merge is spent on them", () => {
    // Counted as text, "<s><s><s>" taught "> <", which encode never applies ("<s>" is one id).
    const tok = trainBpe(["<s><s><s>", "<s><s><s>"], { vocabSize: 300, specialTokens: ["<s>"] });
    expect(tok.merges).toEqual([]);
    const mixed = trainBpe(["lo<s>lo<s>", "x <s> lo"], { vocabSize: 300, specialTokens: ["<s>"] });
    expect(mixed.merges).toEqual([["l", "o"]]);
    expect(mixed.encode("lo<s>")).toEqual([256, 257]);
  });
});
