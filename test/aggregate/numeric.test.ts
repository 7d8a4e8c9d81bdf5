/** The numerical helpers behind the aggregation methods: exact ties (numeric.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { equaliseTies } from "../../src/aggregate/numeric.js";

/** The definition, written plainly: from the largest down, a cluster spans `tol` from its top. */
function reference(row: readonly number[], tol: number): number[] {
  const out = row.slice();
  const m = Math.max(...row);
  const order = row.map((_, k) => k).sort((x, y) => row[y]! - row[x]!);
  let top = Number.NaN;
  for (const k of order) {
    if (row[k]! <= m - 750) break;
    if (top - row[k]! <= tol) out[k] = top;
    else top = row[k]!;
  }
  return out;
}

/** Scores near a few levels, so that some lie within rounding of one another and some do not. */
const rows = fc.array(
  fc.tuple(fc.integer({ min: -3, max: 3 }), fc.constantFrom(0, 1e-15, -3e-13, 2e-12, 1e-6)),
  { minLength: 1, maxLength: 20 },
);

describe("equaliseTies", () => {
  it("sets scores within tol of their cluster's top to it, below the best too", () => {
    const s = Float64Array.from([-5 - 1e-12, 0, -1e-12, -5, -1000, -5 - 2e-9, 7]);
    expect(equaliseTies(s, 1, 5, 1e-9)).toBe(0);
    // The row is [1, 6): the entries either side are not touched.
    expect(Array.from(s)).toEqual([-5 - 1e-12, 0, 0, -5, -1000, -5 - 2e-9, 7]);
    const t = Float64Array.from([-5 - 1e-12, 0, -5, -5 - 2e-9]);
    equaliseTies(t, 0, 4, 1e-9);
    // A cluster spans tol from its top: -5 − 2·10⁻⁹ starts a cluster of its own.
    expect(Array.from(t)).toEqual([-5, 0, -5, -5 - 2e-9]);
  });

  it("matches the plain definition, by scans up to 8 classes and by a sort beyond", () => {
    fc.assert(
      fc.property(rows, fc.constantFrom(1e-9, 1e-12), (cells, tol) => {
        const row = cells.map(([level, jitter]) => level + jitter);
        const s = Float64Array.from(row);
        const m = equaliseTies(s, 0, row.length, tol);
        expect(m).toBe(Math.max(...row));
        expect(Array.from(s)).toEqual(reference(row, tol));
        // The same row padded past 8 classes with scores far below the best (which are left
        // alone) goes the other way and must give the same.
        if (row.length <= 8) {
          const padded = Float64Array.from([...row, ...Array(9).fill(m - 1000)]);
          equaliseTies(padded, 0, padded.length, tol);
          expect(Array.from(padded.subarray(0, row.length))).toEqual(Array.from(s));
          expect(Array.from(padded.subarray(row.length))).toEqual(Array(9).fill(m - 1000));
        }
      }),
      { numRuns: 300 },
    );
  });
});
