/**
 * Layer norm divides by √(var + lnEps). In a float32 model an lnEps that rounds to 0 (1e-50)
 * turns a constant row into 0/0 = NaN, and one that rounds to ∞ (1e39) turns every row into 0:
 * both are refused naming the field. float64 models keep their range.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { parseGptConfig } from "../../src/engine/gpt/config.js";

const base = { vocab: 8, dModel: 4, layers: 1, heads: 1, context: 4 };

describe("GPT config lnEps", () => {
  for (const lnEps of [1e-50, 1e39]) {
    it(`refuses ${lnEps} in float32`, () => {
      let e: unknown;
      try {
        parseGptConfig({ ...base, lnEps }, "config.json");
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(KeelError);
      expect((e as KeelError).where).toEqual({ file: "config.json", field: "lnEps" });
      expect((e as KeelError).detail).toMatch(/rounds to 0 or to infinity/);
    });
  }

  it("takes them in float64, and float32's own smallest and largest", () => {
    expect(parseGptConfig({ ...base, lnEps: 1e-50, dtype: "float64" }).lnEps).toBe(1e-50);
    expect(parseGptConfig({ ...base, lnEps: 1e-45 }).lnEps).toBe(1e-45);
    expect(parseGptConfig({ ...base, lnEps: 3e38 }).lnEps).toBe(3e38);
  });
});
