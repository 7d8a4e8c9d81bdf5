import { describe, expect, it } from "vitest";
import { PairRowSchema } from "../../src/cli/actions/pair-files.js";

describe("a pair file's texts", () => {
  it("of 17 million characters, not all Latin-1, are checked without a RangeError", () => {
    // The `u` pattern that checked for lone surrogates ran out of V8's regexp stack here.
    const long = `é${"x".repeat(17_000_000)}`;
    const ok = PairRowSchema.safeParse({ prompt: "p", chosen: long, rejected: "r" });
    expect(ok.success).toBe(true);
    const lone = PairRowSchema.safeParse({ prompt: "p", chosen: `${long}\ud800`, rejected: "r" });
    expect(lone.success).toBe(false);
    expect(lone.error?.issues[0]?.path).toEqual(["chosen"]);
  });
});
