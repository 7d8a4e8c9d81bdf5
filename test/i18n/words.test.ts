/**
 * Word counts of text that is not English (src/core/words.ts). Whitespace-separated text must
 * count exactly as `split(/\s+/)` does — the synthetic world is English, and the demo's results
 * must not move — while Chinese, Japanese, Thai and their neighbours, written without spaces,
 * count by characters (Han, kana) or by dictionary segments (Thai, Lao, Khmer, Myanmar).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import "../helpers/fast-check-seed.js";
import { countWords } from "../../src/core/words.js";
import { audit } from "../../src/defend/audit.js";
import { countWords as auditWords } from "../../src/defend/text.js";
import { policyBias } from "../../src/redteam/bias.js";
import {
  parseWorldConfig,
  score,
  simulatePanel,
  countWords as worldWords,
} from "../../src/world/index.js";
import { honestRaters, makeItems, simulate } from "../defend/fixtures.js";

const bySplit = (t: string) => t.split(/\s+/).filter(Boolean).length;

const SPACELESS =
  /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}]/u;

/** Characters of scripts written with spaces, and the symbols and marks found among them. */
const SPACED_CHARS = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ...".,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|",
  ..."àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœŒĀāĞğİıŁłŠšŽž",
  "\u0301",
  "\u0308",
  "\u0327",
  ..."—–…‘’“”«»€£¥§°±×÷",
  ..."абвгдежзийклмнопрстуфхцчшщыэюяΑΒΓΔαβγδεζηθ",
  ..."مرحبابالعالم،؟שלוםעולם",
  ..."नमस्तेदुनियाहिंदी",
  "\u093f",
  "\u094d",
  ..."한국어입니다",
  ..."１２３ＡＢＣ",
  "👍",
  "👍🏽",
  "👩‍💻",
  "👨‍👩‍👧‍👦",
  "🇯🇵",
  "\u200d",
  "\ufe0f",
  "\u202e",
  "\u200f",
];
const SPACES = [
  ..." \t\n\r\v\f",
  "\u00a0",
  "\u1680",
  "\u2003",
  "\u2028",
  "\u202f",
  "\u3000",
  "\ufeff",
];

const spacedText = fc
  .array(fc.oneof(fc.constantFrom(...SPACED_CHARS), fc.constantFrom(...SPACES)), {
    maxLength: 80,
  })
  .map((parts) => parts.join(""));

describe("whitespace-separated text counts exactly as before", () => {
  it("equals split(/\\s+/) on random Latin, Cyrillic, Arabic, Devanagari, Hangul and emoji text", () => {
    fc.assert(
      fc.property(spacedText, (t) => {
        expect(countWords(t)).toBe(bySplit(t));
      }),
      { numRuns: 3000 },
    );
  });

  it("equals split(/\\s+/) on random ASCII text, and never counts less on any text", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 120 }),
        fc.string({ unit: "grapheme", maxLength: 60 }),
        (a, u) => {
          expect(countWords(a)).toBe(bySplit(a));
          expect(countWords(u)).toBeGreaterThanOrEqual(bySplit(u));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("gives every code point outside the seven scripts the old count, between words and alone", () => {
    const differ: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 7) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (SPACELESS.test(ch)) continue;
      for (const t of [`a${ch}b`, `x ${ch}`, `${ch}`]) {
        if (countWords(t) !== bySplit(t)) differ.push(cp.toString(16));
      }
    }
    expect(differ).toEqual([]);
  });

  it("counts every text of the synthetic world as split(/\\s+/): the demo does not move", () => {
    const { judgments } = simulatePanel(parseWorldConfig({ comparisons: { count: 3000 } }), 7);
    const texts = new Set<string>();
    for (const j of judgments)
      for (const t of [j.prompt, j.response_a, j.response_b]) {
        if (typeof t !== "string") throw new Error(`${j.comparison_id}: world texts are strings`);
        texts.add(t);
      }
    expect(texts.size).toBeGreaterThan(1000);
    const differ = [...texts].filter((t) => SPACELESS.test(t) || worldWords(t) !== bySplit(t));
    expect(differ).toEqual([]);
  });
});

