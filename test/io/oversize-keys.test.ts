/**
 * One line with very many unknown fields, or one field name of megabytes: the message names a
 * few of them, each cut to its start and length, and says how many more there are. Listed whole,
 * a million fields made a 10 MB message, and a 20 MB name ran the near-miss hint's edit distance
 * for 11 minutes (the parse worker died out of memory and took the process with it).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_LISTED_KEYS } from "../../src/core/issue-messages.js";
import type { Parsed } from "../../src/core/types.js";
import { importFormat } from "../../src/io/registry.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-oversize-keys-");
let n = 0;

async function messageFor(key: string, value: unknown): Promise<string> {
  const path = join(dir, `f${n++}.jsonl`);
  writeFileSync(path, `${JSON.stringify(value)}\n`);
  const parsed: Parsed<unknown>[] = [];
  for await (const batch of importFormat(key).parse(path, {}) as AsyncIterable<Parsed<unknown>[]>)
    parsed.push(...batch);
  expect(parsed).toHaveLength(1);
  const p = parsed[0]!;
  if (p.ok) throw new Error("expected a rejection");
  return p.error.message.slice(path.length + 1);
}

const judgment = {
  comparison_id: "c1",
  prompt: "p",
  response_a: "a",
  response_b: "b",
  rater_id: "r",
  choice: "a",
};

function withKeys(base: Record<string, unknown>, count: number): Record<string, unknown> {
  const o: Record<string, unknown> = { ...base };
  for (let i = 0; i < count; i++) o[`extra${i}`] = i;
  return o;
}

describe("unknown fields in a message", () => {
  it("names the first few of many and counts the rest", async () => {
    const m = await messageFor("judgments", withKeys(judgment, 1000));
    expect(m).toMatch(/^1: \(record\): unknown fields "extra0", /);
    expect(m).toContain(`"extra${MAX_LISTED_KEYS - 1}"`);
    expect(m).not.toContain(`"extra${MAX_LISTED_KEYS}"`);
    expect(m).toContain(`${1000 - MAX_LISTED_KEYS} more unknown fields not listed`);
    expect(m.length).toBeLessThan(400);
  });

  it("shows a long field name by its start and length", async () => {
    const name = "k".repeat(100_000);
    const m = await messageFor("judgments", { ...judgment, [name]: 1 });
    expect(m).toContain(`unknown field "${"k".repeat(40)}… (100000 characters)"`);
    expect(m).toContain("known fields: comparison_id");
    expect(m.length).toBeLessThan(400);
  });

  it("does so inside a message list as well", async () => {
    const content = withKeys({ role: "user", content: "hi" }, 50);
    const m = await messageFor("trl", {
      prompt: [content],
      chosen: "a",
      rejected: "b",
    });
    expect(m).toMatch(/^1: prompt\.0: unknown fields "extra0"/);
    expect(m).toContain(`${50 - MAX_LISTED_KEYS} more unknown fields not listed`);
    expect(m.length).toBeLessThan(400);
  });

  it("leaves a few short unknown fields as they were, with the near-miss hint", async () => {
    const { choice: _, ...rest } = judgment;
    const m = await messageFor("judgments", { ...rest, choise: "a" });
    expect(m).toBe('1: (record): unknown field "choise" (did you mean "choice"?)');
  });
});
