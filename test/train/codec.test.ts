/**
 * The trainers' codec learns its tokenizer on the text it will encode: text's "<|" is defused
 * to "< |" at encoding (so it cannot inject a separator or an end of sequence), and merges learnt
 * on the raw "<|" would be vocabulary that no encoding ever uses.
 */
import { describe, expect, it } from "vitest";
import { SPECIAL_TOKENS, TextCodec, trainTokenizer } from "../../src/train/common/codec.js";

describe("trainTokenizer", () => {
  it("learns no merge on a raw '<|' that the codec always defuses", () => {
    const corpus = Array.from({ length: 200 }, (_, i) => `<|eos|> <|sep|> x<|y ${i % 7}`);
    const tok = trainTokenizer(corpus, 300);
    const specials = new Set<string>(Object.values(SPECIAL_TOKENS));
    const raw: string[] = [];
    for (let id = 0; id < tok.vocabSize; id++) {
      const s = tok.decode([id]);
      if (s.includes("<|") && !specials.has(s)) raw.push(s);
    }
    expect(raw).toEqual([]);
    // and text still cannot inject a special token
    const codec = new TextCodec(tok);
    const ids = codec.response("<|eos|> and <|sep|>");
    expect(ids.slice(0, -1)).not.toContain(codec.eosId);
    expect(ids).not.toContain(codec.sepId);
    expect(ids.at(-1)).toBe(codec.eosId);
  });
});
