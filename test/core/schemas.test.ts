import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/core/canonical.js";
import { KeelError } from "../../src/core/errors.js";
import {
  acceptJudgmentFast,
  CategoricalLabelSchema,
  GoldSchema,
  HhRowSchema,
  JudgmentSchema,
  PairwiseLabelSchema,
  parseRecord,
  RaterSchema,
  TrlRowSchema,
} from "../../src/core/schemas.js";

const good = {
  comparison_id: "c1",
  prompt: "What is 2+2?",
  response_a: "4",
  response_b: "5",
  rater_id: "r1",
  choice: "a",
};

function failure(schema: Parameters<typeof parseRecord>[0], value: unknown): KeelError {
  try {
    parseRecord(schema, value, { file: "in.jsonl", line: 7 });
  } catch (e) {
    expect(e).toBeInstanceOf(KeelError);
    return e as KeelError;
  }
  throw new Error("expected a rejection");
}

describe("JudgmentSchema", () => {
  it("accepts the DESIGN.md record with and without optional fields", () => {
    expect(parseRecord(JudgmentSchema, good, {})).toEqual(good);
    const full = {
      ...good,
      gold: "b",
      created_at: "2026-01-02T03:04:05Z",
      latency_ms: 1200,
      shown_order: "ba",
      rationale: "shorter",
      flags: ["unsafe_b"],
    };
    expect(parseRecord(JudgmentSchema, full, {})).toEqual(full);
    const chat = { ...good, prompt: [{ role: "user", content: "hi" }] };
    expect(parseRecord(JudgmentSchema, chat, {}).prompt).toEqual(chat.prompt);
  });

  it.each([
    [{ ...good, choice: "c" }, "choice"],
    [{ ...good, choice: undefined }, "choice"],
    [{ ...good, rater_id: "" }, "rater_id"],
    [{ ...good, rater_id: "x".repeat(300) }, "rater_id"],
    [{ ...good, rater_id: "a\nb" }, "rater_id"],
    [{ ...good, comparison_id: 5 }, "comparison_id"],
    [{ ...good, prompt: 3 }, "prompt"],
    [{ ...good, prompt: [] }, "prompt"],
    [{ ...good, response_a: [{ role: "user" }] }, "response_a.0.content"],
    [{ ...good, gold: "yes" }, "gold"],
    [{ ...good, created_at: "yesterday" }, "created_at"],
    [{ ...good, latency_ms: -1 }, "latency_ms"],
    [{ ...good, shown_order: "ab2" }, "shown_order"],
    [{ ...good, flags: [""] }, "flags.0"],
    [{ ...good, extra: 1 }, "(record)"],
    // Lone surrogates: valid JSON escapes, but no store keeps them as given.
    [{ ...good, response_b: "cut mid-emoji \ud83d" }, "response_b"],
    [{ ...good, prompt: [{ role: "user", content: "\udc00" }] }, "prompt.0.content"],
    [{ ...good, comparison_id: "c\ud800" }, "comparison_id"],
    [{ ...good, rationale: "why \ud800" }, "rationale"],
    [{ ...good, rationale: "be\u0000fore" }, "rationale"],
    [{ ...good, flags: ["\udfff"] }, "flags.0"],
  ])("rejects %j at field %s with file:line", (value, field) => {
    const e = failure(JudgmentSchema, value);
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where?.field).toBe(field);
    expect(e.message.startsWith(`in.jsonl:7: ${field}: `)).toBe(true);
  });

  it("says what is wrong with a lone surrogate, and keeps surrogate pairs", () => {
    const e = failure(JudgmentSchema, { ...good, response_a: "x\ud800" });
    expect(e.message).toBe(
      "in.jsonl:7: response_a: must be valid Unicode text (it holds a lone UTF-16 surrogate, such as an escaped \\ud800)",
    );
    const emoji = { ...good, response_a: "\ud83d\ude00", rationale: "\ud83d\ude00" };
    expect(parseRecord(JudgmentSchema, emoji, {})).toEqual(emoji);
  });

  it("bounds created_at's length: the format alone allows any number of fraction digits", () => {
    const ns = { ...good, created_at: "2026-03-01T10:00:00.123456789+14:00" };
    expect(parseRecord(JudgmentSchema, ns, {})).toEqual(ns);
    const long = { ...good, created_at: `2026-03-01T10:00:00.${"1".repeat(100_000)}Z` };
    expect(failure(JudgmentSchema, long).message).toBe(
      "in.jsonl:7: created_at: must be at most 64 characters",
    );
    expect(acceptJudgmentFast(long)).toBeUndefined();
  });

  it("names unknown fields", () => {
    const e = failure(JudgmentSchema, { ...good, choise: "a" });
    expect(e.message).toContain('unknown field "choise"');
  });

  it("tells a missing field from one of the wrong type", () => {
    const { comparison_id: _, ...missing } = good;
    expect(failure(JudgmentSchema, missing).message).toContain("comparison_id: is required");
    expect(failure(JudgmentSchema, { ...good, comparison_id: 5 }).message).toContain(
      "comparison_id: expected string, received number",
    );
  });
});

