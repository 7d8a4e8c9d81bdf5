/**
 * Added-token flags of a Hugging Face tokenizer.json (`lstrip`, `rstrip`, `single_word`,
 * `normalized`, `special`), read and applied as `tokenizers`' AddedVocabulary does; and the
 * ByteLevel details where JavaScript's defaults differ from the Rust library's. Expected ids
 * are computed by hand over a vocabulary of the 256 bytes only (id = byte value, no merges),
 * so a text's ids are its UTF-8 bytes and an added token's id stands out.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { BpeTokenizer, byteVocab } from "../../src/engine/tokenizer/bpe.js";
import { BYTE_TO_CHAR } from "../../src/engine/tokenizer/bytelevel.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const bytes = (s: string) => [...new TextEncoder().encode(s)];

type Flags = Partial<
  Record<"lstrip" | "rstrip" | "single_word" | "normalized" | "special", boolean>
>;

/** A byte-only tokenizer.json with added tokens at ids 256, 257, … */
function json(...added: [string, Flags?][]): Record<string, unknown> & { added_tokens: object[] } {
  const j = JSON.parse(JSON.stringify(trainBpe([], { vocabSize: 256 }).toJSON()));
  j.added_tokens = added.map(([content, flags], i) => ({
    id: 256 + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
    ...flags,
  }));
  return j;
}
const load = (...added: [string, Flags?][]) => BpeTokenizer.fromJSON(json(...added));

function loadError(j: unknown): KeelError {
  try {
    BpeTokenizer.fromJSON(j, "tok.json");
  } catch (e) {
    if (isKeelError(e)) return e;
    throw e;
  }
  throw new Error("expected a KeelError, nothing was thrown");
}

describe("added tokens' lstrip and rstrip", () => {
  it("take the whitespace beside the token into it (it was encoded as text)", () => {
    // Ignored, "a <m> b" gave 97, 32, 256, 32, 98 where tokenizers gives 97, 256, 98.
    expect(load(["<m>", { lstrip: true, rstrip: true }]).encode("a <m> b")).toEqual([97, 256, 98]);
    expect(load(["<m>", { lstrip: true }]).encode("a  <m>  b")).toEqual([97, 256, 32, 32, 98]);
    expect(load(["<m>", { rstrip: true }]).encode("a  <m>  b")).toEqual([97, 32, 32, 256, 98]);
  });

  it("agree with @huggingface/tokenizers on plain spaces", () => {
    for (const flags of [{ lstrip: true }, { rstrip: true }, { lstrip: true, rstrip: true }]) {
      const j = json(["<m>", flags], ["<n>"]);
      const hf = new Tokenizer(j, {});
      for (const s of ["a <m> b", " <m> ", "x  <m><n>  y", "<n> <m> <n>", "a<m>b"])
        expect(BpeTokenizer.fromJSON(j).encode(s)).toEqual(
          hf.encode(s, { add_special_tokens: false }).ids,
        );
    }
  });

  it("strip Unicode White_Space, the Rust regex's \\s (NEL yes, U+FEFF no)", () => {
    const t = load(["<m>", { lstrip: true, rstrip: true }]);
    expect(t.encode("a\t\u2000<m>\u3000\nb")).toEqual([97, 256, 98]);
    expect(t.encode("a\u0085<m>")).toEqual([97, 256]);
    expect(t.encode("a\ufeff<m>")).toEqual([97, ...bytes("\ufeff"), 256]);
  });

  it("leave whitespace an earlier token took to it", () => {
    const t = load(["<m>", { rstrip: true }], ["<n>", { lstrip: true }]);
    expect(t.encode("<m>  <n> x")).toEqual([256, 257, 32, 120]);
    expect(load(["<m>"], ["<n>", { lstrip: true }]).encode("x<m> <n>")).toEqual([120, 256, 257]);
  });
});

describe("added tokens of whitespace with lstrip or rstrip", () => {
  it("yield one id a match, as tokenizers does, in linear time", () => {
    // Each match walked the whole run around it: 40,000 spaces took 37 s; 200,000 here.
    for (const flags of [{ lstrip: true }, { rstrip: true }, { lstrip: true, rstrip: true }]) {
      const t = load([" ", flags]);
      expect(t.encode("   x")).toEqual([256, 256, 256, 120]);
      const ids = t.encode(`${" ".repeat(200_000)}x`);
      expect(ids.length).toBe(200_001);
    }
  });
});

describe("added tokens' single_word", () => {
  const t = load(["<m>", { single_word: true }]);

  it("matches only where no word character touches the token", () => {
    // Ignored, every "<m>" became 256.
    expect(t.encode("<m> a<m> <m>b <m>")).toEqual([256, ...bytes(" a<m> <m>b "), 256]);
    // Punctuation and spaces are not word characters.
    expect(t.encode("<m>, <m>-")).toEqual([256, 44, 32, 256, 45]);
  });

  it("counts marks, digits, connector punctuation and astral letters as word characters", () => {
    for (const w of ["\u0301", "7", "_", "𝐀", "é", "東"]) {
      expect(t.encode(`${w}<m>`)).toEqual(bytes(`${w}<m>`));
      expect(t.encode(`<m>${w}`)).toEqual(bytes(`<m>${w}`));
    }
    expect(t.encode("🚀<m>")).toEqual([...bytes("🚀"), 256]);
  });

  it("does not reopen a shorter token inside a match it drops (the search moves on)", () => {
    const two = load(["<m>", { single_word: true }], ["m>"]);
    expect(two.encode("a<m>")).toEqual(bytes("a<m>"));
    expect(two.encode("am>")).toEqual([97, 257]);
  });
});

