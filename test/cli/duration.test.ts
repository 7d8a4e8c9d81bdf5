/** Durations in progress lines: never "8m60s" or "60s" from rounding at a boundary. */
import { describe, expect, it } from "vitest";
import { fmtDuration, Progress } from "../../src/cli/progress.js";

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

describe("Progress", () => {
  /** The last line a progress bar drew on a terminal `columns` wide. */
  function drawn(columns: number): string {
    let out = "";
    const stream = {
      columns,
      isTTY: true,
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    const p = new Progress({
      label: "import judgments",
      total: 1_000_000,
      unit: "records",
      stream,
    });
    p.finish();
    p.update(54_500);
    p.finish();
    const draws = out.split(/[\r\n]/).filter(Boolean);
    return draws[draws.length - 1]!.replace("\u001b[K", "");
  }

  it("narrows its bar so that the counts and the ETA fit the terminal", () => {
    const wide = drawn(120);
    expect(wide).toMatch(
      /^import judgments \[#-{23}\] 5\.5% 54\.5k\/1\.00M records .*\/s ETA \S+s$/,
    );
    const narrow = drawn(80);
    expect(narrow.length).toBeLessThan(80);
    expect(narrow).toMatch(/\[#*-+\] 5\.5% 54\.5k\/1\.00M records .*\/s ETA \S+s$/);
    const tiny = drawn(60);
    expect(tiny).not.toContain("[");
    expect(tiny).toMatch(/ETA \S+s$/);
  });
});