describe("text written without spaces", () => {
  it("counts each Han and kana character as a word, not the whole run as one", () => {
    const answer = "这是一个很长的回答。".repeat(30); // 300 characters, 270 of them Han
    expect(bySplit(answer)).toBe(1);
    expect(countWords(answer)).toBe(270);
    expect(countWords("你好，世界。")).toBe(4);
    expect(countWords("ラーメンを食べた")).toBe(8);
    // Latin and digits between ideographs: one word per stretch, full-width digits too.
    expect(countWords("GPT-4模型很好")).toBe(5);
    expect(countWords("共有３００个")).toBe(4);
    expect(countWords("（好）")).toBe(1);
    // Same words through the world's and the audit's re-exports.
    expect(worldWords(answer)).toBe(270);
    expect(auditWords(answer)).toBe(270);
  });

  it("counts NFC and NFD forms of a text alike (marks belong to their base character)", () => {
    for (const t of ["がぎぐげご、パピプ", "café 咖啡", "Ελληνικά 日本", "สวัสดีครับ"]) {
      expect(countWords(t.normalize("NFD"))).toBe(countWords(t.normalize("NFC")));
    }
    expect(countWords("がぎぐげご".normalize("NFD"))).toBe(5);
  });

  it("counts Thai, Lao, Khmer and Myanmar by word segments", () => {
    expect(countWords("ผมรักคุณมากครับและอยากไปเที่ยวทะเล")).toBe(10);
    expect(countWords("สวัสดีครับ ผมชื่อสมชาย")).toBe(5);
    expect(countWords("ຂ້ອຍຮັກເຈົ້າຫຼາຍ")).toBeGreaterThan(1);
    expect(countWords("ខ្ញុំចង់រៀនភាសាខ្មែរនៅសាលារៀន")).toBeGreaterThan(1);
    expect(countWords("ကျွန်တော်မြန်မာစာလေ့လာနေပါတယ်")).toBeGreaterThan(1);
    // A lone mark of those scripts is still a run of one.
    expect(countWords("\u0e31")).toBe(1);
  });

  it("lets the oracle's length penalty and the red-team's mean words see long Chinese answers", () => {
    const long = "这是一个很长的回答。".repeat(30);
    expect(score("What is 7 + 5?", long).words).toBe(270);
    expect(score("What is 7 + 5?", long).verbose).toBe(true);
    expect(policyBias([long, "你好"], []).mean_words).toBe(136);
  });
});

describe("a length poisoner writing Chinese", () => {
  // The fixtures' panel, with each response rewritten in Chinese of the same relative length:
  // the long answer runs to 120 characters, the short one to 8; neither holds a space.
  const items = makeItems({ items: 600, overlap: 3, seed: 5, hardShare: 0.3 }).map((it) => {
    const zh = (s: string) =>
      s.length > 40
        ? `经过仔细思考第${it.id}项，答案是这样的。`.repeat(8).slice(0, 120)
        : `答案是${it.id}。`;
    return { ...it, prompt: `问题${it.id}：这是什么？`, a: zh(it.a), b: zh(it.b) };
  });
  const judgments = simulate(
    items,
    [...honestRaters(14), { id: "poisoner", behaviour: (item) => item.longer }],
    { items: 600, overlap: 3, seed: 5 },
  );

  it("has responses that whitespace splitting counts as one word each", () => {
    for (const j of judgments) {
      expect(bySplit(String(j.response_a))).toBe(1);
      expect(bySplit(String(j.response_b))).toBe(1);
    }
  });

  it("is found by the audit's length detector", () => {
    const result = audit({ judgments });
    const poisoner = result.raters.find((r) => r.rater_id === "poisoner")!;
    const length = poisoner.evidence.length!;
    expect(length.length_disagreements).toBeGreaterThan(30);
    expect(length.length_longer_share).toBe(1);
    expect(length.score).toBeGreaterThan(0.95);
    expect(poisoner.verdict).not.toBe("trusted");
    for (const r of result.raters.filter((x) => x.rater_id.startsWith("h")))
      expect(r.evidence.length?.score ?? 0).toBeLessThan(0.05);
  });
});
