/**
 * Added tokens as properties, over random texts and flags: keel encodes as
 * @huggingface/tokenizers where that library follows the Rust one (lstrip, rstrip; ASCII
 * whitespace), round-trips texts its flags do not strip, and encodes a written tokenizer.json
 * as the tokenizer that wrote it.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BpeTokenizer } from "../../src/engine/tokenizer/bpe.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const base = JSON.parse(
  JSON.stringify(
    trainBpe(
      ["a ab abab <m> a<m>b", "ba  ba\tab"].flatMap((s) => [s, s]),
      { vocabSize: 264 },
    ).toJSON(),
  ),
);
const CONTENTS = ["<m>", "<n>", "<m>n", "ab"];
const flag = fc.boolean();
const added = fc.tuple(...CONTENTS.map(() => fc.record({ lstrip: flag, rstrip: flag })));
const text = fc
  .array(fc.constantFrom("a", "b", " ", "  ", "\t", "\n", "<m>", "<n>", "<", "m>", "n"), {
    maxLength: 24,
  })
  .map((p) => p.join(""));

function withAdded(flags: readonly { lstrip: boolean; rstrip: boolean }[]) {
  const j = structuredClone(base);
  const n = Object.keys(j.model.vocab).length;
  j.added_tokens = CONTENTS.map((content, i) => ({
    id: n + i,
    content,
    single_word: false,
    normalized: false,
    special: true,
    ...flags[i],
  }));
  return j;
}

describe("added tokens, as properties", () => {
  it("encode as @huggingface/tokenizers with random lstrip and rstrip", () => {
    fc.assert(
      fc.property(added, text, (flags, s) => {
        const j = withAdded(flags);
        const hf = new Tokenizer(j, {}).encode(s, { add_special_tokens: false }).ids;
        expect(BpeTokenizer.fromJSON(j).encode(s)).toEqual(hf);
      }),
    );
  });

  it("round-trip any text when nothing strips, and survive toJSON", () => {
    fc.assert(
      fc.property(added, text, (flags, s) => {
        const j = withAdded(flags);
        const tok = BpeTokenizer.fromJSON(j);
        const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
        expect(again.encode(s)).toEqual(tok.encode(s));
        if (flags.every((f) => !f.lstrip && !f.rstrip)) expect(tok.decode(tok.encode(s))).toBe(s);
      }),
    );
  });
});
