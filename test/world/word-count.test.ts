/**
 * One definition of a word across keel: a maximal run of characters that are not whitespace as
 * JavaScript's `\s` reads it, i.e. `text.split(/\s+/).filter(Boolean).length`, which is how the
 * red-team's policy bias counts a response's words. The oracle once split on space, tab, line
 * feed and carriage return only, so a response written with no-break spaces was one long word to
 * it and several to the bias report (and paid no length penalty). Runs holding Han, kana, Thai,
 * Lao, Khmer or Myanmar count more than one word (see test/i18n/words.test.ts).
 */
import { describe, expect, it } from "vitest";
import { countWords as auditWords } from "../../src/defend/text.js";
import { countWords, lengthPenalty, score } from "../../src/world/index.js";

const bySplit = (t: string) => t.split(/\s+/).filter(Boolean).length;

describe("counting words", () => {
  it("treats every code unit as whitespace exactly when /\\s/ does, in the oracle and the audit", () => {
    const disagree: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      // Hyphens, not letters, either side: beside a Han or Thai character a letter is a word of
      // its own (src/core/words.ts), and this test is about which code units are whitespace.
      const text = `-${String.fromCharCode(c)}-`;
      const want = bySplit(text);
      if (countWords(text) !== want || auditWords(text) !== want)
        disagree.push(c.toString(16).padStart(4, "0"));
    }
    expect(disagree).toEqual([]);
  });

  it("counts a response written with no-break and other Unicode spaces as the split does", () => {
    // Forty words joined by no-break spaces, an em space and a vertical tab.
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const text = `The answer is 12.\u00a0${words.join("\u00a0")}\u2003end\u000bnow`;
    expect(bySplit(text)).toBe(46);
    expect(countWords(text)).toBe(46);
    expect(auditWords(text)).toBe(46);
    const s = score("What is 7 + 5?", text);
    expect(s.words).toBe(46);
    expect(s.verbose).toBe(true);
    expect(s.quality).toBeCloseTo(1 - lengthPenalty(46), 9);
  });

  it("still reads ordinary text as before", () => {
    for (const t of ["", "  ", "one", " two  words ", "a\tb\nc\r\nd", "The answer is 12."])
      expect(countWords(t)).toBe(bySplit(t));
  });
});
