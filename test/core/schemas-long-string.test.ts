/**
 * A string far past its length limit fails at the length, and no later check of it runs. The
 * well-formedness pattern (a `u` regular expression) ran out of V8's regexp stack on a string
 * of some 16 million characters that are not all Latin-1: `keel import` reported
 * `KEEL_E_INTERNAL: RangeError: Maximum call stack size exceeded` instead of the field's length
 * error.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CategoricalLabelSchema,
  IdSchema,
  JudgmentSchema,
  MAX_ID_CHARS,
  MAX_TEXT_CHARS,
  parseRecord,
  RaterSchema,
  TextSchema,
} from "../../src/core/schemas.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

/** 17 million characters, one of them not Latin-1 (V8 then keeps the string at two bytes each). */
const HUGE = `${"a".repeat(17_000_000)}€`;
const where = { file: "in.jsonl", line: 3 };
const root = tempDir("keel-long-string-");
const judgment = (extra: Record<string, unknown>) => ({
  comparison_id: "c1",
  prompt: "p",
  response_a: "a",
  response_b: "b",
  rater_id: "r",
  choice: "a",
  ...extra,
});

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return String((e as Error).message);
  }
  throw new Error("expected an error");
}

describe("a string of many millions of characters, not all Latin-1", () => {
  it("fails the text and id schemas at their length", () => {
    expect(TextSchema.safeParse(HUGE).error?.issues.map((i) => i.message)).toEqual([
      `must be at most ${MAX_TEXT_CHARS} characters`,
    ]);
    expect(IdSchema.safeParse(HUGE).error?.issues.map((i) => i.message)).toEqual([
      `must be at most ${MAX_ID_CHARS} characters`,
    ]);
  });

  it("is reported at its field in every record it can come in", () => {
    const cases: [() => unknown, string][] = [
      [() => parseRecord(JudgmentSchema, judgment({ prompt: HUGE }), where), "prompt"],
      [
        () =>
          parseRecord(JudgmentSchema, judgment({ prompt: [{ role: "u", content: HUGE }] }), where),
        "prompt.0.content",
      ],
      [() => parseRecord(JudgmentSchema, judgment({ rater_id: HUGE }), where), "rater_id"],
      [() => parseRecord(JudgmentSchema, judgment({ rationale: HUGE }), where), "rationale"],
      [() => parseRecord(JudgmentSchema, judgment({ flags: [HUGE] }), where), "flags.0"],
      [
        () => parseRecord(CategoricalLabelSchema, { task: HUGE, worker: "w", label: "a" }, where),
        "task",
      ],
      [
        () => parseRecord(RaterSchema, { rater_id: "r", attributes: { k: HUGE } }, where),
        "attributes.k",
      ],
    ];
    for (const [parse, field] of cases) {
      expect(messageOf(parse)).toMatch(
        new RegExp(
          `^in\\.jsonl:3: ${field.replaceAll(".", "\\.")}: must be at most \\d+ characters$`,
        ),
      );
    }
  });

  it("still has a lone surrogate refused within the limit", () => {
    expect(TextSchema.safeParse("a\ud800b").error?.issues[0]?.message).toContain(
      "lone UTF-16 surrogate",
    );
  });

  for (const parallel of [true, false]) {
    it(`stops keel import${parallel ? "" : " --no-parallel"} with the field's length error`, async () => {
      const dir = join(root, parallel ? "p" : "s");
      mkdirSync(dir);
      const db = join(dir, "k.db");
      expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
      const input = join(dir, "in.jsonl");
      writeFileSync(
        input,
        `${JSON.stringify(judgment({}))}\n${JSON.stringify(judgment({ comparison_id: "c2", response_b: HUGE }))}\n`,
      );
      const mode = parallel ? [] : ["--no-parallel"];
      const r = await runCli(["import", input, "--db", db, "-q", ...mode]);
      expect(r.stderr).toContain(
        `KEEL_E_INVALID_RECORD: ${input}:2: response_b: must be at most ${MAX_TEXT_CHARS} characters`,
      );
      expect(r.stderr).not.toContain("KEEL_E_INTERNAL");
      expect(r.code).toBe(65);
    }, 30_000);
  }
});
