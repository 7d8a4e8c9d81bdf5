/**
 * Metamorphic properties of byte-level BPE beyond the plain round trip
 * (tokenizer-roundtrip.test.ts): any JavaScript string, lone surrogates included, has a
 * documented image; encoding is idempotent through decoding; special tokens cut the text into
 * pieces encoded on their own; byte-level ids concatenate as their texts do; nothing is
 * normalised.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const tok = trainBpe(
  [
    "the lowest lower low, the newest newer new!",
    "Café naïve résumé — 東京 🚀 emoji   spaces\ttabs\nnewlines 12345 3.14 e\u0301 a\u0308",
  ].flatMap((s) => [s, s, s]),
  { vocabSize: 330, specialTokens: ["<|eos|>", "<|sep|>"] },
);
const EOS = tok.tokenToId("<|eos|>")!;

/** String.prototype.toWellFormed (ES2024): every lone surrogate replaced by U+FFFD. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

// any UTF-16 code units: lone surrogates, combining marks, emoji halves, controls
const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc
    .array(
      fc.constantFrom("\ud83d", "\ude80", "🚀", "e", "\u0301", " ", "<|", "eos|>", "<|eos|>"),
      {
        maxLength: 12,
      },
    )
    .map((p) => p.join("")),
);

describe("byte-level BPE: metamorphic properties", () => {
  it("any string decodes to its well-formed self: a lone surrogate becomes U+FFFD, as TextEncoder makes it", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const ids = tok.encode(s);
        expect(tok.decode(ids)).toBe(wellFormed(s));
        expect(tok.encode(wellFormed(s))).toEqual(ids);
      }),
    );
    expect(tok.decode(tok.encode("a\ud800b"))).toBe("a\ufffdb");
    expect(tok.decode(tok.encode("\ude80\ud83d"))).toBe("\ufffd\ufffd");
  });

  it("a lone surrogate is U+FFFD before added tokens are matched, when encoding and when training", () => {
    // an added token holding U+FFFD matched the decoded text but not the text it came from
    const corpus = ["ab\ud800ab ab\ufffdab", "\udc00x\ud83d y \ud83d\ude80"].flatMap((c) => [c, c]);
    const opts = { vocabSize: 275, specialTokens: ["\ufffd", "<\ufffd>"] };
    const odd = trainBpe(corpus, opts);
    expect(odd.toJSON()).toEqual(trainBpe(corpus.map(wellFormed), opts).toJSON());
    fc.assert(
      fc.property(anyString, (s) => {
        const t = `${s}\ud800<\udfff>`;
        const ids = odd.encode(t);
        expect(ids).toEqual(odd.encode(wellFormed(t)));
        expect(odd.encode(odd.decode(ids))).toEqual(ids);
      }),
    );
  });

  it("encode(decode(ids)) = ids for the ids encode produces", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const ids = tok.encode(s);
        expect(tok.encode(tok.decode(ids))).toEqual(ids);
      }),
    );
  });

  it("decoding concatenated encodings gives the concatenated texts (bytes, not characters, are the unit)", () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        expect(tok.decode([...tok.encode(a), ...tok.encode(b)])).toBe(
          wellFormed(a) + wellFormed(b),
        );
      }),
    );
    // a token sequence cut inside a character decodes each half with U+FFFD, the whole exactly
    const grin = tok.encode("😀"); // not in the corpus: its four bytes stay four tokens
    expect(grin).toHaveLength(4);
    // the truncated lead F0 9F is one U+FFFD, each stray continuation byte another (WHATWG)
    expect(tok.decode(grin.slice(0, 2))).toBe("\ufffd");
    expect(tok.decode(grin.slice(2))).toBe("\ufffd\ufffd");
    expect(tok.decode(grin)).toBe("😀");
  });

  it("a special token cuts the text: encode(a + special + b) = encode(a), its id, encode(b)", () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        expect(tok.encode(`${a}<|eos|>${b}`)).toEqual([...tok.encode(a), EOS, ...tok.encode(b)]);
      }),
    );
    // documented: encode maps a special token's text wherever it appears (as `tokenizers` does);
    // near misses stay text
    expect(tok.encode("hi<|eos|>")).toContain(EOS);
    for (const s of ["<|eos|", "<|EOS|>", "< |eos|>", "<|eos |>", "<\u200b|eos|>"])
      expect(tok.encode(s), s).not.toContain(EOS);
  });

  it("normalises nothing: composed and decomposed forms encode differently and each decodes to itself", () => {
    for (const [nfc, nfd] of [
      ["é", "e\u0301"],
      ["ä", "a\u0308"],
      ["Å", "A\u030a"],
    ]) {
      expect(nfc!.normalize("NFD")).toBe(nfd);
      expect(tok.encode(nfc!)).not.toEqual(tok.encode(nfd!));
      expect(tok.decode(tok.encode(nfc!))).toBe(nfc);
      expect(tok.decode(tok.encode(nfd!))).toBe(nfd);
    }
  });
});
