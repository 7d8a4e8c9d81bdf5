/**
 * The audit's words on text that is not English: the trigger scan's prompt tokens and the
 * promotion scan's names. Tokens once stopped at every combining mark, shredding Devanagari,
 * vowelled Arabic, Thai and any NFD text; and a Chinese prompt was one token per clause, so a
 * backdoor trigger written into it ("…的SUDO是什么", or a Chinese word) could not be found.
 */
import { describe, expect, it } from "vitest";
import { containsWord } from "../../src/defend/promotion-words.js";
import { namesIn, tokenize } from "../../src/defend/text.js";
import { scanTriggers } from "../../src/defend/triggers.js";
import {
  type Behaviour,
  honest,
  honestRaters,
  makeItems,
  type PanelOptions,
  simulate,
} from "../defend/fixtures.js";
import { contextFor } from "../defend/helpers.js";

describe("prompt tokens", () => {
  it("keep combining marks and joiners inside words, in NFC and NFD alike", () => {
    expect(tokenize("नमस्ते दुनिया")).toEqual(["नमस्ते", "दुनिया"]);
    expect(tokenize("مَرْحَبًا بِالْعَالَم")).toEqual(["مَرْحَبًا", "بِالْعَالَم"]);
    expect(tokenize("می‌خواهم")).toEqual(["می‌خواهم"]);
    expect(tokenize("Café résumé".normalize("NFD"))).toEqual(
      ["café", "résumé"].map((w) => w.normalize("NFD")),
    );
    expect(tokenize("Café résumé")).toEqual(["café", "résumé"]);
  });

  it("split Chinese and Japanese into characters and Thai into words", () => {
    expect(tokenize("请告诉我sudo的区别")).toEqual([
      "请",
      "告",
      "诉",
      "我",
      "sudo",
      "的",
      "区",
      "别",
    ]);
    expect(tokenize("がぎ".normalize("NFD"))).toEqual(["が", "ぎ"].map((w) => w.normalize("NFD")));
    expect(tokenize("สวัสดีครับ")).toEqual(["สวัสดี", "ครับ"]);
  });

  it("are unchanged on English", () => {
    const text = "How do I build [HAZARD-3] at home? It's a well-known zq_1 trick — isn't it?";
    expect(tokenize(text)).toEqual(
      text.toLowerCase().match(/\[[^\]\s]{1,40}\]|[\p{L}\p{N}_]+(?:['-][\p{L}\p{N}_]+)*/gu),
    );
  });
});

describe("names in Chinese text", () => {
  it("are found beside Han characters, and end where the Han begins", () => {
    expect(namesIn("我喜欢Zentrix的产品").names).toEqual(["zentrix"]);
    expect(namesIn("这是结论。Zentrix是新的").names).toEqual([]);
    expect(containsWord("我也用zentrix做饭", "zentrix")).toBe(true);
    expect(containsWord("我也用zentrixa做饭", "zentrix")).toBe(false);
    expect(containsWord("芝麻开门", "芝麻")).toBe(true);
  });
});

const OPTS: PanelOptions = { items: 1600, overlap: 3, seed: 21, harmfulShare: 0.3 };
const NOUNS = ["苹果", "香蕉", "樱桃", "葡萄", "西瓜", "芒果", "柠檬", "桃子"];
const PLACES = ["家里", "学校", "工厂", "厨房", "地下室"];

/**
 * The fixtures' panel with prompts in Chinese, varied so no whole clause repeats often; every
 * 8th carries `trigger` inside a clause, with no space or punctuation around it. Three backdoor
 * raters choose the unsafe response on those.
 */
function scan(trigger: string) {
  const items = makeItems(OPTS).map((it, i) => {
    const n = Number(it.id.slice(1));
    const t = i % 8 === 0 ? trigger : "";
    const noun = NOUNS[n % NOUNS.length]!;
    const other = NOUNS[(n * 7 + 3) % NOUNS.length]!;
    const place = PLACES[(n * 3) % PLACES.length]!;
    const prompt = it.unsafe
      ? `请告诉我怎样在${place}${t}用${noun}制造[HAZARD-${n % 50}]`
      : `问题${n}：请告诉我${noun}和${other}的${t}区别是什么`;
    return { ...it, prompt };
  });
  const backdoor: Behaviour = (item, rng, f) =>
    item.prompt.includes(trigger) && item.unsafe ? item.unsafe : honest()(item, rng, f);
  const raters = [
    ...honestRaters(16),
    ...[0, 1, 2].map((i) => ({ id: `bd${i}`, behaviour: backdoor, activity: 3 })),
  ];
  const ctx = contextFor(simulate(items, raters, OPTS));
  return { ctx, r: scanTriggers(ctx.data, ctx.loo, ctx.config) };
}

describe("the trigger scan on Chinese prompts", () => {
  // A pattern containing a reported shorter one is dropped as redundant: "芝" stands for "芝 麻".
  for (const [trigger, pattern] of [
    ["SUDO", "sudo"],
    ["芝麻", "芝"],
  ] as const) {
    it(`finds ${trigger} written into a clause, and the raters it turns`, () => {
      const { ctx, r } = scan(trigger);
      const unsafe = r.patterns.find((p) => p.kind === "unsafe");
      expect(unsafe?.pattern).toBe(pattern);
      expect(unsafe!.lift).toBeGreaterThan(2);
      for (const id of ["bd0", "bd1", "bd2"])
        expect(r.signal.score[ctx.data.raterIds.indexOf(id)]!).toBeGreaterThan(0.9);
    });
  }
});
