import { describe, expect, it } from "vitest";
import { clip, formatTable } from "../../src/cli/output.js";
import { displayWidth } from "../../src/cli/width.js";

describe("table columns in terminal widths", () => {
  it("counts wide characters as two columns and combining marks as none", () => {
    expect(displayWidth("rater-1")).toBe(7);
    expect(displayWidth("日本語")).toBe(6);
    expect(displayWidth("한국")).toBe(4);
    expect(displayWidth("cafe\u0301")).toBe(4);
    expect(displayWidth("ok👍")).toBe(4);
    expect(displayWidth("a\u200db")).toBe(2);
    expect(displayWidth("ｆｕｌｌ")).toBe(8);
  });

  it("counts an emoji sequence a terminal draws as one picture as two columns", () => {
    expect(displayWidth("👨\u200d👩\u200d👧")).toBe(2); // a ZWJ family
    expect(displayWidth("👍\u{1f3fd}")).toBe(2); // a skin tone
    expect(displayWidth("🇯🇵")).toBe(2); // a flag: two regional indicators
    expect(displayWidth("\u2764\ufe0f")).toBe(2); // emoji presentation
    expect(displayWidth("\u2764")).toBe(1); // text presentation, as before
    expect(displayWidth("a\u200db")).toBe(2); // a ZWJ between letters joins nothing
    expect(displayWidth("x👨\u200d👩\u200d👧y日")).toBe(6);
    // Clipping never cuts a sequence in two.
    expect(clip("👨\u200d👩\u200d👧👨\u200d👩\u200d👧👨\u200d👩\u200d👧", 5)).toBe(
      "👨\u200d👩\u200d👧👨\u200d👩\u200d👧…",
    );
  });

  it("lines up a table whose cells hold CJK text, emoji and combining marks", () => {
    const t = formatTable(
      ["prompt", "judgments"],
      [
        ["日本の首都は？", 12],
        ["cafe\u0301 au lait", 3],
        ["thumbs 👍", 100],
      ],
    );
    const lines = t.split("\n");
    // Every line ends its number in the same column.
    const ends = lines.filter((l) => /\d$/.test(l)).map(displayWidth);
    expect(new Set(ends).size).toBe(1);
    expect(displayWidth(lines[1]!)).toBe(ends[0]);
  });

  it("clips by columns, never in the middle of a wide character", () => {
    expect(clip("日本語のテキスト", 7)).toBe("日本語…");
    expect(displayWidth(clip("日本語のテキスト", 7))).toBeLessThanOrEqual(7);
    expect(clip("short", 7)).toBe("short");
    expect(clip("abcdefghij", 7)).toBe("abcdef…");
  });
});
