import { writeFileSync } from "node:fs";
import type { Choice, Judgment, Parsed } from "../../src/core/types.js";
import type { NewItem } from "../../src/store/collection/index.js";

/** A small deterministic judgment set: `n` comparisons over a few prompts, `raters` raters each. */
export function makeJudgments(n: number, raters = 3): Judgment[] {
  const out: Judgment[] = [];
  const choices: Choice[] = ["a", "b", "tie"];
  for (let c = 0; c < n; c++) {
    for (let r = 0; r < raters; r++) {
      out.push({
        comparison_id: `c${c}`,
        prompt: `What is ${c % 7} + ${c % 5}?`,
        response_a: `${(c % 7) + (c % 5)}`,
        response_b: `${(c % 7) + (c % 5) + 1}`,
        rater_id: `r${r}`,
        choice: choices[(c + r) % 3]!,
        ...(c % 10 === 0 ? { gold: "a" as const } : {}),
        latency_ms: 1000 + c,
        created_at: "2026-01-01T00:00:00.000Z",
      });
    }
  }
  return out;
}

export async function* asBatches<T>(records: readonly T[], size = 64): AsyncGenerator<Parsed<T>[]> {
  for (let i = 0; i < records.length; i += size) {
    yield records
      .slice(i, i + size)
      .map((record, k) => ({ ok: true as const, line: i + k + 1, record }));
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A fixed clock advancing one millisecond per call (stable hashes in tests). */
export function fixedClock(start = Date.parse("2026-06-01T00:00:00Z")): () => Date {
  let t = start;
  return () => new Date(t++);
}

/** A project task item of comparison `id` (texts made from the id), for the collection tests. */
export function taskItem(id: string): NewItem {
  return {
    comparison: {
      comparison_id: id,
      prompt: `p ${id}`,
      response_a: `a ${id}`,
      response_b: `b ${id}`,
    },
    kind: "task",
    batch: "b",
  };
}

type Texts = "prompt" | "response_a" | "response_b";

/**
 * The judgments (or ledger entries) as a store reads them with `judgmentsTextsOnce`: each comparison's texts with
 * its first judgment only.
 */
export function textsOnce<T extends Pick<Judgment, "comparison_id" | Texts>>(
  js: readonly T[],
): (T | Omit<T, Texts>)[] {
  const seen = new Set<string>();
  return js.map((j) => {
    if (!seen.has(j.comparison_id)) {
      seen.add(j.comparison_id);
      return j;
    }
    const { prompt: _p, response_a: _a, response_b: _b, ...rest } = j;
    return rest;
  });
}

/**
 * Writes a judgments JSONL in which every rater of `raters` prefers "yes" to "no" on each of
 * `comparisons` ("say yes"): the smallest file the audit's command-line paths accept.
 */
export function writeUnanimousJudgments(
  path: string,
  raters: readonly string[],
  comparisons: readonly string[],
): string {
  const lines = raters.flatMap((rater_id) =>
    comparisons.map((comparison_id) =>
      JSON.stringify({
        comparison_id,
        prompt: "say yes",
        response_a: "yes",
        response_b: "no",
        rater_id,
        choice: "a",
      }),
    ),
  );
  writeFileSync(path, lines.join("\n"));
  return path;
}
