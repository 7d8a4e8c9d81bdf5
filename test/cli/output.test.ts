import { describe, expect, it } from "vitest";
import { clip, formatTable } from "../../src/cli/output.js";

describe("formatTable", () => {
  it("right-aligns columns of numbers and left-aligns columns of words", () => {
    const out = formatTable(
      ["rater", "verdict", "suspicion", "share", "reason"],
      [
        ["r1", "excluded", "1.000", "97.5%", "group of 4"],
        ["r22", "suspect", "0.25", "", "speed: fast"],
      ],
    );
    expect(out.split("\n")).toEqual([
      "rater  verdict   suspicion  share  reason",
      "-----  --------  ---------  -----  -----------",
      "r1     excluded      1.000  97.5%  group of 4",
      "r22    suspect        0.25         speed: fast",
    ]);
  });
});

describe("clip", () => {
  it("marks a cut with an ellipsis and leaves short text alone", () => {
    expect(clip("abcdef", 4)).toBe("abc…");
    expect(clip("abcd", 4)).toBe("abcd");
  });
});