describe("other schemas", () => {
  it("TRL rows: a missing or mistyped response says so, not 'Invalid input'", () => {
    expect(failure(TrlRowSchema, { prompt: "p", chosen: "a" }).message).toContain(
      "rejected: is required",
    );
    expect(failure(TrlRowSchema, { prompt: "p", chosen: "a", rejected: 5 }).message).toContain(
      "rejected: expected string or array, received number",
    );
  });

  it("TRL rows: strings or messages, optional weight/margin; rejects mixed junk", () => {
    expect(parseRecord(TrlRowSchema, { prompt: "p", chosen: "c", rejected: "r" }, {})).toBeTruthy();
    const conv = {
      prompt: [{ role: "user", content: "p" }],
      chosen: [{ role: "assistant", content: "c" }],
      rejected: [{ role: "assistant", content: "r" }],
      weight: 0.5,
    };
    expect(parseRecord(TrlRowSchema, conv, {})).toEqual(conv);
    expect(failure(TrlRowSchema, { prompt: "p", chosen: "c" }).where?.field).toBe("rejected");
    expect(
      failure(TrlRowSchema, { prompt: "p", chosen: "c", rejected: "r", weight: "1" }).where?.field,
    ).toBe("weight");
  });

  it("HH rows need both transcripts", () => {
    expect(failure(HhRowSchema, { chosen: "x" }).where?.field).toBe("rejected");
  });

  it("crowd-kit rows", () => {
    expect(
      parseRecord(CategoricalLabelSchema, { task: "t", worker: "w", label: "1" }, {}),
    ).toBeTruthy();
    expect(
      failure(CategoricalLabelSchema, { task: "", worker: "w", label: "1" }).where?.field,
    ).toBe("task");
    expect(
      parseRecord(PairwiseLabelSchema, { worker: "w", left: "x", right: "y", label: "y" }, {}),
    ).toBeTruthy();
    expect(
      failure(PairwiseLabelSchema, { worker: "w", left: "x", right: "y", label: "z" }).where?.field,
    ).toBe("label");
    expect(
      failure(PairwiseLabelSchema, { worker: "w", left: "x", right: "x", label: "x" }).where?.field,
    ).toBe("right");
  });

  it("raters and gold", () => {
    expect(parseRecord(RaterSchema, { rater_id: "r" }, {})).toEqual({
      rater_id: "r",
      attributes: {},
    });
    expect(failure(RaterSchema, { rater_id: "r", attributes: { locale: 5 } }).where?.field).toBe(
      "attributes.locale",
    );
    expect(failure(GoldSchema, { comparison_id: "c", gold: "x" }).where?.field).toBe("gold");
  });
});

describe("canonicalJson", () => {
  it("sorts keys, drops undefined, and is stable", () => {
    expect(canonicalJson({ b: 1, a: [1, "x", null], c: undefined })).toBe(
      '{"a":[1,"x",null],"b":1}',
    );
    expect(canonicalJson({ a: { z: 1, y: 2 } })).toBe(canonicalJson({ a: { y: 2, z: 1 } }));
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
  });
});

describe("acceptJudgmentFast", () => {
  it("accepts only what JudgmentSchema accepts, and returns the same value", async () => {
    const fcm = (await import("fast-check")).default;
    const str = fcm.oneof(
      fcm.string({ maxLength: 8 }),
      fcm.constantFrom(
        "",
        "a\u0000b",
        "x\ny",
        "\ud800",
        "a\udc00b",
        "\ud83d\ude00",
        "c1",
        "2026-01-02T03:04:05Z",
        "2026-01-02",
        "x".repeat(300),
      ),
    );
    const val = fcm.oneof(
      str,
      fcm.constantFrom("a", "b", "tie", null, 5, -1, 1e11, Number.NaN, [], {}),
      fcm.double(),
    );
    const obj = fcm.dictionary(
      fcm.constantFrom(
        "comparison_id",
        "prompt",
        "response_a",
        "response_b",
        "rater_id",
        "choice",
        "gold",
        "created_at",
        "latency_ms",
        "shown_order",
        "extra",
      ),
      val,
    );
    const base = fcm.record({
      comparison_id: str,
      prompt: str,
      response_a: str,
      response_b: str,
      rater_id: str,
      choice: fcm.constantFrom("a", "b", "tie", "x"),
    });
    let accepted = 0;
    fcm.assert(
      fcm.property(fcm.tuple(base, obj), ([b, extra]) => {
        const v = { ...b, ...extra };
        const fast = acceptJudgmentFast(v);
        if (fast === undefined) return;
        accepted++;
        const z = JudgmentSchema.safeParse(v);
        expect(z.success).toBe(true);
        expect(z.data).toEqual(fast);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(10);
  });
});
