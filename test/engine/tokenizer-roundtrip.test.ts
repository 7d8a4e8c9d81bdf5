/**
 * Round trips of byte-level BPE, as properties: any well-formed text decodes to itself, and
 * the written tokenizer.json encodes it as the original does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BpeTokenizer } from "../../src/engine/tokenizer/bpe.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const tok = trainBpe(
  [
    "the lowest lower low, the newest newer new!",
    "Café naïve résumé — 東京 🚀 emoji   spaces\ttabs\nnewlines 12345 3.14",
  ].flatMap((s) => [s, s, s]),
  { vocabSize: 330, specialTokens: ["<|eos|>", "<|pad|>"] },
);
const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));

// Text from pieces that exercise the pre-tokenizer, specials and multi-byte characters.
const piece = fc.oneof(
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("<|eos|>", "<|pad|>", "<|eos", " ", "\n", "'s", "'ll", "\u0000", "\ufeff"),
  fc.string({ unit: fc.constantFrom("a", "b", " ", "é", "🚀"), maxLength: 300 }),
);
const text = fc.array(piece, { maxLength: 8 }).map((p) => p.join(""));

describe("byte-level BPE round trips", () => {
  it("decodes any well-formed text back to itself, the same from the written tokenizer.json", () => {
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s);
        expect(tok.decode(ids)).toBe(s);
        expect(back.encode(s)).toEqual(ids);
      }),
    );
  });

  it("keeps a byte-order mark, at the start and after a special token", () => {
    // TextDecoder drops a leading U+FEFF unless told not to: "\ufeffhi" decoded to "hi".
    for (const s of ["\ufeffhi", "<|eos|>\ufeff", "\ufeff\ufeff"])
      expect(tok.decode(tok.encode(s))).toBe(s);
  });
});
