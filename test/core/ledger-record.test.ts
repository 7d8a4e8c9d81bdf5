/**
 * The ledger's hand-written encoder against canonicalJson, over every kind of text a judgment may
 * hold: any code point (lone surrogates, controls, U+2028, astral characters), empty strings,
 * every double a latency may be (−0, subnormals, 1e21 and beyond) and large sequence numbers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/core/canonical.js";
import {
  encodeLedgerPrefix,
  encodeLedgerRecord,
  encodeLedgerSuffix,
  type LedgerRecord,
  recordedAtPart,
} from "../../src/core/ledger-record.js";

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom("", "\ud800", "\udfff\ud800", "\u2028\u2029", '"\\/', "\u007f\u0000\u001f"),
);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });

const record: fc.Arbitrary<LedgerRecord> = fc.record({
  seq: fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53 - 1)),
  comparison_id: text,
  rater_id: text,
  choice: fc.constantFrom("a" as const, "b" as const, "tie" as const),
  prompt: text,
  response_a: text,
  response_b: text,
  created_at: nullable(text),
  latency_ms: nullable(
    fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(-0, 0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE),
    ),
  ),
  shown_order: nullable(fc.constantFrom("ab" as const, "ba" as const)),
  rationale: nullable(text),
  flags: nullable(fc.array(text, { maxLength: 4 })),
  recorded_at: text,
});

describe("encodeLedgerRecord", () => {
  it("is byte-identical to canonicalJson of the record with nulls omitted, for any text", () => {
    fc.assert(
      fc.property(record, (r) => {
        const obj: Record<string, unknown> = { v: 1 };
        for (const [k, v] of Object.entries(r)) if (v !== null) obj[k] = v;
        expect(encodeLedgerRecord(r)).toBe(canonicalJson(obj));
      }),
      { numRuns: 500 },
    );
  });

  it("is its prefix and suffix put together, as the parsing thread and the writer do", () => {
    fc.assert(
      fc.property(record, (r) => {
        const suffix = encodeLedgerSuffix(
          recordedAtPart(r.recorded_at),
          r.response_a,
          r.response_b,
          r.seq,
          r.shown_order,
        );
        expect(encodeLedgerPrefix(r) + suffix).toBe(encodeLedgerRecord(r));
      }),
    );
  });
});
