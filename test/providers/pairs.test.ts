/**
 * Candidate pairs from a provider that does not batch: each of the two responses to a prompt
 * is asked for with its own seed, drawn from the caller's stream (the same stream gives the same
 * seeds, so a provider that honours seeds repeats the run), and each side gets its own answer.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { type CandidatePair, generatePairs } from "../../src/providers/pairs.js";
import { seedEcho } from "./stubs.js";

async function pairs(seed: number, seen: (number | undefined)[]): Promise<CandidatePair[]> {
  const slots = [
    { comparison_id: "c1", prompt: "p1" },
    { comparison_id: "c2", prompt: "p2" },
    { comparison_id: "c3", prompt: "p3" },
  ];
  const out: CandidatePair[] = [];
  const o = { maxTokens: 4, temperature: 1, batch: 2, concurrency: 1, rng: new Rng(seed) };
  for await (const p of generatePairs(seedEcho(seen), slots, o)) out.push(p);
  return out;
}

describe("generatePairs", () => {
  it("asks for each response with its own seed from the caller's stream", async () => {
    const seen: (number | undefined)[] = [];
    const first = await pairs(5, seen);
    expect(seen).toHaveLength(6);
    expect(seen.every((s) => Number.isInteger(s))).toBe(true);
    expect(new Set(seen).size).toBe(6);
    // Each side is its own answer, in slot order.
    expect(first.map((p) => [p.comparison_id, p.response_a, p.response_b])).toEqual(
      [0, 1, 2].map((i) => [
        `c${i + 1}`,
        `p${i + 1}#${seen[2 * i]}`,
        `p${i + 1}#${seen[2 * i + 1]}`,
      ]),
    );
    const again: (number | undefined)[] = [];
    expect(await pairs(5, again)).toEqual(first);
    const other: (number | undefined)[] = [];
    await pairs(6, other);
    expect(other).not.toEqual(seen);
  });
});
