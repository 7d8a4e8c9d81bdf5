import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import {
  barSpec,
  groupedBarSpec,
  histogramSpec,
  lineSpec,
  vegaLiteToSvg,
} from "../../src/report/index.js";

/** Names that are members of Object.prototype (or its accessor). */
const PROTO_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"];

/** The horizontal position of each bar filled with `color` (Vega draws bars as paths). */
function barsX(svg: string, color: string): number[] {
  return [...svg.matchAll(/<path[^>]*\bd="M(-?[\d.]+),[^"]*"[^>]*\bfill="([^"]+)"/g)]
    .filter((m) => m[2] === color)
    .map((m) => Number(m[1]));
}

describe("chart specs with untrusted names", () => {
  it("colours grouped bars named like Object.prototype members, in the colours' order", async () => {
    // The colours' order went into a Vega expression as a sort list of string literals, where
    // "constructor" read as an undefined operator: the chart (and its report) failed.
    for (const name of PROTO_NAMES) {
      const colors = Object.fromEntries([
        [name, "#123456"],
        ["alpha", "#abcdef"],
      ]);
      const svg = await vegaLiteToSvg(
        groupedBarSpec({
          title: "t",
          yTitle: "y",
          colors,
          rows: [
            { category: "c", group: "alpha", value: 1 },
            { category: "c", group: name, value: 2 },
          ],
        }),
      );
      const [first] = barsX(svg, "#123456");
      const [second] = barsX(svg, "#abcdef");
      expect(first, name).toBeDefined();
      expect(second, name).toBeDefined();
      expect(first!, name).toBeLessThan(second!);
    }
  });

  it("draws lines, bars and histograms whose series are named like prototype members", async () => {
    for (const name of PROTO_NAMES) {
      const colors = Object.fromEntries([[name, "#123456"]]);
      const line = await vegaLiteToSvg(
        lineSpec({
          title: "t",
          xTitle: "x",
          yTitle: "y",
          colors,
          points: [
            { series: name, x: 0, y: 1 },
            { series: name, x: 1, y: 2 },
          ],
        }),
      );
      expect(line).toContain("#123456");
      const stacked = Object.fromEntries([
        [name, "#123456"],
        ["trusted", "#067647"],
      ]);
      const bar = await vegaLiteToSvg(
        barSpec({
          title: "t",
          xTitle: "x",
          colors: stacked,
          rows: [
            { label: name, value: 1, group: name },
            { label: name, value: 2, group: "trusted" },
          ],
        }),
      );
      expect(bar).toContain(`>${name}</text>`);
      expect(bar).toContain("#123456");
      const hist = await vegaLiteToSvg(
        histogramSpec({
          title: "t",
          xTitle: "x",
          values: [0.1, 0.9],
          groups: [name, "trusted"],
          colors: stacked,
          extent: [0, 1],
        }),
      );
      expect(hist).toContain("#123456");
      expect(hist).toContain("#067647");
    }
  });

  it("draws titles that hold a line break", async () => {
    // Axis titles go into the chart's description unescaped; a line break there failed
    // Vega's expression parser.
    const svg = await vegaLiteToSvg(
      lineSpec({
        title: "t",
        xTitle: "x\nnext",
        yTitle: "y\r\nnext",
        points: [{ series: "a\nb", x: 0, y: 1 }],
      }),
    );
    expect(svg).toContain("<svg");
  });
});

/** The labels of a bar chart's bars from top to bottom, read from each bar's aria-label. */
function barsTopDown(svg: string): string[] {
  const bars = [
    ...svg.matchAll(/aria-label="x: [^;"]*; label: ([^"]*)"[^>]*\bd="M[-\d.]+,([-\d.]+)/g),
  ];
  return bars.sort((a, b) => Number(a[2]) - Number(b[2])).map((m) => m[1]!);
}

/** How many bars a chart draws. */
const barCount = (svg: string) => svg.split('aria-roledescription="bar"').length - 1;

describe("chart layout", () => {
  it("orders a bar chart's bars by value, the largest on top, whatever the rows' order", async () => {
    const svg = await vegaLiteToSvg(
      barSpec({
        title: "t",
        xTitle: "x",
        rows: [
          { label: "small", value: 1 },
          { label: "large", value: 3 },
          { label: "middle", value: 2 },
        ],
      }),
    );
    expect(barsTopDown(svg)).toEqual(["large", "middle", "small"]);
  });

  it("draws as many histogram bins as asked, twenty by default", async () => {
    // A hundred values spread evenly over [0, 1]: every bin of the extent holds some.
    const values = Array.from({ length: 100 }, (_, i) => (i + 0.5) / 100);
    const spec = (bins?: number) =>
      histogramSpec({ title: "t", xTitle: "x", values, extent: [0, 1], ...(bins ? { bins } : {}) });
    expect(barCount(await vegaLiteToSvg(spec(5)))).toBe(5);
    expect(barCount(await vegaLiteToSvg(spec()))).toBe(20);
  });
});

describe("chart text with hidden or reordering characters", () => {
  it("draws them as visible escapes, in the labels and in what screen readers get", async () => {
    // A right-to-left override makes the text after it read backwards; a zero-width space
    // makes two rater ids look alike. Raw, either would let a rater's id pass for another's.
    const svg = await vegaLiteToSvg(
      barSpec({ title: "t\u2066x", xTitle: "x", rows: [{ label: "r\u202eab\u200b", value: 1 }] }),
    );
    expect(svg).not.toMatch(/[\u202e\u200b\u2066]/);
    expect(svg).toContain(">r\\u202eab\\u200b</text>");
    expect(svg).toContain('aria-label="x: 1; label: r\\u202eab\\u200b"');
    expect(svg).toContain(">t\\u2066x</text>");
  });
});

describe("chart values that are not finite", () => {
  it("leaves them out instead of drawing NaN", async () => {
    const hist = await vegaLiteToSvg(
      histogramSpec({ title: "t", xTitle: "x", values: [0.2, Number.POSITIVE_INFINITY, 0.5] }),
    );
    // An infinite value in a histogram without an extent made every bin NaN.
    expect(hist).not.toContain("NaN");
    const line = await vegaLiteToSvg(
      lineSpec({
        title: "t",
        xTitle: "x",
        yTitle: "y",
        points: [
          { series: "a", x: Number.NaN, y: 1 },
          { series: "a", x: 1, y: Number.POSITIVE_INFINITY },
          { series: "a", x: 2, y: 3 },
          { series: "a", x: 3, y: 4 },
        ],
      }),
    );
    expect(line).not.toMatch(/NaN|Infinity/);
  });
});

describe("chart failures", () => {
  it("are catalogue errors naming the chart, not a bare TypeError with a stack", async () => {
    const failure = await vegaLiteToSvg({
      title: "Suspicion per rater",
      data: { values: [] },
      mark: "no-such-mark",
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(KeelError);
    expect((failure as KeelError).code).toBe("KEEL_E_INTERNAL");
    expect((failure as KeelError).message).toMatch(
      /^could not draw the report chart "Suspicion per rater": /,
    );
    expect((failure as KeelError).hint).toBeDefined();
  });

  it("keeps the refusal to load data as its own error", async () => {
    await expect(
      vegaLiteToSvg({ data: { url: "file:///etc/passwd" }, mark: "bar", encoding: {} }),
    ).rejects.toMatchObject({ code: "KEEL_E_UNSUPPORTED" });
  });
});
