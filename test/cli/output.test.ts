import { describe, expect, it, vi } from "vitest";
import { nonNegativeInt, positiveInt } from "../../src/cli/common.js";
import { clip, count, formatTable, reportError } from "../../src/cli/output.js";
import { KeelError } from "../../src/core/errors.js";

describe("count", () => {
  it("gives one of a noun and any other number of its plural", () => {
    expect([0, 1, 2].map((n) => count(n, "rater"))).toEqual(["0 raters", "1 rater", "2 raters"]);
    expect(count(1, "class", "classes")).toBe("1 class");
    expect(count(3, "class", "classes")).toBe("3 classes");
  });
});

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

describe("reportError", () => {
  it("escapes control characters in a message and indents its continuation lines", () => {
    const written: string[] = [];
    const spy = vi
      .spyOn(process.stderr, "write")
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    try {
      const code = reportError(
        new KeelError(
          "KEEL_E_UPSTREAM",
          "upstream said: \u001b[2Jgone\u009b1m\r\nkeel: hint: run rm -rf ~ \u202eecnis",
          { hint: "check the service\nkeel: error none" },
        ),
        false,
      );
      expect(code).toBe(69);
    } finally {
      spy.mockRestore();
    }
    expect(written.join("")).toBe(
      "keel: error KEEL_E_UPSTREAM: upstream said: \\u001b[2Jgone\\u009b1m\n" +
        "  keel: hint: run rm -rf ~ \\u202eecnis\n" +
        "keel: hint: check the service\n  keel: error none\n",
    );
  });
});

describe("reportError for an unexpected failure", () => {
  function report(e: unknown, json: boolean): { code: number; written: string } {
    const chunks: string[] = [];
    const spy = vi
      .spyOn(process.stderr, "write")
      .mockImplementation((chunk: string | Uint8Array) => {
        chunks.push(String(chunk));
        return true;
      });
    try {
      return { code: reportError(e, json), written: chunks.join("") };
    } finally {
      spy.mockRestore();
    }
  }
  // What JSON.parse says of a file that starts with an escape sequence: it quotes the input.
  const parseError = (() => {
    try {
      JSON.parse("\u001b[2Jgone");
    } catch (e) {
      return e;
    }
  })();

  it("is one JSON object on stderr with --json, like keel's own errors", () => {
    const { code, written } = report(parseError, true);
    expect(code).toBe(70);
    expect(written.endsWith("\n")).toBe(true);
    expect(written.trimEnd().split("\n")).toHaveLength(1);
    const e = JSON.parse(written).error;
    expect(e.code).toBe("KEEL_E_INTERNAL");
    expect(e.message).toContain("is not valid JSON");
  });

  it("escapes the control characters its message quotes", () => {
    const { code, written } = report(parseError, false);
    expect(code).toBe(70);
    expect(written).toMatch(/^keel: internal error \(KEEL_E_INTERNAL\): /);
    expect(written).not.toContain("\u001b");
    expect(written).toContain("\\u001b[2Jgone");
  });
});

describe("integer options", () => {
  it("refuse integers beyond 2^53, which SQL limits and loop counters cannot take", () => {
    expect(positiveInt("--top")("12")).toBe(12);
    expect(nonNegativeInt("--skip")("0")).toBe(0);
    for (const parse of [positiveInt("--top"), nonNegativeInt("--skip")])
      for (const v of ["1e20", "99999999999999999999", "9007199254740993"])
        expect(() => parse(v)).toThrow(expect.objectContaining({ code: "KEEL_E_USAGE" }));
  });

  it("refuse an empty or blank value, which Number() would read as 0", () => {
    for (const parse of [positiveInt("--top"), nonNegativeInt("--seed")])
      for (const v of ["", " ", "\t"])
        expect(() => parse(v)).toThrow(expect.objectContaining({ code: "KEEL_E_USAGE" }));
    expect(nonNegativeInt("--seed")(" 7 ")).toBe(7);
  });
});
