/**
 * Byte-level BPE on text that is not English: a tokenizer trained on Chinese, Japanese, Thai,
 * Hindi, Arabic and emoji must give back every text byte for byte — long runs of CJK (a
 * pre-token longer than MAX_PRETOKEN is merged in pieces, cut between characters),
 * lone combining marks, ZWJ emoji sequences with skin tones, NFC and NFD forms of one text.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import "../helpers/fast-check-seed.js";
import { BpeTokenizer, MAX_PRETOKEN, preTokenPieces } from "../../src/engine/tokenizer/bpe.js";
import { preTokenize } from "../../src/engine/tokenizer/bytelevel.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const CORPUS = [
  "我们的模型在这个任务上表现得非常好，因为它学习了大量的中文数据。",
  "東京は日本の首都です。がぎぐげご、カタカナとひらがな。",
  "ผมรักคุณมากครับและอยากไปเที่ยวทะเล",
  "नमस्ते दुनिया, यह हिंदी है। क्षत्रिय",
  "مَرْحَبًا بِالْعَالَم هذا نص عربي",
  "שָׁלוֹם עוֹלָם",
  "👩🏽‍💻 👨‍👩‍👧‍👦 🇯🇵 👍🏿 ❤️",
  "１２３ ＡＢＣ café résumé",
];
const tok = trainBpe(
  CORPUS.flatMap((s) => [s, s, s, s.normalize("NFD")]),
  { vocabSize: 600, specialTokens: ["<|eos|>"] },
);
const back = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));

const PIECES = [
  ...CORPUS,
  ...CORPUS.map((s) => s.normalize("NFD")),
  "\u0301",
  "\u093f",
  "\u0e31",
  "\u3099",
  "\u200d",
  "\ufe0f",
  "\u{1f3fd}",
  "\u202e",
  "\u200f",
  "这是一个很长的回答。".repeat(40),
  "ก".repeat(3 * MAX_PRETOKEN + 1),
  "👍🏽".repeat(50),
];
const text = fc
  .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: "grapheme", maxLength: 20 })), {
    maxLength: 6,
  })
  .map((p) => p.join(""));

describe("byte-level BPE on scripts other than Latin", () => {
  it("learns whole characters of the corpus as tokens", () => {
    const ids = tok.encode("我们的模型");
    expect(ids.length).toBeLessThanOrEqual(5);
    expect(tok.decode(ids)).toBe("我们的模型");
  });

  it("decodes every text to the same bytes, without U+FFFD, the same from tokenizer.json", () => {
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s);
        const out = tok.decode(ids);
        expect(Buffer.from(out).equals(Buffer.from(s))).toBe(true);
        expect(out.includes("\ufffd")).toBe(s.includes("\ufffd"));
        expect(back.encode(s)).toEqual(ids);
      }),
      { numRuns: 400 },
    );
  });

  it("cuts a long pre-token between characters: every token of a long clause decodes alone", () => {
    // 53 Chinese characters, 159 bytes: one pre-token past MAX_PRETOKEN (128).
    const clause =
      "我们的模型在这个任务上表现得非常好所以结果令人满意我们很高兴看到这样的进步并且希望它继续保持下去直到最后完成全部工作为止";
    expect(Buffer.byteLength(clause)).toBeGreaterThan(MAX_PRETOKEN);
    const t = trainBpe([clause, clause, clause], { vocabSize: 700 });
    for (const id of t.encode(clause)) expect(t.decode([id])).not.toContain("\ufffd");
    // ASCII is cut exactly every MAX_PRETOKEN characters, as before.
    const [ascii] = preTokenize("x".repeat(2 * MAX_PRETOKEN + 5));
    expect(preTokenPieces(ascii!).map((p) => p.length)).toEqual([MAX_PRETOKEN, MAX_PRETOKEN, 5]);
  });

  it("keeps NFC and NFD forms apart: different tokens, each decoded as it was", () => {
    const nfc = "がぎぐ café";
    const nfd = nfc.normalize("NFD");
    expect(tok.encode(nfc)).not.toEqual(tok.encode(nfd));
    expect(tok.decode(tok.encode(nfd))).toBe(nfd);
    expect(tok.decode(tok.encode(nfc))).toBe(nfc);
  });
});
