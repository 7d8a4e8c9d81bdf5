/** Durations in progress lines: never "8m60s" or "60s" from rounding at a boundary. */
import { describe, expect, it } from "vitest";
import { fmtDuration } from "../../src/cli/progress.js";

describe("fmtDuration", () => {
  it("formats seconds, minutes and hours", () => {
    expect(fmtDuration(3.21)).toBe("3.2s");
    expect(fmtDuration(42.4)).toBe("42s");
    expect(fmtDuration(125)).toBe("2m05s");
    expect(fmtDuration(3 * 3600 + 7 * 60)).toBe("3h07m");
    expect(fmtDuration(Number.POSITIVE_INFINITY)).toBe("?");
  });

  it("carries a rounded-up second or minute into the next unit", () => {
    expect(fmtDuration(9.97)).toBe("10s");
    expect(fmtDuration(59.7)).toBe("1m00s");
    expect(fmtDuration(539.6)).toBe("9m00s");
    expect(fmtDuration(3599.8)).toBe("1h00m");
    expect(fmtDuration(7199.9)).toBe("2h00m");
  });
});
