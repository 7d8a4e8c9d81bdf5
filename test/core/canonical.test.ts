import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, compareText } from "../../src/core/canonical.js";

describe("canonicalJson", () => {
  it("writes numbers and strings as JSON.stringify does", () => {
    expect(canonicalJson([-0, 1e21, 1e-7, 0.1, 2 ** 53])).toBe(
      "[0,1e+21,1e-7,0.1,9007199254740992]",
    );
    expect(canonicalJson(["\ud800", "\u2028", "\u0000", "é", "\u{1F600}"])).toBe(
      '["\\ud800","\u2028","\\u0000","é","\u{1F600}"]',
    );
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it("sorts keys by UTF-16 code units, not by code point or locale", () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF.
    expect(canonicalJson({ "\uffff": 1, "\u{1F600}": 2, a: 3, B: 4 })).toBe(
      '{"B":4,"a":3,"\u{1F600}":2,"\uffff":1}',
    );
  });

  it("writes an array's holes as null: the output is always JSON", () => {
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    expect(canonicalJson(sparse)).toBe("[1,null,3]");
    expect(canonicalJson(new Array(2))).toBe("[null,null]");
    expect(canonicalJson([undefined])).toBe("[null]");
  });

  it("encodes a Date by its toJSON, so two different dates do not hash alike", () => {
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson(new Date(0))).not.toBe(canonicalJson(new Date(1)));
  });

  it("encodes what toJSON gives even when it is 0, false or an empty string", () => {
    // As JSON.stringify does: only undefined from toJSON is null.
    for (const v of [0, false, ""])
      expect(canonicalJson({ x: { toJSON: () => v } })).toBe(JSON.stringify({ x: v }));
    expect(canonicalJson([{ toJSON: () => undefined }])).toBe("[null]");
  });

  it("parses back to the value, whose keys it only reorders", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe("compareText", () => {
  it("orders by UTF-16 code units, as sort() does, and says 0 only for equal strings", () => {
    expect(compareText("a", "b")).toBe(-1);
    expect(compareText("b", "a")).toBe(1);
    expect(compareText("a", "a")).toBe(0);
    expect(compareText("B", "a")).toBe(-1);
    // U+1F600 is D83D DE00 in UTF-16: before U+FFFF, though its code point is larger.
    expect(compareText("\u{1F600}", "\uffff")).toBe(-1);
    const words = ["\uffff", "b", "\u{1F600}", "B", "a", "a"];
    expect([...words].sort(compareText)).toEqual([...words].sort());
  });
});
