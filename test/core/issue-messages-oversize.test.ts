/**
 * Unknown fields are described where every reader's messages are made (zodIssueMessage), so a
 * config file, a server body or an import line with a huge or many unknown fields gets a short
 * message: at most MAX_LISTED_KEYS names, each long one by its start and length, the rest
 * counted; and the near-miss hint measures no candidate that cannot be a near miss.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MAX_LISTED_KEYS, zodIssueMessage } from "../../src/core/issue-messages.js";

const Schema = z.strictObject({ seed: z.number(), name: z.string() });

function message(input: Record<string, unknown>): string {
  const r = Schema.safeParse(input);
  if (r.success) throw new Error("expected a failure");
  return zodIssueMessage(r.error, { input, schema: Schema }).message;
}

describe("unknown fields in any reader's message", () => {
  it("shows a 1 MB field name by its start and length", () => {
    const m = message({ seed: 1, name: "n", ["x".repeat(1_000_000)]: 1 });
    expect(m).toBe(
      `unknown field "${"x".repeat(40)}… (1000000 characters)" (known fields: seed, name)`,
    );
  });

  it("names the first few of many and counts the rest", () => {
    const input: Record<string, unknown> = { seed: 1, name: "n" };
    for (let i = 0; i < 100; i++) input[`k${i}`] = i;
    const m = message(input);
    expect(m).toContain(`"k${MAX_LISTED_KEYS - 1}"`);
    expect(m).not.toContain(`"k${MAX_LISTED_KEYS}"`);
    expect(m.endsWith(`; ${100 - MAX_LISTED_KEYS} more unknown fields not listed`)).toBe(true);
  });

  it("still suggests a near miss", () => {
    expect(message({ sed: 1, name: "n" })).toBe('unknown field "sed" (did you mean "seed"?)');
  });
});
