import { describe, expect, it, vi } from "vitest";
import { nonNegativeInt, positiveInt } from "../../src/cli/common.js";
import { clip, count, formatTable, REPORT_BUG, reportError } from "../../src/cli/output.js";
import { KeelError, reviveKeelError } from "../../src/core/errors.js";

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

  it("keeps a known error's hint and exit code with --json, as without it", () => {
    const known = new KeelError("KEEL_E_UPSTREAM", "upstream down", { hint: "check the URL" });
    const { code, written } = report(known, true);
    expect(code).toBe(69);
    expect(JSON.parse(written).error).toMatchObject({
      code: "KEEL_E_UPSTREAM",
      message: "upstream down",
      hint: "check the URL",
    });
    // An internal error keel raised itself asks for a bug report with --json too.
    const internal = report(new KeelError("KEEL_E_INTERNAL", "worker lost"), true);
    expect(JSON.parse(internal.written).error).toMatchObject({ hint: REPORT_BUG });
  });

  it("escapes the control characters its message quotes", () => {
    const { code, written } = report(parseError, false);
    expect(code).toBe(70);
    expect(written).toMatch(/^keel: internal error \(KEEL_E_INTERNAL\): /);
    expect(written).not.toContain("\u001b");
    expect(written).toContain("\\u001b[2Jgone");
  });

  function withDebug<T>(value: string | undefined, f: () => T): T {
    const saved = process.env.KEEL_DEBUG;
    if (value === undefined) delete process.env.KEEL_DEBUG;
    else process.env.KEEL_DEBUG = value;
    try {
      return f();
    } finally {
      if (saved === undefined) delete process.env.KEEL_DEBUG;
      else process.env.KEEL_DEBUG = saved;
    }
  }
  const deep = new TypeError("Cannot read properties of undefined (reading 'id')", {
    cause: new Error("the first failure"),
  });

  it("asks for a bug report and shows no stack trace unless KEEL_DEBUG is set", () => {
    for (const value of [undefined, "0", ""]) {
      const { code, written } = withDebug(value, () => report(deep, false));
      expect(code).toBe(70);
      expect(written).toBe(
        "keel: internal error (KEEL_E_INTERNAL): TypeError: Cannot read properties of undefined (reading 'id')\n" +
          `keel: hint: ${REPORT_BUG}\n`,
      );
    }
    const json = JSON.parse(withDebug(undefined, () => report(deep, true)).written).error;
    expect(json).toEqual({
      code: "KEEL_E_INTERNAL",
      message: "TypeError: Cannot read properties of undefined (reading 'id')",
      hint: REPORT_BUG,
    });
  });

  it("adds the stack trace and the causes with KEEL_DEBUG=1", () => {
    const { code, written } = withDebug("1", () => report(deep, false));
    expect(code).toBe(70);
    expect(written).toMatch(/^keel: internal error \(KEEL_E_INTERNAL\): TypeError: Cannot read/);
    expect(written).toMatch(/\n {2}\s+at .*output\.test\.ts/);
    expect(written).toContain(`keel: hint: ${REPORT_BUG}\n`);
    expect(written).toMatch(/\nkeel: caused by: Error: the first failure\n {2}\s+at /);
    // An upstream's answer, kept as the cause of a KEEL_E_UPSTREAM, is shown as what it says.
    const upstream = new KeelError("KEEL_E_UPSTREAM", "openai: POST /v1 answered HTTP 400", {
      cause: { status: 400, code: "bad_request", message: "no such model" },
    });
    const shown = withDebug("1", () => report(upstream, false)).written;
    expect(shown).toContain(
      'keel: caused by: {"status":400,"code":"bad_request","message":"no such model"}\n',
    );
    expect(withDebug(undefined, () => report(upstream, false)).written).toBe(
      "keel: error KEEL_E_UPSTREAM: openai: POST /v1 answered HTTP 400\n",
    );
    const json = JSON.parse(withDebug("1", () => report(deep, true)).written).error;
    expect(json.message).toMatch(/^TypeError: Cannot read[^\n]*\n\s+at /);
  });

  it("shows a worker's failure, which arrives as its stack, without the stack", () => {
    // What the parse and import workers send for an unexpected failure.
    const fromWorker = reviveKeelError({
      code: "KEEL_E_INTERNAL",
      message: "RangeError: Invalid array length\n    at pack (/x/io/packed.js:3:9)\n    at run",
    });
    const { code, written } = withDebug(undefined, () => report(fromWorker, false));
    expect(code).toBe(70);
    expect(written).toBe(
      `keel: error KEEL_E_INTERNAL: RangeError: Invalid array length\nkeel: hint: ${REPORT_BUG}\n`,
    );
    // A hint of its own is kept.
    const own = new KeelError("KEEL_E_INTERNAL", "chart failed", { hint: "a bug in the report" });
    expect(withDebug(undefined, () => report(own, false)).written).toBe(
      "keel: error KEEL_E_INTERNAL: chart failed\nkeel: hint: a bug in the report\n",
    );
  });

  it("reports a KeelError that crossed a thread boundary uncaught with its own code", () => {
    // A worker's `error` event gives a plain Error with the KeelError's fields
    // (test/core/errors.test.ts shows it with a real worker).
    const arrived = Object.assign(new Error("/srv/k.db: no keel store here"), {
      name: "KeelError",
      code: "KEEL_E_STORE",
      exitCode: 74,
      where: { file: "/srv/k.db" },
      hint: "create one with `keel init`",
    });
    const { code, written } = report(arrived, false);
    expect(code).toBe(74);
    expect(written).toBe(
      "keel: error KEEL_E_STORE: /srv/k.db: no keel store here\n" +
        "keel: hint: create one with `keel init`\n",
    );
    expect(JSON.parse(report(arrived, true).written)).toEqual({
      error: {
        code: "KEEL_E_STORE",
        message: "/srv/k.db: no keel store here",
        where: { file: "/srv/k.db" },
        hint: "create one with `keel init`",
      },
    });
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

  it("refuse an empty or blank value, which Number() would read as 0, and blanks around one", () => {
    for (const parse of [positiveInt("--top"), nonNegativeInt("--seed")])
      for (const v of ["", " ", "\t"])
        expect(() => parse(v)).toThrow(expect.objectContaining({ code: "KEEL_E_USAGE" }));
    // Nor one with blanks around it: numbers in options are decimal as written (docs/cli.md).
    expect(() => nonNegativeInt("--seed")(" 7 ")).toThrow(
      /--seed must be an integer ≥ 0, got " 7 "/,
    );
  });

  it("refuse a value below their least: 0 for positive ones, -1 for those that take 0", () => {
    expect(() => positiveInt("--top")("0")).toThrow(/--top must be a positive integer, got "0"/);
    for (const v of ["-1", "-2", "1.5"])
      expect(() => nonNegativeInt("--seed")(v)).toThrow(
        expect.objectContaining({ code: "KEEL_E_USAGE", message: expect.stringContaining(v) }),
      );
  });
});

describe("formatTable of many rows", () => {
  it("lays out 300,000 rows (spread arguments overflowed the stack at ~100,000)", () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [`r${i}`, i]);
    const lines = formatTable(["rater", "judgments"], rows).split("\n");
    expect(lines).toHaveLength(300_002); // header, rule, rows
    expect(lines.at(-1)).toBe("r299999     299999");
  });
});