describe("added tokens' normalized", () => {
  it("matches normalized tokens in a second pass over the text the others left", () => {
    // One pass took the longest token: "<m>x" was 257 here, 256, 120 in tokenizers.
    expect(load(["<m>"], ["<m>x", { normalized: true }]).encode("<m>x")).toEqual([256, 120]);
    expect(load(["<m>", { normalized: true }], ["<m>x"]).encode("<m>x")).toEqual([257]);
  });

  it("sees only the piece it is given, so the text before it is no word character", () => {
    const t = load(["<m>", { normalized: true, single_word: true }], ["ab"]);
    expect(t.encode("ab<m>")).toEqual([257, 256]);
    expect(t.encode("c<m>")).toEqual(bytes("c<m>"));
  });
});

describe("added tokens' special flag and the decoder", () => {
  it("skipSpecial drops special tokens only", () => {
    // Every added token was dropped, so a `special: false` token's text vanished.
    const t = load(["<m>", { special: false }], ["<n>"]);
    expect(t.decode([97, 256, 257, 98], { skipSpecial: true })).toBe("a<m>b");
    expect(t.decode([97, 256, 257, 98])).toBe("a<m><n>b");
  });

  it("decodes tokens of byte characters through the byte map, others as their text", () => {
    // The ByteLevel decoder maps "Ċ" to "\n"; it kept "Ċ" for an added token and dropped the
    // space of a vocabulary token "a b".
    const nl = BYTE_TO_CHAR[10]!;
    const t = load([nl], ["<m> x"]);
    expect(t.decode([97, 256, 98])).toBe("a\nb");
    expect(t.decode([257, 98])).toBe("<m> xb");
    const j = json();
    (j.model as { vocab: Record<string, number> }).vocab["a b"] = 256;
    expect(BpeTokenizer.fromJSON(j).decode([256, 99])).toBe("a bc");
  });
});

describe("added tokens' flags in tokenizer.json", () => {
  it("are written back as read", () => {
    const flags = {
      lstrip: true,
      rstrip: false,
      single_word: true,
      normalized: true,
      special: false,
    };
    const written = load(["<m>", flags], ["<n>"]).toJSON().added_tokens as object[];
    expect(written[0]).toEqual({ id: 256, content: "<m>", ...flags });
    expect(written[1]).toMatchObject({ lstrip: false, single_word: false, special: true });
  });

  it("take keel's values when left out (special; normalized follows special)", () => {
    const j = json();
    j.added_tokens = [
      { id: 256, content: "<m>" },
      { id: 257, content: "<n>", special: false },
    ];
    const out = BpeTokenizer.fromJSON(j).toJSON().added_tokens as object[];
    expect(out[0]).toMatchObject({ special: true, normalized: false, lstrip: false });
    expect(out[1]).toMatchObject({ special: false, normalized: true });
  });

  it("refuses a flag that is not a boolean, naming the token and the flag", () => {
    const j = json(["<m>"]);
    (j.added_tokens[0] as Record<string, unknown>).rstrip = "yes";
    const e = loadError(j);
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where).toEqual({ file: "tok.json", field: "added_tokens.0.rstrip" });
    expect(e.detail).toMatch(/rstrip of "<m>" is "yes", not true or false/);
  });

  it("refuses a token holding a lone surrogate (it matched half of an emoji)", () => {
    const e = loadError(json(["\udc80"]));
    expect(e.where?.field).toBe("added_tokens.0.content");
    expect(e.detail).toMatch(/lone UTF-16 surrogate/);
  });
});

describe("ByteLevel pre-tokenizer whitespace", () => {
  it("is Unicode White_Space as in tokenizers' regex (U+0085 is, U+FEFF is not)", () => {
    // JavaScript's \s takes U+FEFF and not U+0085: the pre-tokens, so the merges, differed.
    const c = (b: number) => BYTE_TO_CHAR[b]!;
    const vocab = byteVocab();
    vocab.set(c(0x85) + c(0x21), 256);
    vocab.set(c(0xbf) + c(0x21), 257);
    const t = new BpeTokenizer({
      vocab,
      merges: [
        [c(0x85), c(0x21)],
        [c(0xbf), c(0x21)],
      ],
      special: [],
    });
    // "\u0085" is whitespace, its own pre-token: its last byte does not merge with "!".
    expect(t.encode("\u0085!")).toEqual([0xc2, 0x85, 0x21]);
    // "\ufeff!" is one punctuation pre-token: its last byte merges with "!".
    expect(t.encode("\ufeff!")).toEqual([0xef, 0xbb, 257]);
  });
});
